"""The outbox on the phone (R17): check-ins and photos made without a network are kept in
IndexedDB, shown (badge, /outbox), and sent when the network is back, exactly once, with
nothing lost: after the session ended, when two triggers race, when a rule refuses the
replay, with the phone's clock 3 hours off, and past a server that fails three times.

Real Chromium with the real service worker; the network is cut with context.set_offline.
The only stand-ins are at the outer edge: page.route answering 500, and a WSGI wrapper that
counts the requests that reached the server."""
from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from checkin_pwa.extensions import db
from checkin_pwa.models import AuditPlan, CheckEvent, Photo

from ..conftest import drag_pin, login_in_browser

pytestmark = pytest.mark.browser

PHOTOS = Path(__file__).resolve().parents[3] / "shared/fixtures/photos"
FIRST = ["jolla.jpg", "DSCN0010.jpg", "Canon_40D.jpg"]
OTHER = ["image00971.jpg"]
SENT = 30_000  # ms: a replay of a check-in and four photos on a 2-core machine


@pytest.fixture
def browser_context_args(browser_context_args):
    # Background Sync fires in headless Chromium only with this permission (browser-testing.md).
    return {**browser_context_args, "permissions": ["geolocation", "background-sync"]}


def sha256(name: str) -> str:
    return hashlib.sha256((PHOTOS / name).read_bytes()).hexdigest()


def controlled(page) -> None:
    """The worker controls the page: only then does an offline reload come from its cache."""
    page.evaluate("""() => navigator.serviceWorker.controller || new Promise(resolve =>
        navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }))""")


def entries(page) -> list[dict]:
    return page.evaluate("""async () => (await Outbox.list()).map(e => ({
        key: e.key, kind: e.kind, state: e.state, label: e.label, reason: e.reason,
        error_code: e.error_code, attempts: e.attempts, device_time: e.device_time,
        position: e.position, fields: e.fields.map(f => f[0])}))""")


def badge(page):
    return page.locator("#outbox-badge")


def open_check_page(page, plan_id: int, kind: str = "checkin"):
    page.goto(f"/plans/{plan_id}/{kind}")
    expect(page.locator("#map")).to_have_attribute("data-geo", "ready")
    return page.get_by_role("button", name=re.compile("确认并签"))


def move_pin(page) -> None:
    drag_pin(page, 60, -40, steps=8)
    expect(page.locator("#map")).not_to_have_attribute("data-pin-lat", re.compile(r"^41\.1256$"))


def choose(page, group: str, names: list[str]) -> None:
    box = page.locator(f'#photos .photo-group[data-group="{group}"]')
    which = "input[data-photo-input][capture]" if len(names) == 1 else "input[data-photo-album]"
    box.locator(which).set_input_files([PHOTOS / name for name in names])


def events(data, plan_id: int) -> list[CheckEvent]:
    with data:
        rows = db.session.scalars(select(CheckEvent).where(CheckEvent.plan_id == plan_id).order_by(CheckEvent.id)).all()
        db.session.expunge_all()
        return rows


def photos(data, plan_id: int) -> list[tuple[str, str]]:
    with data:
        query = select(Photo).where(Photo.plan_id == plan_id, Photo.deleted_at.is_(None)).order_by(Photo.id)
        return [(p.group, p.sha256_original) for p in db.session.scalars(query)]


def wait_for(page, condition, timeout_s: float = SENT / 1000):
    """Poll the server's database (no fixed sleep): True as soon as `condition()` holds.
    Waits through Playwright, so route handlers (in this thread) keep answering."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        page.wait_for_timeout(50)
    return condition()


def queue_check_in_offline(page, plan_id: int, pin: bool = False) -> None:
    button = open_check_page(page, plan_id)
    controlled(page)
    if pin:
        move_pin(page)
    page.context.set_offline(True)
    button.click()
    expect(page.locator("#check-outcome")).to_contain_text("已保存，联网后自动发送")
    expect(badge(page)).to_be_visible()


def only_page_replays(page) -> None:
    """No Background Sync: the replays are the page's own (the online event, app start)."""
    page.context.clear_permissions()
    page.context.grant_permissions(["geolocation"])


