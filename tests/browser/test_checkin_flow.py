"""Checking in and out in the phone's browser (zh-CN, Pixel 7, geolocation on the site):
the map, the pin, the warnings, signing together, and what other members then see."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from checkin_pwa.domain import clock, geo
from checkin_pwa.extensions import db
from checkin_pwa.models import CheckEvent
from checkin_pwa.services import checkin

from ..conftest import PHONE_POSITION, drag_pin, login_in_browser

pytestmark = pytest.mark.browser

SITE = geo.Point(PHONE_POSITION["latitude"], PHONE_POSITION["longitude"])


def log_in(page, phone):
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()


def open_check_page(page, plan_id: int, kind: str = "checkin"):
    page.goto(f"/plans/{plan_id}/{kind}")
    expect(page.locator("#map")).to_have_attribute("data-geo", "ready")
    expect(page.get_by_role("button", name=re.compile("确认并签")))
    return page.locator("#check-form")


def recorded(data, plan_ids=None) -> list[dict]:
    with data:
        query = select(CheckEvent).order_by(CheckEvent.id)
        if plan_ids is not None:
            query = query.where(CheckEvent.plan_id.in_(plan_ids))
        return [{"plan_id": e.plan_id, "kind": e.kind, "signer": e.signer.name, "group_key": e.group_key,
                 "device": (e.device_lat, e.device_lon), "chosen": (e.chosen_lat, e.chosen_lon),
                 "pin_offset_m": e.pin_offset_m, "accuracy": e.device_accuracy_m, "flags": e.flags,
                 "device_time": e.device_time, "warning_confirmed": e.warning_confirmed}
                for e in db.session.scalars(query)]


def test_r5_check_in_with_the_pin_dragged_inside_the_circle(page, data):
    with data as f:
        me = f.auditor(name="张三")
        plan_id = f.plan([me]).id
        phone = me.phone
    log_in(page, phone)
    form = open_check_page(page, plan_id)
    expect(page.locator("#geo-status")).to_contain_text("精度约 12 米")
    expect(page.locator(".leaflet-interactive").first).to_be_visible()  # circle and sites drawn

    drag_pin(page, 60, -40, steps=8)
    map_el = page.locator("#map")
    expect(map_el).not_to_have_attribute("data-pin-lat", str(SITE.lat))
    pin_lat = float(map_el.get_attribute("data-pin-lat"))
    pin_lon = float(map_el.get_attribute("data-pin-lon"))
    expect(form.locator("input[name=lat]")).to_have_value(str(pin_lat))

    form.get_by_role("button", name="确认并签到").click()
    expect(page.locator("#check-outcome")).to_contain_text("签到成功")
    expect(page.locator("#check-outcome")).to_contain_text("服务器时间：")
    # R3: the plan's card on the same page now shows the team's new state, and the map is gone.
    expect(page.locator(f"#plan-{plan_id} .state")).to_have_text("已签到")
    expect(page.locator("#map")).to_have_count(0)

    (event,) = recorded(data, [plan_id])
    assert event["device"] == (SITE.lat, SITE.lon)
    assert event["chosen"] == pytest.approx((pin_lat, pin_lon))
    assert event["chosen"] != event["device"]
    assert 0 < event["pin_offset_m"] < 2000
    assert event["accuracy"] == 12 and event["device_time"] is not None
    assert any(flag["code"] == "pin_moved" for flag in event["flags"])


def test_r5_the_pin_cannot_leave_the_2_km_circle(page, data):
    with data as f:
        me = f.auditor()
        plan_id, phone = f.plan([me]).id, me.phone
    log_in(page, phone)
    open_check_page(page, plan_id)
    drag_pin(page, 600, 10, steps=12)  # far beyond the circle's edge
    map_el = page.locator("#map")
    expect(map_el).not_to_have_attribute("data-pin-lat", str(SITE.lat))
    pin = geo.Point(float(map_el.get_attribute("data-pin-lat")), float(map_el.get_attribute("data-pin-lon")))
    assert 1900 < geo.distance_m(SITE, pin) <= 2000


@pytest.mark.parametrize("datum", ["wgs84", "gcj02"])
def test_r5_pin_dropped_on_a_site_sends_that_sites_wgs84_position(page, data, live_server, datum):
    """On GCJ-02 tiles (AMap, Tencent) everything is drawn shifted (here by ~530 m); the
    pin is converted back, so a pin dropped on a site's marker sends that site's position."""
    live_server.app.config["TILE_DATUM"] = datum
    site = geo.destination(SITE, 90, 1000)
    with data as f:
        me = f.auditor()
        plan_id, phone = f.plan([me], sites=[(site.lat, site.lon)]).id, me.phone
    log_in(page, phone)
    form = open_check_page(page, plan_id)
    expect(page.locator("#map")).to_have_attribute("data-datum", datum)

    target = page.locator("path.site-marker").bounding_box()
    target_x, target_y = target["x"] + target["width"] / 2, target["y"] + target["height"] / 2
    icon = page.locator(".leaflet-marker-icon").bounding_box()
    grab_x, grab_y = icon["x"] + icon["width"] / 2, icon["y"] + icon["height"] / 2
    tip_below_grab = icon["y"] + icon["height"] - grab_y  # the pin's point is its bottom centre
    page.mouse.move(grab_x, grab_y)
    page.mouse.down()
    page.mouse.move(target_x, target_y - tip_below_grab, steps=10)
    page.mouse.up()
    map_el = page.locator("#map")
    expect(map_el).not_to_have_attribute("data-pin-lat", str(SITE.lat))
    sent = geo.Point(float(map_el.get_attribute("data-pin-lat")), float(map_el.get_attribute("data-pin-lon")))
    assert geo.distance_m(sent, site) < 60  # a pixel here is ~12 m; GCJ-02 would be ~530 m off

    form.get_by_role("button", name="确认并签到").click()
    expect(page.locator("#check-outcome")).to_contain_text("签到成功")
    expect(page.locator("#check-map")).to_have_count(0)  # signed: the map is gone
    (event,) = recorded(data, [plan_id])
    assert event["device"] == (SITE.lat, SITE.lon)
    assert geo.distance_m(geo.Point(*event["chosen"]), site) < 60


def test_r5_check_in_8_km_away_warns_then_signs_on_confirmation(page, data):
    with data as f:
        me = f.auditor()
        plan_id, phone = f.plan([me]).id, me.phone
    away = geo.destination(SITE, 250, 8000)
    page.context.set_geolocation({"latitude": away.lat, "longitude": away.lon, "accuracy": 20})
    log_in(page, phone)
    form = open_check_page(page, plan_id)
    form.get_by_role("button", name="确认并签到").click()
    outcome = page.locator("#check-outcome")
    expect(outcome).to_contain_text("手机当前定位与审核计划上报审核地址偏差过大（约 8.0 公里）")
    assert recorded(data, [plan_id]) == []

    page.get_by_role("button", name="确定，继续签到").click()
    expect(outcome).to_contain_text("签到成功")
    (event,) = recorded(data, [plan_id])
    assert event["warning_confirmed"]
    (deviation,) = [flag for flag in event["flags"] if flag["code"] == "deviation_over_5km"]
    assert deviation["distance_m"] == pytest.approx(8000, abs=1)


@pytest.fixture
def three_plans(data):
    """QMS, EMS, OHSMS at one enterprise today; 张三 on all three, 李四 on QMS and OHSMS."""
    with data as f:
        zhang, li, wang = f.auditor(name="张三"), f.auditor(name="李四"), f.auditor(name="王五")
        company = f.enterprise("吉林省某某股份有限公司")
        qms = f.plan([zhang, li], company=company, code="ISO9001")
        ems = f.plan([zhang, wang], company=company, code="ISO14001")
        ohsms = f.plan([zhang, li], company=company, code="ISO45001")
        return {"zhang": zhang.phone, "li": li.phone, "plans": (qms.id, ems.id, ohsms.id)}


def test_r7_sign_together_across_the_three_plans(page, data, three_plans):
    qms, ems, ohsms = three_plans["plans"]
    log_in(page, three_plans["zhang"])
    form = open_check_page(page, qms)
    form.get_by_label("同时签到，该企业还有其他 2 个审核任务").check()
    form.get_by_role("button", name="确认并签到").click()
    outcome = page.locator("#check-outcome")
    expect(outcome).to_contain_text("签到成功")
    expect(outcome.locator(".signed-plans li")).to_have_text(["ISO9001*", "ISO14001*", "ISO45001*"])
    expect(outcome).not_to_contain_text("未签到")
    events = recorded(data)
    assert sorted(e["plan_id"] for e in events) == [qms, ems, ohsms]
    assert len({e["group_key"] for e in events}) == 1 and events[0]["group_key"]


def test_r7_sign_together_skips_a_plan_without_the_signer_and_says_why(page, data, three_plans):
    qms, ems, ohsms = three_plans["plans"]
    log_in(page, three_plans["li"])
    form = open_check_page(page, ohsms)
    form.get_by_role("link", name="查看这些审核任务").click()
    expect(page.locator(".not-on-team")).to_contain_text("ISO14001")
    expect(page.locator(".not-on-team")).to_contain_text("您不在该审核组")
    expect(page.locator(f"#plan-{qms}")).to_be_visible()
    page.get_by_role("link", name="返回").click()

    form = open_check_page(page, ohsms)
    form.get_by_label("同时签到，该企业还有其他 2 个审核任务").check()
    form.get_by_role("button", name="确认并签到").click()
    outcome = page.locator("#check-outcome")
    expect(outcome).to_contain_text("签到成功")
    expect(outcome.locator(".signed-plans li")).to_have_text(["ISO45001*", "ISO9001*"])
    expect(outcome.locator(".skipped-plans")).to_contain_text("以下审核任务未签到")
    expect(outcome.locator(".skipped-plans li")).to_have_text(re.compile(r"ISO14001\*\s*您不在该审核组"))
    assert sorted(e["plan_id"] for e in recorded(data)) == sorted([qms, ohsms])


def test_r3_another_member_sees_the_plan_checked_in_by_the_first(page, data, three_plans, browser, browser_context_args):
    qms, _, _ = three_plans["plans"]
    log_in(page, three_plans["zhang"])
    open_check_page(page, qms).get_by_role("button", name="确认并签到").click()
    expect(page.locator("#check-outcome")).to_contain_text("签到成功")

    other_phone = browser.new_context(**browser_context_args)
    try:
        other = other_phone.new_page()
        log_in(other, three_plans["li"])
        card = other.locator(f"#plan-{qms}")
        expect(card.locator(".state")).to_have_text("已签到")
        expect(card).to_contain_text(re.compile(r"签到：张三，\d{4}-\d\d-\d\d \d\d:\d\d"))
        expect(card.locator(".action-in .button")).to_have_attribute("aria-disabled", "true")
        expect(card.locator(".action-in .why")).to_contain_text("已由张三于")
    finally:
        other_phone.close()


def test_r6_check_out_refused_before_the_last_day_shows_a_grey_button_and_why(page, data):
    with data as f:
        me = f.auditor(name="张三")
        plan = f.plan([me])  # ends tomorrow
        plan_id = plan.id
        db.session.commit()
        checkin.check(me, plan_id, "in", {"device_lat": str(SITE.lat), "device_lon": str(SITE.lon)},
                      clock.now())
        phone = me.phone
    log_in(page, phone)
    card = page.locator(f"#plan-{plan_id}")
    expect(card.locator(".action-out .button.disabled")).to_have_text("签退")
    expect(card.locator(".action-out .why")).to_contain_text("仅在审核结束当日才能签退")

    # The page has the form, closed until the last day on the phone's clock (a copy kept on
    # the phone opens it then, offline): the button stays grey with the reason today.
    page.goto(f"/plans/{plan_id}/checkout")
    expect(page.locator("#map")).to_have_attribute("data-geo", "ready")
    expect(page.get_by_role("button", name="签退")).to_be_disabled()
    expect(page.locator("#check-form .why")).to_contain_text("仅在审核结束当日才能签退")
    expect(page.locator("form[data-check-form]")).to_have_attribute("data-closed", "")


def test_r16_a_plan_of_another_team_is_not_found(page, data):
    with data as f:
        me, other = f.auditor(), f.auditor()
        theirs, phone = f.plan([other]).id, me.phone
    log_in(page, phone)
    response = page.goto(f"/plans/{theirs}/checkin")
    assert response.status == 404
    expect(page.get_by_role("alert")).to_have_text("未找到该页面，或您无权查看。")
    assert recorded(data) == []


def test_r5_location_denied_explains_and_keeps_the_button_disabled_until_located(page, data):
    with data as f:
        me = f.auditor()
        plan_id, phone = f.plan([me]).id, me.phone
    page.context.clear_permissions()
    log_in(page, phone)
    page.goto(f"/plans/{plan_id}/checkin")
    # Not yet allowed: the page asks on a tap, not as it opens, and signing waits for it.
    expect(page.locator("#map")).to_have_attribute("data-geo", "waiting")
    expect(page.locator("#geo-status")).to_have_text("点击“获取我的位置”，显示您所在的位置。")
    expect(page.get_by_role("button", name="确认并签到")).to_be_disabled()
    page.get_by_role("button", name="获取我的位置").click()
    expect(page.locator("#map")).to_have_attribute("data-geo", "error")
    expect(page.locator("#geo-status")).to_contain_text("定位权限被拒绝")
    expect(page.get_by_role("button", name="确认并签到")).to_be_disabled()

    page.context.grant_permissions(["geolocation"])
    page.get_by_role("button", name="重新定位").click()
    expect(page.locator("#map")).to_have_attribute("data-geo", "ready")
    expect(page.get_by_role("button", name="确认并签到")).to_be_enabled()
    expect(page.locator("#check-form input[name=device_lat]")).to_have_value(str(SITE.lat))
