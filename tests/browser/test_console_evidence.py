"""The evidence review in Chromium (R21): on a desktop a staff member opens it from the plan
page and sees at once 存疑 with the reasons ranked, the photos large with their badges, the
offline check-in marked 稍后送达 on the timeline, the points on the map and in text; printed,
the console's bars go and the text stays; on a 390 px phone the same page stacks."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..console.test_r21_evidence import suspicious_plan
from .test_console import fits_the_width
from .test_console_plans import staff_page

pytestmark = pytest.mark.browser


def review_data(live_server, data) -> dict:
    with data as f:
        staff = f.staff(role="readonly", name="钱只读").phone
    with live_server.app.app_context():
        ids = suspicious_plan(live_server.app)
    ids["staff"] = staff
    return ids


def test_r21_staff_see_at_a_glance_that_an_audit_looks_doubtful_and_why(browser, live_server, data):
    ids = review_data(live_server, data)
    context, page = staff_page(browser, live_server, "desktop", ids["staff"])
    page.goto(f"/admin/plans/{ids['plan']}")
    page.get_by_role("link", name="证据审查：审核是否真实？").click()
    expect(page.get_by_role("heading", name="审核是否真实？")).to_be_visible()

    # The summary first, then the reasons, most serious first, each a sentence with its numbers.
    expect(page.locator(".evidence-level strong")).to_have_text("存疑")
    reasons = page.locator(".evidence-reasons li")
    expect(reasons.nth(0)).to_contain_text(re.compile(r"签到位置距最近的计划审核地址 104\.7 公里"))
    expect(reasons.nth(1)).to_contain_text("与其他审核计划中的照片字节完全相同的照片：1 张")
    expect(reasons.nth(2)).to_contain_text("拍摄时间与对应会议相隔一天以上的照片：1 张")
    expect(reasons.nth(3)).to_contain_text("手机时钟与服务器相差 180 分钟")
    for i in range(4):
        expect(reasons.nth(i).locator(".reason-level")).to_have_text("存疑")

    # The photos large, with the badges the team sees; the display copy loads from the staff route.
    last = page.locator(".evidence-photo").filter(has_text="该照片已用于其他审核计划")
    expect(last.locator('[data-check="duplicate"]')).to_be_visible()
    expect(last.get_by_role("link", name=ids["elsewhere_no"])).to_be_visible()
    image = last.locator("img")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert image.bounding_box()["width"] >= 400
    expect(page.locator(".evidence-photo").filter(has_text="拍摄时间与签到相差 2 天")).to_be_visible()

    # The timeline: the offline check-in says so, with the phone's clock three hours ahead.
    check_in = page.locator('tr[data-timeline="event"][data-kind="in"]')
    expect(check_in).to_contain_text("离线记录，稍后送达")
    expect(check_in.locator("td.flagged")).to_have_text("+180 分钟")

    # The map draws the site and both points (no tiles in tests: the text says the same).
    expect(page.locator("#plan-map")).to_have_attribute("data-ready", "1")
    expect(page.locator("#plan-map path.site-marker")).to_have_count(1)
    expect(page.locator("#plan-map path.point-marker")).to_have_count(2)
    expect(page.locator(".evidence-points tr.deviates")).to_contain_text(re.compile(r"104\.\d+ 公里：吉林省集安市工业园区1号"))

    # Printed: the console's bars and links go, the summary and the text stay.
    page.emulate_media(media="print")
    expect(page.locator(".console-nav")).to_be_hidden()
    expect(page.get_by_role("link", name="返回计划")).to_be_hidden()
    expect(page.locator(".evidence-level strong")).to_be_visible()
    expect(page.locator(".evidence-printed")).to_be_visible()
    context.close()


def test_r21_the_evidence_review_stacks_on_a_390_px_phone(browser, live_server, data):
    ids = review_data(live_server, data)
    context, page = staff_page(browser, live_server, "phone", ids["staff"])
    page.goto(f"/admin/plans/{ids['plan']}/evidence")
    expect(page.locator(".evidence-level strong")).to_have_text("存疑")
    expect(page.locator('tr[data-timeline="event"][data-kind="in"]')).to_contain_text("离线记录，稍后送达")
    # The tables stack as labelled cards; each photo is as wide as the screen, its facts below it.
    expect(page.locator(".evidence-timeline thead")).to_be_hidden()
    photo = page.locator(".evidence-photo").first
    image_box = photo.locator("img").bounding_box()
    facts_box = photo.locator(".evidence-photo-facts").bounding_box()
    assert image_box["width"] <= 390 and facts_box["y"] >= image_box["y"] + image_box["height"] - 1
    assert fits_the_width(page)
    context.close()


# Tiles from a port nothing listens on: every tile fails, as with no signal or a blocked server.
UNREACHABLE_TILES = {"TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png", "TILE_ATTRIBUTION": "© OpenStreetMap"}


@pytest.mark.parametrize("live_server", [UNREACHABLE_TILES], indirect=True)
def test_r21_when_the_tiles_cannot_be_reached_the_review_says_so_and_reads_in_text(browser, live_server, data):
    ids = review_data(live_server, data)
    context, page = staff_page(browser, live_server, "desktop", ids["staff"])
    page.goto(f"/admin/plans/{ids['plan']}/evidence")
    expect(page.locator("#plan-map")).to_have_attribute("data-tiles", "failed")
    expect(page.get_by_text("地图底图无法加载，地点已在下方以文字列出。")).to_be_visible()
    expect(page.locator(".evidence-points tr.deviates")).to_contain_text(re.compile(r"104\.\d+ 公里：吉林省集安市工业园区1号"))
    expect(page.locator(".evidence-sites")).to_contain_text("吉林省集安市工业园区1号: 41.12560, 126.18650")
    # Printed, the empty map is left out; the text is all there.
    page.emulate_media(media="print")
    expect(page.locator("#plan-map")).to_be_hidden()
    expect(page.locator(".evidence-points")).to_be_visible()
    context.close()