def fail_check_ins(page, plan_id, times: int) -> dict:
    """The outer edge: a proxy that answers the plan's next `times` check-in POSTs with 500.
    Returns the counter ({"left": n}) the test reads."""
    failures = {"left": times}

    def flaky(route):
        if route.request.method == "POST" and failures["left"] > 0:
            failures["left"] -= 1
            route.fulfill(status=500, body="<p>Internal Server Error</p>")
        else:
            route.continue_()

    page.context.route(re.compile(rf"/plans/{plan_id}/checkin$"), flaky)
    return failures


def me_and_plan(data, **plan_args):
    with data as f:
        me = f.auditor(name="张三")
        plan_id = f.plan([me], **plan_args).id
        return me.phone, plan_id


def test_r17_offline_check_in_and_photos_arrive_once_when_the_network_returns(page, data, arrivals):
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    controlled(page)
    page.goto("/")  # loaded once online (not as the login's redirect): the worker keeps a copy
    page.goto("/outbox")
    expect(page.locator("#outbox-list")).to_contain_text("没有待发送的记录")

    # The photos in a second tab of the same phone (it shares the outbox).
    photo_page = page.context.new_page()
    photo_page.goto(f"/plans/{plan_id}")
    expect(photo_page.locator("#photos input[data-photo-album]")).to_have_count(3)

    queue_check_in_offline(page, plan_id, pin=True)
    choose(photo_page, "first", FIRST)
    choose(photo_page, "other", OTHER)
    queued = photo_page.locator(".photo-tile.photo-queued")
    expect(queued).to_have_count(4, timeout=SENT)
    expect(queued.first).to_contain_text("已保存，联网后自动发送")
    expect(badge(page).locator(".outbox-count")).to_have_text("5")  # 1 check-in + 4 photos
    expect(badge(photo_page).locator(".outbox-count")).to_have_text("5")

    # Each action keeps the phone's time and position at the moment it was made.
    kept = entries(page)
    assert [e["kind"] for e in kept] == ["checkin", "photo", "photo", "photo", "photo"]
    check = kept[0]
    assert check["label"].startswith("签到")
    assert check["position"]["pin_lat"] != check["position"]["lat"]
    assert check["device_time"] > 0 and len({e["key"] for e in kept}) == 5
    assert "photo" in kept[1]["fields"] and "original_sha256" in kept[1]["fields"]

    # Reload offline: today's tasks as last loaded (marked offline), and the outbox list.
    page.goto("/")
    expect(page.locator("#offline-banner")).to_be_visible()
    expect(page.locator(f"#plan-{plan_id}")).to_be_visible()
    expect(badge(page).locator(".outbox-count")).to_have_text("5")
    page.goto("/outbox")
    expect(page.locator(".outbox-entry")).to_have_count(5)
    expect(page.locator(".outbox-entry").first).to_contain_text("签到")
    expect(page.locator(".outbox-entry.outbox-waiting")).to_have_count(5)
    assert events(data, plan_id) == [] and photos(data, plan_id) == []

    online_at = time.monotonic()
    page.context.set_offline(False)  # the online event and Background Sync both fire
    assert wait_for(page, lambda: len(photos(data, plan_id)) == 4 and len(events(data, plan_id)) == 1)
    elapsed = time.monotonic() - online_at
    print(f"\nOutbox replay: online -> server has the check-in and 4 photos: {elapsed:.2f} s")
    expect(page.locator(".outbox-entry")).to_have_count(0, timeout=SENT)
    expect(page.locator("#outbox-list")).to_contain_text("没有待发送的记录")
    expect(badge(page)).to_be_hidden()

    [event] = events(data, plan_id)
    assert (event.kind, event.queued_offline, event.counts_for_team) == ("in", True, True)
    assert event.idempotency_key == check["key"]
    assert event.pin_offset_m > 0
    stored = photos(data, plan_id)
    assert sorted(stored) == sorted([("first", sha256(n)) for n in FIRST] + [("other", sha256(n)) for n in OTHER])
    # The photo page, still open, shows the server's tiles in place of the queued ones.
    expect(photo_page.locator(".photo-tile[data-photo-id]")).to_have_count(4, timeout=SENT)
    # Nothing more arrives later (a late trigger finds an empty outbox).
    assert arrivals.count(f"/plans/{plan_id}/checkin") == 1
    assert len(events(data, plan_id)) == 1 and len(photos(data, plan_id)) == 4


