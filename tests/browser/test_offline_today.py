"""Today's audits on the phone without a network (R6, R17): once today's page has been opened
online, every check-in, check-out, plan and explanation page of today's and tomorrow's plans
opens offline from the first tap; the rules of R6 are judged again on the phone's clock; what
the phone queued shows as done-but-unsent, and is never offered twice.

Real Chromium with the real service worker; the network is cut with context.set_offline and
the page's clock moved with Playwright's clock API. The server's clock (the time of record)
is set by the test where the story needs a time of day."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from checkin_pwa.domain import clock

from ..conftest import login_in_browser
from .test_offline_outbox import controlled, entries, events, only_page_replays, open_check_page, wait_for

pytestmark = pytest.mark.browser

KEEP = 30_000  # ms: twelve pages fetched and kept on a 2-core machine


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "permissions": ["geolocation", "background-sync"]}


@pytest.fixture
def server_clock(monkeypatch):
    """The server's clock (domain.clock.now) at a time the test sets; real until set."""
    class Clock:
        at = None

        def set(self, moment: dt.datetime) -> None:
            self.at = moment.astimezone(dt.timezone.utc)

    server = Clock()
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: server.at or real())
    return server


def three_plans_today(data, tomorrow: bool = False):
    """Three plans today; with `tomorrow`, a fourth that starts tomorrow (its id last)."""
    with data as f:
        me = f.auditor(name="张三")
        ids = [f.plan([me], code=code).id for code in ("ISO9001", "ISO14001", "ISO45001")]
        if tomorrow:
            ids.append(f.plan([me], code="ISO27001", start=f.local_today(1, 8, 30), end=f.local_today(2, 17)).id)
        return me.phone, ids


def open_today_online(page, phone) -> None:
    """Log in; today's page (online) keeps today's plans on the phone and says so."""
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    expect(page.locator("#offline-ready")).to_contain_text("今日任务已保存到本机", timeout=KEEP)
    controlled(page)


def test_r17_a_check_in_page_never_opened_works_offline_and_arrives_once(page, data):
    phone, ids = three_plans_today(data, tomorrow=True)
    open_today_online(page, phone)
    assert page.locator("#today").get_attribute("data-kept") == f"{1 + 4 * 4}/{1 + 4 * 4}"

    page.context.set_offline(True)
    never_opened = ids[2]
    button = open_check_page(page, never_opened)  # the kept copy, not "本机还没有打开过这个页面"
    expect(page.locator("#offline-banner")).to_be_visible()
    button.click()
    expect(page.locator("#check-outcome")).to_contain_text("已保存，联网后自动发送")
    # The plan's other pages are there too.
    for path in (f"/plans/{never_opened}", f"/plans/{never_opened}/explain", f"/plans/{ids[1]}/checkout"):
        page.goto(path)
        expect(page.locator("#offline-banner")).to_be_visible()  # a kept copy, not the offline page
    # Tomorrow's plan is there too, closed until tomorrow on the phone's clock (R6).
    tomorrows = open_check_page(page, ids[3])
    expect(page.locator("[data-rule-why]")).to_contain_text("审核尚未开始")
    expect(tomorrows).to_be_disabled()
    assert events(data, never_opened) == []

    page.context.set_offline(False)
    assert wait_for(page, lambda: len(events(data, never_opened)) == 1)
    expect(page.locator("#outbox-badge")).to_be_hidden(timeout=KEEP)
    [event] = events(data, never_opened)
    assert (event.kind, event.queued_offline) == ("in", True)


