"""The outbox on a phone people share and on a network that hangs (R17).

Each queued entry belongs to the auditor who made it: it is sent only in that auditor's
session, another auditor sees only whose it is, and logging out with unsent entries asks
first and keeps them. A send with no answer for 10 s is kept in the outbox with its key, and
the late answer and the replay make one record. Coming back online, each entry's answer is
listed on today's page, a refusal as an alert and on the badge.

Real Chromium with the real service worker and real SQLite; the network is cut with
context.set_offline; the context's route (every request of the phone, its service worker's too) stands in for a proxy that fails or holds a request."""
from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from checkin_pwa.extensions import db
from checkin_pwa.models import AuditPlan, Auditor, CheckEvent, Explanation

from ..conftest import login_in_browser
from .test_offline_outbox import (SENT, badge, choose, controlled, entries, events, me_and_plan, only_page_replays,
                                  open_check_page, photos, wait_for)

pytestmark = pytest.mark.browser


# Each entry as kept: whose, its state and tries, its payload's field names and values (no files).
KEPT = """async () => (await Outbox.list()).map(e => [e.auditor_name, e.key, e.state, e.attempts, e.error_code,
    JSON.stringify(e.fields.map(f => [f[0], typeof f[1] === "string" ? f[1] : "file"]))])"""


def explanations(data, plan_id: int) -> list[tuple[str, str]]:
    with data:
        rows = db.session.scalars(select(Explanation).where(Explanation.plan_id == plan_id)).all()
        return [(row.author.name, row.text) for row in rows]


def server_fails_posts(page, plan_id: int) -> None:
    """The outer edge: a proxy answering 503 to every POST for the plan."""
    page.context.route(re.compile(rf"/plans/{plan_id}/(checkin|explanations)$"),
               lambda route: route.fulfill(status=503, body="") if route.request.method == "POST"
               else route.continue_())


def log_out(page, dialogs: list[str], accept: bool = True) -> None:
    """Tap 退出登录 on the personal page; any question asked is answered with `accept`."""
    def answer(dialog):
        dialogs.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()
    page.once("dialog", answer)
    page.goto("/me")
    page.locator("#logout-form button[type=submit]").click()


def queue_note_and_check_in_offline(page, plan_id: int, text: str) -> None:
    controlled(page)
    page.goto("/me")  # loaded once online: kept for offline
    note_page = page.context.new_page()
    note_page.goto(f"/plans/{plan_id}/explain")
    button = open_check_page(page, plan_id)
    page.context.set_offline(True)
    button.click()
    expect(page.locator("#check-outcome")).to_contain_text("已保存，联网后自动发送")
    note_page.locator("#explanations textarea[name=text]").fill(text)
    note_page.get_by_role("button", name="提交异常说明").click()
    expect(note_page.locator(".explanation-queued")).to_contain_text("已保存，联网后自动发送")
    note_page.close()
    expect(badge(page).locator(".outbox-count")).to_have_text("2")


