"""Today's board in Chromium: on a desktop a staff member filters it by auditor, a team member
checks in through the app's service, and the board shows 已签到 by itself (the page is not
reloaded, the filter and the scroll position stay); it asks nothing while the tab is hidden
and asks at once when the tab is shown again, saying it is no person's activity; it waits
while the keyboard focus is in the list. On a 390 px phone it stacks with nothing wider
than the screen."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..factories import local_today
from .test_console import fits_the_width
from .test_console_plans import staff_page
from checkin_pwa.domain import clock

pytestmark = pytest.mark.browser


def todays_audits(f) -> dict:
    """Two audits of today, both started at 08:30 with nobody checked in, and a few more so
    the page scrolls."""
    leader, other = f.auditor(name="张组长"), f.auditor(name="李另组")
    mine = f.plan([leader], company=f.enterprise("大连甲机械有限公司"), start=local_today(0, 0, 5),
                  end=local_today(0, 23, 55))
    f.plan([other], company=f.enterprise("吉林乙化工有限公司"), start=local_today(0, 0, 5), end=local_today(0, 23, 55),
           code="ISO14001")
    for n in range(12):
        f.plan([leader], company=f.enterprise(f"通化丙{n}公司"), start=local_today(0, 23, 56), end=local_today(1, 17, 0))
    return {"plan": mine.id, "leader": leader.id, "staff": f.staff(role="readonly", name="钱只读").phone}


def check_in_through_the_service(app, auditor_id: int, plan_id: int) -> None:
    """What the phone's check-in posts, through the app's own service (the server's clock)."""
    from checkin_pwa.extensions import db
    from checkin_pwa.models import Auditor
    from checkin_pwa.services import checkin

    with app.app_context():
        now = clock.now()
        stamp = str(int(now.timestamp() * 1000))
        form = {"device_lat": "41.1256", "device_lon": "126.1865", "device_accuracy": "12",
                "device_position_time": stamp, "device_time": stamp, "lat": "41.1256", "lon": "126.1865"}
        outcome = checkin.check(db.session.get(Auditor, auditor_id), plan_id, "in", form, now)
        assert type(outcome).__name__ == "Signed", outcome
        db.session.remove()


def test_r3_the_board_shows_a_teams_check_in_by_itself_with_the_filter_kept(browser, live_server, data):
    with data as f:
        ids = todays_audits(f)
    context, page = staff_page(browser, live_server, "desktop", ids["staff"])
    page.clock.install()
    page.get_by_role("navigation", name="管理端").get_by_role("link", name="今日看板").click()
    expect(page.get_by_role("heading", name="今日看板")).to_be_visible()
    rows = page.locator("#board-list tr[data-plan]")
    expect(rows).to_have_count(14)
    expect(page.locator('[data-count="total"]')).to_have_text("今日 14 个审核")

    # Filter by the auditor: the list narrows, the URL keeps the filter; the late team on top.
    with page.expect_request(lambda request: "/admin/board?" in request.url) as chosen:
        page.get_by_label("审核员").select_option(label="张组长")
    assert "x-auto-refresh" not in chosen.value.headers  # a person's request: activity
    expect(page).to_have_url(re.compile(rf"/admin/board\?.*auditor={ids['leader']}"))
    expect(rows).to_have_count(13)
    row = page.locator(f'tr[data-plan="{ids["plan"]}"]')
    expect(rows.first).to_have_attribute("data-plan", str(ids["plan"]))
    expect(row.locator("[data-team-state]")).to_have_text("未签到")
    expect(row).to_contain_text("未签到，已过开始")
    expect(page.locator('[data-count="not_checked_in"] b')).to_have_text("13")
    expect(page.locator('[data-count="waiting"]')).to_have_text("1 个审核组已过计划开始仍未签到")

    # A marker on the page, and a scrolled position: neither may be lost by the refresh.
    page.evaluate("window.boardMarker = 'still here'")
    page.set_viewport_size({"width": 1280, "height": 400})
    page.evaluate("window.scrollTo(0, 120)")
    url = page.url

    check_in_through_the_service(live_server.app, ids["leader"], ids["plan"])
    page.clock.run_for(16_000)
    expect(row.locator("[data-team-state]")).to_have_text("已签到")
    expect(page.locator('[data-count="checked_in"] b')).to_have_text("1")
    expect(page.locator('[data-count="waiting"]')).to_have_count(0)
    assert page.evaluate("window.boardMarker") == "still here"
    assert page.evaluate("window.scrollY") == 120
    assert page.url == url
    expect(page.get_by_label("审核员")).to_have_value(str(ids["leader"]))
    expect(rows).to_have_count(13)
    context.close()


def test_the_board_asks_nothing_while_the_tab_is_hidden_and_at_once_when_shown(browser, live_server, data):
    with data as f:
        ids = todays_audits(f)
    context, page = staff_page(browser, live_server, "desktop", ids["staff"])
    page.clock.install()
    page.goto("/admin/board")
    expect(page.locator("#board-list tr[data-plan]")).to_have_count(14)
    expect(page.locator(".board-chart-svg")).to_be_visible()  # the chart came in its own request
    # Count the list's requests in the page, as htmx starts them.
    page.evaluate("""() => {
        window.asked = 0;
        document.getElementById('board-list').dataset.seen = '1';
        document.body.addEventListener('htmx:beforeRequest', (event) => {
            if (event.detail.elt.id === 'board-list') window.asked += 1;
        });
        window.shown = 'hidden';
        Object.defineProperty(document, 'visibilityState', {configurable: true, get: () => window.shown});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.clock.run_for(61_000)  # four refreshes' worth while hidden
    assert page.evaluate("window.asked") == 0
    with page.expect_request(lambda request: "/admin/board/chart" not in request.url) as asked:
        page.evaluate("() => { window.shown = 'visible'; document.dispatchEvent(new Event('visibilitychange')); }")
    assert asked.value.headers["x-auto-refresh"] == "1"  # not the staff member's activity
    assert page.evaluate("window.asked") == 1
    expect(page.locator("#board-list[data-seen]")).to_have_count(0)  # the list was replaced
    page.evaluate("document.getElementById('board-list').dataset.seen = '1'")
    page.clock.run_for(16_000)
    assert page.evaluate("window.asked") == 2
    expect(page.locator("#board-list[data-seen]")).to_have_count(0)

    # While the keyboard focus is on a row's link, the list waits; once it leaves, it refreshes.
    page.locator("#board-list tr[data-plan] a").first.focus()
    page.clock.run_for(31_000)
    assert page.evaluate("window.asked") == 2
    expect(page.locator("#board-list tr[data-plan] a").first).to_be_focused()
    page.get_by_label("审核员").focus()
    page.clock.run_for(16_000)
    assert page.evaluate("window.asked") == 3
    context.close()


def test_the_board_stacks_on_a_390_px_phone(browser, live_server, data):
    with data as f:
        ids = todays_audits(f)
    context, page = staff_page(browser, live_server, "phone", ids["staff"])
    page.goto("/admin/board")
    rows = page.locator("#board-list tr[data-plan]")
    expect(rows).to_have_count(14)
    expect(page.locator("#board-list thead")).to_be_hidden()
    box = rows.first.bounding_box()
    assert box["width"] <= 390 and box["height"] > box["width"] / 2
    expect(page.get_by_role("img", name="每周的异常与跨审核异常")).to_be_visible()
    chart = page.locator(".board-chart-svg").bounding_box()
    assert chart["width"] <= 390
    assert fits_the_width(page)
    context.close()