def test_r6_a_kept_check_out_page_opens_offline_one_hour_after_an_online_check_in(page, data, arrivals, server_clock):
    with data as f:
        me = f.auditor(name="张三")
        plan_id = f.plan([me], start=f.local_today(0, 8, 30), end=f.local_today(0, 17, 0)).id  # last day today
        phone = me.phone
        at = lambda hour, minute: f.local_today(0, hour, minute)  # noqa: E731
    only_page_replays(page)  # the replay runs on the page's clock, not the worker's real one
    server_clock.set(at(13, 0))
    page.clock.install(time=at(13, 0))
    open_today_online(page, phone)

    button = open_check_page(page, plan_id)
    button.click()
    expect(page.locator("#check-outcome")).to_contain_text("签到成功")
    # Signed: the plan's kept pages (and today's) are fetched again, so they show the check-in.
    expect(page.locator("#check-form [data-keep-offline]")).to_have_attribute("data-kept", "5/5", timeout=KEEP)
    assert [e.kind for e in events(data, plan_id)] == ["in"]

    page.context.set_offline(True)
    check_out = open_check_page(page, plan_id, "checkout")
    expect(page.locator("#offline-banner")).to_be_visible()
    why = page.locator("[data-rule-why]")
    expect(why).to_contain_text(re.compile(r"签到1小时后方可签退（还需 \d+ 分钟）"))
    expect(check_out).to_be_disabled()

    page.clock.fast_forward("01:01:00")  # 14:01 on the phone, still offline
    expect(check_out).to_be_enabled()
    expect(why).to_be_hidden()
    check_out.click()
    expect(page.locator("#check-outcome")).to_contain_text("已保存，联网后自动发送")
    [kept] = entries(page)
    assert kept["kind"] == "checkout"

    server_clock.set(at(14, 3))
    page.context.set_offline(False)
    assert wait_for(page, lambda: len(events(data, plan_id)) == 2)
    expect(page.locator("#outbox-badge")).to_be_hidden(timeout=KEEP)
    assert arrivals.count(f"/plans/{plan_id}/checkout") == 1
    check_outs = [e for e in events(data, plan_id) if e.kind == "out"]
    assert len(check_outs) == 1 and check_outs[0].queued_offline and check_outs[0].counts_for_team


def test_r6_when_the_phones_clock_opens_check_out_offline_to_do_now_lists_it(page, data, server_clock):
    with data as f:
        me = f.auditor(name="张三")
        plan_id = f.plan([me], start=f.local_today(0, 8, 30), end=f.local_today(0, 17, 0)).id  # last day today
        phone = me.phone
        at = lambda hour, minute: f.local_today(0, hour, minute)  # noqa: E731
    only_page_replays(page)
    server_clock.set(at(13, 0))
    page.clock.install(time=at(13, 0))
    open_today_online(page, phone)
    open_check_page(page, plan_id).click()
    expect(page.locator("#check-outcome")).to_contain_text("签到成功")
    expect(page.locator("#check-form [data-keep-offline]")).to_have_attribute("data-kept", "5/5", timeout=KEEP)

    page.context.set_offline(True)
    page.goto("/")  # today's page as kept after the check-in
    expect(page.locator("#offline-banner")).to_be_visible()
    card = page.locator(f"#plan-{plan_id}")
    check_out_item = page.locator(f'#todo .todo-item[data-plan="{plan_id}"]', has_text="签退")
    expect(card.locator(".action-out a.button")).to_be_hidden()
    expect(check_out_item).to_be_hidden()

    page.clock.fast_forward("01:01:00")  # 14:01 on the phone, still offline
    expect(card.locator(".action-out a.button")).to_be_visible()
    expect(check_out_item).to_be_visible()
    expect(check_out_item.locator("a")).to_have_attribute("href", f"/plans/{plan_id}/checkout")


def test_r17_after_an_offline_check_in_the_plan_says_waiting_to_send_and_offers_no_second(page, data):
    phone, ids = three_plans_today(data)
    plan_id = ids[0]
    open_today_online(page, phone)
    page.context.set_offline(True)
    open_check_page(page, plan_id).click()
    expect(page.locator("#check-outcome")).to_contain_text("已保存，联网后自动发送")
    card = page.locator(f"#plan-{plan_id}")
    expect(card.locator(".state")).to_have_text("已签到（待发送）")

    page.goto("/")  # today's page as kept, with what the phone holds
    card = page.locator(f"#plan-{plan_id}")
    expect(card.locator(".state")).to_have_text("已签到（待发送）")
    expect(card.locator(".record-waiting")).to_contain_text(re.compile(r"本机时间 \d\d:\d\d"))
    expect(card.locator(".action-in")).to_be_hidden()
    todo = page.locator(f'#todo .todo-item[data-plan="{plan_id}"]:visible')  # 签退 waits, hidden, for the last day
    expect(todo).to_have_count(1)
    expect(todo).to_contain_text("上传首次会议照片")
    expect(todo.locator("a")).to_have_attribute("href", f"/plans/{plan_id}#photos")
    # The other plans are still to be checked in.
    expect(page.locator(f"#plan-{ids[1]} .action-in a")).to_be_visible()

    page.goto(f"/plans/{plan_id}/checkin")  # the kept check-in page offers no second one
    expect(page.locator("[data-rule-why]")).to_contain_text("已签到（待发送）")
    expect(page.get_by_role("button", name=re.compile("确认并签到"))).to_have_count(0)
    page.goto(f"/plans/{plan_id}")
    expect(page.locator("#plan-facts .state")).to_have_text("已签到（待发送）")
    expect(page.locator('#plan-facts a[data-action="in"]')).to_be_hidden()

    page.context.set_offline(False)
    assert wait_for(page, lambda: len(events(data, plan_id)) == 1)
    expect(page.locator("#outbox-badge")).to_be_hidden(timeout=KEEP)
    assert len(events(data, plan_id)) == 1

    # Sent: the kept copies are fetched again, so offline later the plan is simply checked in.
    kept_today = "async () => (await (await caches.match('/', {cacheName: 'pages', ignoreVary: true})).text())"
    assert wait_for(page, lambda: f'id="plan-{plan_id}"' in page.evaluate(kept_today)
                    and "state-checked_in" in page.evaluate(kept_today).split(f'id="plan-{plan_id}"')[1][:3000])
    page.context.set_offline(True)
    page.goto("/")
    card = page.locator(f"#plan-{plan_id}")
    expect(card.locator(".state")).to_have_text("已签到")
    expect(card.locator(".action-in a")).to_have_count(0)