def test_r17_replay_after_the_session_ended_keeps_the_entry_until_login(page, data):
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    queue_check_in_offline(page, plan_id)
    page.context.clear_cookies()  # the session ended while the phone was offline
    page.context.set_offline(False)  # the replay hears 401
    page.goto("/outbox")
    expect(page.locator("#outbox-login")).to_be_visible(timeout=SENT)
    expect(page.locator("#outbox-login")).to_contain_text("请重新登录后自动发送")
    expect(page.locator(".outbox-entry.outbox-waiting")).to_have_count(1)
    assert events(data, plan_id) == []

    login_in_browser(page, phone)  # app start replays; the old CSRF token is renewed
    assert wait_for(page, lambda: len(events(data, plan_id)) == 1)
    expect(badge(page)).to_be_hidden(timeout=SENT)
    assert entries(page) == []


def test_r17_two_triggers_at_once_still_send_once(page, data, arrivals):
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    queue_check_in_offline(page, plan_id)
    page.context.set_offline(False)  # Background Sync and the online event
    # ...and two more at the same moment: the "立即发送" path and another replay.
    page.evaluate("Promise.all([Outbox.replay({force: true}), Outbox.replayFromPage(true), Outbox.replay()])")
    assert wait_for(page, lambda: len(events(data, plan_id)) == 1)
    expect(badge(page)).to_be_hidden(timeout=SENT)
    assert arrivals.count(f"/plans/{plan_id}/checkin") == 1  # sent once, not deduplicated after
    assert len(events(data, plan_id)) == 1


def test_r17_a_rule_refusal_on_replay_is_shown_and_kept_until_dismissed(page, data):
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    queue_check_in_offline(page, plan_id)
    with data:  # the body cancelled the plan while the auditor was offline
        db.session.get(AuditPlan, plan_id).status = "cancelled"
    page.context.set_offline(False)
    page.goto("/outbox")
    refused = page.locator(".outbox-entry.outbox-refused")
    expect(refused).to_have_count(1, timeout=SENT)
    expect(refused.get_by_role("alert")).not_to_be_empty()
    assert events(data, plan_id) == []

    page.reload()  # still there: nothing leaves before the auditor has read why
    expect(refused).to_have_count(1)
    expect(badge(page).locator(".outbox-count")).to_have_text("1")
    refused.get_by_role("button", name="知道了").click()
    expect(page.locator(".outbox-entry")).to_have_count(0)
    expect(badge(page)).to_be_hidden()
    assert entries(page) == [] and events(data, plan_id) == []


CLOCK_BEHIND = """(() => {
  const offset = -3 * 3600 * 1000;  // the phone's clock is 3 hours behind
  const Real = Date;
  class PhoneDate extends Real {
    constructor(...args) { if (args.length === 0) super(Real.now() + offset); else super(...args); }
    static now() { return Real.now() + offset; }
  }
  globalThis.Date = PhoneDate;
})();"""


def test_r17_a_phone_clock_3_hours_off_is_flagged_and_judged_on_the_corrected_time(page, data):
    # The plan started 1 h ago: by the phone's clock the check-in came before the plan.
    with data as f:
        me = f.auditor(name="张三")
        plan_id = f.plan([me], start=f.local_today(0, 0, 0)).id
        phone = me.phone
    only_page_replays(page)  # the init script sets the pages' clock, not the worker's
    page.context.add_init_script(CLOCK_BEHIND)
    login_in_browser(page, phone)
    queue_check_in_offline(page, plan_id)
    page.context.set_offline(False)
    assert wait_for(page, lambda: len(events(data, plan_id)) == 1)
    [event] = events(data, plan_id)
    assert event.queued_offline
    assert abs(event.clock_skew_s + 3 * 3600) < 120
    assert event.device_time < event.server_time
    codes = {flag["code"] for flag in event.flags}
    assert "clock_skew" in codes


