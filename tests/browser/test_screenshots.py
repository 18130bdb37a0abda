"""Every main page on a 390 px phone: it fits (no sideways scrolling), the bottom navigation
is there and marks where the auditor is, nothing is refused by the page's own security
policy, and a screenshot of it is saved (to docs/screenshots/, shown in the README, by
`make screenshots`).

The data is the demo's (`make run` shows the same pages), seeded for today in the test."""
from __future__ import annotations


import pytest
from playwright.sync_api import expect

from checkin_pwa.extensions import db
from checkin_pwa.models import AuditPlan
from checkin_pwa.services import demo

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def demo_data(data):
    """The demo seeded for today, plus one notice with an attachment; ids by name."""
    from checkin_pwa.models import Notice

    with data:
        seeded = demo.seed_demo()
        numbers = seeded.plan_numbers
        plans = {plan.plan_no: plan.id for plan in db.session.scalars(db.select(AuditPlan))}
        notice = db.session.scalar(db.select(Notice).where(Notice.agency_id.is_not(None)))
        return {"today_qms": plans[numbers["QMS"]], "past_exc": plans[numbers["PAST-EXC"]],
                "notice": notice.id}


def _pages(ids):
    """(file name, path, bottom-nav item that is current or None)."""
    return [
        ("01-today", "/", "签到"),
        ("02-check-in", f"/plans/{ids['today_qms']}/checkin", "签到"),
        ("03-plan", f"/plans/{ids['past_exc']}", None),
        ("04-explain", f"/plans/{ids['past_exc']}/explain", None),
        ("05-calendar", "/calendar", "日历"),
        ("06-tasks", "/tasks", "任务"),
        ("07-history", "/history", "任务"),
        ("08-notices", "/notices", "通知"),
        ("09-notice", f"/notices/{ids['notice']}", "通知"),
        ("10-me", "/me", "我的"),
        ("11-outbox", "/outbox", None),
    ]


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_every_main_page_fits_a_390px_phone_and_is_saved_as_a_screenshot(page, demo_data, shots):
    page.set_viewport_size(PHONE)
    refused = []
    page.on("console", lambda msg: refused.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text else None)

    page.goto("/login")
    assert _fits(page)
    page.screenshot(path=shots / "00-login.png")
    login_in_browser(page, demo.DEMO_AUDITOR, demo.DEMO_PASSWORD)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()

    for name, path, current in _pages(demo_data):
        response = page.goto(path)
        assert response is not None and response.status == 200, (path, response and response.status)
        page.wait_for_load_state("networkidle")
        assert _fits(page), f"{path} scrolls sideways at 390 px"
        nav = page.get_by_role("navigation", name="主导航")
        expect(nav).to_be_visible()
        if current:
            expect(nav.locator("[aria-current=page] .bottom-nav-label")).to_have_text(current)
        page.screenshot(path=shots / f"{name}.png")
    assert refused == []