def test_r7_an_offline_check_in_signed_together_shows_waiting_on_every_plan_it_covers(page, data):
    with data as f:
        me, colleague = f.auditor(name="张三"), f.auditor(name="李四")
        company = f.enterprise("吉林省某某股份有限公司")
        chosen = f.plan([me], company=company, code="ISO9001").id
        also = f.plan([colleague, me], company=company, code="ISO14001").id  # on my team too: signed with it
        theirs = f.plan([colleague], company=company, code="ISO45001").id  # R16: not mine, left unsigned
        elsewhere = f.plan([me], code="ISO45001").id  # another enterprise
        phone = me.phone
    open_today_online(page, phone)
    page.context.set_offline(True)
    button = open_check_page(page, chosen)
    page.locator("#check-form input[name=together]").check()
    button.click()
    expect(page.locator("#check-outcome")).to_contain_text("已保存，联网后自动发送")

    page.goto("/")
    for plan_id in (chosen, also):
        card = page.locator(f"#plan-{plan_id}")
        expect(card.locator(".state")).to_have_text("已签到（待发送）")
        expect(card.locator(".action-in")).to_be_hidden()
        expect(page.locator(f'#todo .todo-item[data-plan="{plan_id}"]:visible')).to_contain_text("上传首次会议照片")
    expect(page.locator(f"#plan-{elsewhere} .state")).to_have_text("未签到")
    expect(page.locator(f"#plan-{elsewhere} .action-in a")).to_be_visible()

    page.goto(f"/plans/{also}")
    expect(page.locator("#plan-facts .state")).to_have_text("已签到（待发送）")
    expect(page.locator('#plan-facts a[data-action="in"]')).to_be_hidden()
    page.goto(f"/plans/{also}/checkin")  # no second check-in offered
    expect(page.locator("[data-rule-why]")).to_contain_text("已签到（待发送）")
    expect(page.get_by_role("button", name=re.compile("确认并签到"))).to_have_count(0)

    page.context.set_offline(False)
    assert wait_for(page, lambda: len(events(data, chosen)) == 1 and len(events(data, also)) == 1)
    assert events(data, theirs) == [] and events(data, elsewhere) == []


def test_r16_logging_out_forgets_the_kept_pages(page, data):
    phone, ids = three_plans_today(data)
    open_today_online(page, phone)
    kept = "async () => (await (await caches.open('pages')).keys()).length"
    assert page.evaluate(kept) >= 13
    page.goto("/me")
    page.get_by_role("button", name="退出登录").first.click()
    expect(page.locator("input[name=phone]")).to_be_visible()
    assert page.evaluate(kept) == 0
    page.context.set_offline(True)
    page.goto(f"/plans/{ids[0]}/checkin")  # nobody's copy: the page for pages never kept
    expect(page.get_by_role("heading", name="当前没有网络")).to_be_visible()
    expect(page.locator("#map")).to_have_count(0)


def test_r17_the_kept_line_appears_without_moving_the_page(page, data):
    # "今日任务已保存到本机" comes after the page has loaded (once the worker kept today's
    # audits): its line is there from the start, so the tasks under it do not jump.
    phone, _ = three_plans_today(data)
    page.add_init_script("""window.shifts = []; new PerformanceObserver(list => list.getEntries()
        .forEach(entry => window.shifts.push(entry.value))).observe({ type: "layout-shift", buffered: true });""")
    open_today_online(page, phone)
    # Two frames on: a shift of the frame that showed the line has reached the observer.
    assert page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => "
                         "setTimeout(() => done(window.shifts)))))") == []