def test_r17_two_auditors_on_one_phone_each_entry_is_sent_only_in_its_authors_session(page, data, arrivals):
    only_page_replays(page)
    with data as f:
        wang, li = f.auditor(name="王五"), f.auditor(name="李四")
        plan_id = f.plan([wang, li]).id  # both may sign and explain it: only the session decides
        wang_phone, li_phone = wang.phone, li.phone
    login_in_browser(page, wang_phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    queue_note_and_check_in_offline(page, plan_id, "车间涉密，禁止拍照（王五记）")

    # Offline, 退出登录 does not leave for the browser's error page: it says why and stays.
    dialogs: list[str] = []
    log_out(page, dialogs)
    assert wait_for(page, lambda: len(dialogs) == 1)
    expect(page.locator("#logout-form")).to_be_visible()
    assert "没有网络" in dialogs[-1]
    # Back online the server is in trouble: 王五's entries still wait when he hands the phone over.
    server_fails_posts(page, plan_id)
    page.context.set_offline(False)
    assert wait_for(page, lambda: any(e["error_code"] == "server" for e in entries(page)))
    log_out(page, dialogs)
    expect(page.locator("input[name=phone]")).to_be_visible()
    assert "2 条记录没有发送" in dialogs[-1]
    page.context.unroute(re.compile(rf"/plans/{plan_id}/(checkin|explanations)$"))

    # The login page shows nothing of 王五's.
    expect(badge(page)).to_be_hidden()
    before = page.evaluate(KEPT)
    assert [name for name, *_ in before] == ["王五", "王五"]
    expect(page.locator("body")).not_to_contain_text("车间涉密")
    login_in_browser(page, li_phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    summary = page.evaluate("Outbox.replayFromPage(true)")
    assert summary["others"] == 2 and summary["sent"] == 0
    # The worker's replay (Background Sync) asks the server whose session it is, too.
    page.context.grant_permissions(["geolocation", "background-sync"])
    summary = page.evaluate("""() => new Promise(resolve => {
        const channel = new BroadcastChannel(Outbox.channel);
        channel.onmessage = (event) => { if (event.data && event.data.type === "replayed") resolve(event.data.summary); };
        navigator.serviceWorker.ready.then(registration => registration.sync.register("outbox"));
    })""")
    assert summary["others"] == 2 and summary["sent"] == 0
    expect(badge(page)).to_be_hidden()
    page.goto("/outbox")
    others = page.locator(".outbox-entry.outbox-others")
    expect(others).to_have_count(2)
    expect(others.first).to_contain_text("等待 王五 登录后发送")
    expect(page.locator("#outbox-list")).not_to_contain_text("车间涉密")
    expect(page.get_by_role("button", name="立即发送")).to_be_hidden()
    assert not [p for p in arrivals if p.startswith(f"/plans/{plan_id}/")]
    assert events(data, plan_id) == [] and explanations(data, plan_id) == []
    # Kept untouched: the same two entries, still 王五's, still waiting.
    assert page.evaluate(KEPT) == before

    # 李四 has nothing unsent: logging out asks nothing.
    asked = len(dialogs)
    log_out(page, dialogs)
    expect(page.locator("input[name=phone]")).to_be_visible()
    assert len(dialogs) == asked

    # 王五 again: his entries go, written as his.
    login_in_browser(page, wang_phone)
    assert wait_for(page, lambda: len(events(data, plan_id)) == 1 and len(explanations(data, plan_id)) == 1)
    assert explanations(data, plan_id) == [("王五", "车间涉密，禁止拍照（王五记）")]
    [event] = events(data, plan_id)
    with data:
        assert db.session.get(Auditor, event.signer_id).name == "王五"
    expect(badge(page)).to_be_hidden(timeout=SENT)


def test_r17_logout_with_unsent_entries_asks_first_and_keeps_them(page, data):
    only_page_replays(page)
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    queue_note_and_check_in_offline(page, plan_id, "现场更改了审核范围")
    server_fails_posts(page, plan_id)
    page.context.set_offline(False)

    dialogs: list[str] = []
    log_out(page, dialogs, accept=False)  # "not now": still logged in, nothing lost
    assert wait_for(page, lambda: len(dialogs) == 1)
    assert "2 条记录没有发送" in dialogs[-1] and "再次登录后自动发送" in dialogs[-1]
    expect(page.locator("#logout-form")).to_be_visible()
    page.goto("/")
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    expect(badge(page).locator(".outbox-count")).to_have_text("2")

    log_out(page, dialogs, accept=True)
    expect(page.locator("input[name=phone]")).to_be_visible()
    assert len(entries(page)) == 2  # kept on the phone, for 张三's next login


def test_r17_a_request_that_hangs_is_kept_in_the_outbox_and_the_late_answer_makes_one_record(page, data, arrivals):
    only_page_replays(page)
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    button = open_check_page(page, plan_id)
    held = []

    def hold(route):  # the outer edge: a dead spot where every send of the check-in hangs
        if route.request.method == "POST":
            held.append((route, time.monotonic()))
        else:
            route.continue_()

    page.context.route(re.compile(rf"/plans/{plan_id}/checkin$"), hold)
    button.click()
    button = page.locator("form[data-check-form] button[type=submit]")
    # At once: the button says it is at work and cannot be tapped a second time.
    expect(button).to_be_disabled()
    expect(button).to_have_text("正在提交…")
    # After about 10 s with no answer: kept in the outbox, with the key made on the phone.
    expect(page.locator("#check-outcome")).to_contain_text("网络较慢，已保存，将自动发送", timeout=SENT)
    [kept] = entries(page)
    assert kept["kind"] == "checkin" and events(data, plan_id) == []

    # The outbox sends it again; this one gets through while the first still hangs: one record.
    assert wait_for(page, lambda: len(held) == 2)
    held[1][0].continue_()
    assert wait_for(page, lambda: len(events(data, plan_id)) == 1)
    [event] = events(data, plan_id)
    assert event.idempotency_key == kept["key"]
    expect(badge(page)).to_be_hidden(timeout=SENT)
    assert entries(page) == []

    # 30 s after it left, the first send gets through, and its answer comes back late.
    route, since = held[0]
    while time.monotonic() - since < 30:
        page.wait_for_timeout(250)
    route.continue_()
    expect(page.locator("#check-outcome")).to_contain_text("签到成功", timeout=SENT)
    assert arrivals.count(f"/plans/{plan_id}/checkin") == 2  # sent twice, written once
    assert len(events(data, plan_id)) == 1
    assert entries(page) == []


def test_r17_after_reconnecting_each_answer_is_listed_and_a_refusal_shows_on_today_and_the_badge(page, data):
    with data as f:
        me, leader = f.auditor(name="张三"), f.auditor(name="李组长")
        ok_id = f.plan([me]).id
        shared_id = f.plan([leader, me]).id
        gone_id = f.plan([me]).id
        phone, leader_id = me.phone, leader.id
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    controlled(page)
    page.goto("/")  # loaded once online: kept for offline
    ok_button = open_check_page(page, ok_id)
    others = [page.context.new_page() for _ in range(2)]
    buttons = [open_check_page(tab, plan_id) for tab, plan_id in zip(others, (shared_id, gone_id))]
    page.context.set_offline(True)
    for tab, button in zip([page] + others, [ok_button] + buttons):
        button.click()
        expect(tab.locator("#check-outcome")).to_contain_text("已保存，联网后自动发送")
    for tab in others:
        tab.close()
    with data as f:  # meanwhile: the leader signs the shared plan, the body cancels another
        now = f.dt.datetime.now(f.dt.timezone.utc).replace(microsecond=0)
        db.session.add(CheckEvent(plan_id=shared_id, kind="in", signer_id=leader_id,
                                  counts_for_team=True, server_time=now - f.dt.timedelta(minutes=5),
                                  device_lat=f.SITE[0], device_lon=f.SITE[1], chosen_lat=f.SITE[0],
                                  chosen_lon=f.SITE[1], flags=[]))
        db.session.get(AuditPlan, gone_id).status = "cancelled"

    page.goto("/")
    expect(page.locator("#offline-banner")).to_be_visible()
    expect(page.locator("#outbox-outcomes")).to_be_hidden()
    page.context.set_offline(False)
    expect(page.locator("#offline-banner")).to_be_hidden()
    outcomes = page.locator("#outbox-outcomes .outbox-outcome")
    expect(outcomes).to_have_count(3, timeout=SENT)
    sent = page.locator("#outbox-outcomes .outbox-outcome-sent")
    expect(sent).to_have_count(2)
    expect(sent.filter(has_text="签到成功")).to_have_count(1)
    expect(sent.filter(has_text="作为个人记录保存")).to_have_count(1)
    refused = page.locator("#outbox-outcomes .outbox-outcome-refused")
    expect(refused.get_by_role("alert")).to_contain_text(re.compile("^被拒绝：.+"))
    expect(refused.get_by_role("link", name="查看并确认")).to_be_visible()
    expect(badge(page)).to_have_class(re.compile("outbox-badge-refused"))
    expect(badge(page).locator(".outbox-refused-count")).to_have_text("被拒绝 1")
    assert len(events(data, ok_id)) == 1 and len(events(data, shared_id)) == 2 and events(data, gone_id) == []

    # The day's list stays on today's page after a reload, and on /outbox.
    page.reload()
    expect(outcomes).to_have_count(3)
    page.goto("/outbox")
    expect(page.locator("#outbox-outcomes .outbox-outcome")).to_have_count(3)
    page.locator(".outbox-entry.outbox-refused").get_by_role("button", name="知道了").click()
    expect(badge(page)).to_be_hidden()


def test_r17_a_refused_photo_leaves_the_phone_and_its_answer_stays_listed(page, data):
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    controlled(page)
    page.goto(f"/plans/{plan_id}")
    page.context.set_offline(True)
    choose(page, "first", ["jolla.jpg"])
    expect(page.locator(".photo-tile.photo-queued")).to_have_count(1, timeout=SENT)
    has_file = "async () => (await Outbox.list()).map(e => e.fields.some(f => f[1] instanceof Blob))"
    assert page.evaluate(has_file) == [True]
    with data:  # the body cancelled the plan while the auditor was offline
        db.session.get(AuditPlan, plan_id).status = "cancelled"
    page.context.set_offline(False)
    expect(badge(page).locator(".outbox-refused-count")).to_have_text("被拒绝 1", timeout=SENT)
    # Refused for good: the photo's bytes are not kept on the phone any more, its name is.
    assert page.evaluate(has_file) == [False]
    assert "jolla.jpg" in page.evaluate("async () => JSON.stringify((await Outbox.list())[0].fields)")
    page.goto("/")
    expect(page.locator("#outbox-outcomes .outbox-outcome-refused")).to_contain_text("jolla.jpg")


def test_r17_a_photo_upload_that_hangs_is_kept_in_the_outbox_and_stored_once(page, data, arrivals):
    only_page_replays(page)
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    page.goto(f"/plans/{plan_id}")
    held = []

    def hold(route):  # the outer edge: a dead spot where every upload hangs
        if route.request.method == "POST":
            held.append(route)
        else:
            route.continue_()

    page.context.route(re.compile(rf"/plans/{plan_id}/photos$"), hold)
    choose(page, "first", ["jolla.jpg"])
    tile = page.locator(".photo-tile").first
    # After about 10 s with neither progress nor answer: kept in the outbox with its key.
    expect(tile).to_contain_text("网络较慢，已保存，将自动发送", timeout=SENT)
    [kept] = entries(page)
    assert kept["kind"] == "photo" and photos(data, plan_id) == []
    # The outbox sends it again; this one gets through: one photo.
    assert wait_for(page, lambda: len(held) == 2)
    held[1].continue_()
    assert wait_for(page, lambda: len(photos(data, plan_id)) == 1)
    expect(page.locator(".photo-tile[data-photo-id]")).to_have_count(1, timeout=SENT)
    expect(badge(page)).to_be_hidden(timeout=SENT)
    try:  # the first send was given up by the page: it may or may not still reach the server
        held[0].continue_()
    except Exception:
        pass
    page.reload()
    expect(page.locator(".photo-tile[data-photo-id]")).to_have_count(1)
    assert len(photos(data, plan_id)) == 1