def test_r17_a_server_answering_500_three_times_then_200_gets_the_check_in_once(page, data, arrivals):
    only_page_replays(page)
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    queue_check_in_offline(page, plan_id)
    failures = fail_check_ins(page, plan_id, 3)
    page.context.set_offline(False)
    assert wait_for(page, lambda: len(events(data, plan_id)) == 1)
    assert failures["left"] == 0
    expect(page.locator(".outbox-entry")).to_have_count(0, timeout=SENT)
    assert len(events(data, plan_id)) == 1


def test_r17_a_second_trigger_during_the_back_off_does_not_cancel_the_retry(page, data, arrivals):
    """The first replay met a 500 and waits its back-off; another trigger (the page opened
    again, a slow upload giving up) replays meanwhile, finds nothing due, and must leave the
    retry armed: the check-in still goes, with no further tap or network change."""
    only_page_replays(page)
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    queue_check_in_offline(page, plan_id)
    failures = fail_check_ins(page, plan_id, 1)
    page.context.set_offline(False)  # the online event's replay meets the 500
    assert wait_for(page, lambda: [e["attempts"] for e in entries(page)] == [1])
    page.evaluate("Outbox.replayFromPage(false)")  # the second trigger, inside the back-off
    assert wait_for(page, lambda: len(events(data, plan_id)) == 1)
    expect(badge(page)).to_be_hidden(timeout=SENT)
    assert arrivals.count(f"/plans/{plan_id}/checkin") == 1


def test_r17_a_check_in_whose_answer_was_lost_is_kept_and_written_once(page, data, arrivals):
    """Online, the check-in reached the server but its answer never came back (the signal
    dropped): the page keeps it in the outbox with the key made on the phone, and the resend
    from "立即发送" is answered from the server's record, not written again."""
    only_page_replays(page)
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    button = open_check_page(page, plan_id)
    lost = {"done": False, "back": False}

    def answer_lost(route):  # the outer edge: the request arrives, the answer does not...
        if route.request.method == "POST" and not lost["done"]:
            lost["done"] = True
            route.fetch()
            route.abort("internetdisconnected")
        elif route.request.method == "POST" and not lost["back"]:
            route.fulfill(status=503, body="")  # ...and the link stays bad a while
        else:
            route.continue_()

    page.context.route(re.compile(rf"/plans/{plan_id}/checkin$"), answer_lost)
    button.click()
    expect(page.locator("#check-outcome")).to_contain_text("已保存，联网后自动发送")
    assert len(events(data, plan_id)) == 1  # it did arrive
    [kept] = entries(page)
    assert kept["key"] == events(data, plan_id)[0].idempotency_key

    page.goto("/outbox")
    expect(page.locator(".outbox-entry .outbox-error")).to_contain_text("503")
    lost["back"] = True
    page.get_by_role("button", name="立即发送").click()
    expect(page.locator(".outbox-entry")).to_have_count(0, timeout=SENT)
    assert arrivals.count(f"/plans/{plan_id}/checkin") == 2  # sent twice, written once
    assert len(events(data, plan_id)) == 1


def test_r17_the_workers_own_replay_is_accepted_at_its_first_send(page, data, arrivals):
    phone, plan_id = me_and_plan(data)
    login_in_browser(page, phone)
    queue_check_in_offline(page, plan_id)
    page.goto("about:blank")  # no page of the app is open: only the worker's Background Sync sends
    page.context.set_offline(False)
    assert wait_for(page, lambda: len(events(data, plan_id)) == 1)
    # One POST for the one entry: not a refusal for want of a token, then the same again.
    assert arrivals.count(f"/plans/{plan_id}/checkin") == 1
    assert [e.kind for e in events(data, plan_id)] == ["in"]
