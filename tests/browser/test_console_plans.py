"""The body's plans in Chromium (R16, R18): on a desktop a staff member narrows the list by
typing part of an enterprise's name, opens the plan and sees each member's check-in; on a
390 px phone the list and the plan page stack with nothing wider than the screen; a staff
member of another body who opens the plan's or its photo's address sees the 404 page."""
from __future__ import annotations

import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from ..factories import STAFF_PASSWORD, local_today
from ..helpers import csrf_token_from, log_in
from .test_console import VIEWPORTS, fits_the_width, log_in_staff

pytestmark = pytest.mark.browser

NOT_FOUND = "未找到该页面，或您无权查看"


def staff_page(browser, live_server, viewport, phone):
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  **VIEWPORTS[viewport])
    page = context.new_page()
    log_in_staff(page, phone, STAFF_PASSWORD)
    expect(page.get_by_role("link", name="审核计划")).to_be_visible()
    return context, page


def two_plans(f):
    """Two plans of the body, the first checked in by its leader; returns ids and phones."""
    from checkin_pwa.extensions import db
    from checkin_pwa.models import CheckEvent

    leader, member = f.auditor(name="张组长"), f.auditor(name="李组员")
    dalian = f.plan([leader, member], company=f.enterprise("大连甲机械有限公司"),
                    start=local_today(-1), end=local_today(1, 17, 0))
    f.plan([member], company=f.enterprise("吉林乙化工有限公司"), start=local_today(3), end=local_today(4, 17, 0))
    site = dalian.sites[0]
    db.session.add(CheckEvent(plan_id=dalian.id, kind="in", signer_id=leader.id, device_lat=site.lat,
                              device_lon=site.lon, chosen_lat=site.lat, chosen_lon=site.lon,
                              server_time=dalian.start_utc.replace(minute=41),
                              nearest_site_id=site.id, nearest_site_distance_m=0.0))
    return {"plan": dalian.id, "plan_no": dalian.plan_no, "leader": leader.id, "member": member.id,
            "member_phone": member.phone}


def test_r18_staff_find_a_plan_by_typing_part_of_the_enterprise_and_see_the_teams_check_in(browser, live_server, data):
    with data as f:
        ids = two_plans(f)
        ids["staff"] = f.staff(role="readonly", name="钱只读").phone
    context, page = staff_page(browser, live_server, "desktop", ids["staff"])
    page.get_by_role("link", name="审核计划").click()
    expect(page.get_by_role("heading", name="审核计划")).to_be_visible()
    rows = page.locator("#plan-list tr[data-plan]")
    expect(rows).to_have_count(2)
    expect(page.locator("[data-plan-count]")).to_have_text("共 2 个计划")

    # Typing part of the name narrows the list as it is typed, and the URL keeps the filter.
    page.get_by_label("企业名称").press_sequentially("大连", delay=50)
    expect(rows).to_have_count(1)
    expect(page.locator("[data-plan-count]")).to_have_text("共 1 个计划")
    expect(page).to_have_url(re.compile(r"/admin/plans\?enterprise=%E5%A4%A7%E8%BF%9E$"))
    expect(rows.first).to_contain_text("大连甲机械有限公司")
    expect(rows.first.locator("[data-phase]")).to_have_text("进行中")

    # The plan: the team's state, and each member's own record.
    page.get_by_role("link", name=ids["plan_no"]).click()
    expect(page.get_by_role("heading", name="大连甲机械有限公司")).to_be_visible()
    expect(page.locator("[data-team-state]")).to_have_text("已签到")
    leader = page.locator(f'tr[data-member="{ids["leader"]}"]')
    expect(leader.locator('[data-signed="in"]')).to_contain_text(re.compile(r"08:41:00（服务器时间）"))
    expect(leader.locator('[data-signed="out"]')).to_have_text("—")
    expect(page.locator(f'tr[data-member="{ids["member"]}"] [data-signed="in"]')).to_have_text("—")

    # Back, the filter is still there.
    page.go_back()
    expect(page.get_by_label("企业名称")).to_have_value("大连")
    expect(rows).to_have_count(1)
    context.close()


def test_r18_the_plan_list_and_page_stack_on_a_390_px_phone(browser, live_server, data):
    with data as f:
        ids = two_plans(f)
        ids["staff"] = f.staff(role="readonly").phone
    context, page = staff_page(browser, live_server, "phone", ids["staff"])
    page.goto("/admin/plans")
    rows = page.locator("#plan-list tr[data-plan]")
    expect(rows).to_have_count(2)
    # The table stacks: no header row, each plan a card as wide as the screen at most, each
    # cell labelled by its column.
    expect(page.locator("#plan-list thead")).to_be_hidden()
    box = rows.first.bounding_box()
    assert box["width"] <= 390 and box["height"] > box["width"] / 2
    label = rows.first.locator("td").first.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert "计划编号" in label
    assert fits_the_width(page)
    page.get_by_role("link", name=ids["plan_no"]).click()
    expect(page.locator(f'tr[data-member="{ids["leader"]}"]')).to_be_visible()
    assert fits_the_width(page)
    context.close()


def _photo_of(app, person_id, plan_id) -> int:
    """A photo uploaded by the team's member through the check-in end (a real JPEG)."""
    from checkin_pwa.extensions import db
    from checkin_pwa.models import Auditor, Photo

    with app.app_context():
        person = db.session.get(Auditor, person_id)
        phone = app.test_client()
        log_in(phone, person)
        buffer = io.BytesIO()
        Image.new("RGB", (64, 48), (30, 120, 30)).save(buffer, "JPEG")
        token = csrf_token_from(phone.get(f"/plans/{plan_id}"))
        answer = phone.post(f"/plans/{plan_id}/photos", content_type="multipart/form-data",
                            headers={"X-Checkin-Client": "photos"},
                            data={"csrf_token": token, "group": "first",
                                  "photo": (io.BytesIO(buffer.getvalue()), "a.jpg")})
        assert answer.status_code == 201, answer.get_data(as_text=True)
        return db.session.scalar(db.select(Photo.id).where(Photo.plan_id == plan_id))


def test_r16_staff_of_another_body_opening_a_plan_or_photo_address_see_the_404_page(browser, live_server, data):
    with data as f:
        ids = two_plans(f)
        ids["own_staff"] = f.staff(role="readonly", name="本机构").phone
        other = f.agency(code="CNCA-R-2099-003", name="外省某认证有限公司")
        ids["stranger"] = f.staff(other, role="admin", name="外机构", phone="13900000888").phone
    photo = _photo_of(live_server.app, ids["leader"], ids["plan"])

    # The body's own staff see the plan and its photo.
    context, page = staff_page(browser, live_server, "desktop", ids["own_staff"])
    page.goto(f"/admin/plans/{ids['plan']}")
    thumb = page.locator(f'img[src="/admin/photos/{photo}/thumb"]')
    expect(thumb).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    context.close()

    # Another body's staff: the same addresses are the 404 page, and their list is empty.
    context, page = staff_page(browser, live_server, "desktop", ids["stranger"])
    for path in (f"/admin/plans/{ids['plan']}", f"/admin/photos/{photo}/thumb", f"/admin/photos/{photo}/display"):
        answer = page.goto(path)
        assert answer.status == 404, path
        expect(page.get_by_text(NOT_FOUND)).to_be_visible()
    page.goto("/admin/plans")
    expect(page.locator("#plan-list tr[data-plan]")).to_have_count(0)
    expect(page.locator("[data-plan-count]")).to_have_text("共 0 个计划")
    context.close()
