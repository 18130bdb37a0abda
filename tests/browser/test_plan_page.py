"""The plan page (R9) and explanations (R10) in a phone browser: the map with the planned
site and the signed point and the distance in words; an explanation typed with HTML, hx-
attributes and script is shown as text and nothing runs or is requested."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from checkin_pwa.domain import clock, geo
from checkin_pwa.extensions import db
from checkin_pwa.models import Explanation
from checkin_pwa.services import checkin

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser

FAR = geo.Point(41.2000, 126.1865)  # ~8.3 km north of the planned site


def ms(moment: dt.datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def signed_plan(data):
    """A plan of 张三 that started yesterday; the team checked in 8 km from the site."""
    with data as f:
        me = f.auditor(name="张三")
        plan = f.plan([me], start=f.local_today(-1, 8, 30), end=f.local_today(1, 17))
        db.session.commit()
        then = clock.now() - dt.timedelta(hours=1)
        fields = {"device_lat": repr(FAR.lat), "device_lon": repr(FAR.lon), "device_accuracy": "15",
                  "device_position_time": ms(then), "device_time": ms(then), "confirm": "1"}
        assert isinstance(checkin.check(me, plan.id, "in", fields, then), checkin.Signed)
        return me.phone, plan.id


def explanations(data, plan_id: int) -> list[tuple[str, bool]]:
    with data:
        rows = db.session.scalars(select(Explanation).where(Explanation.plan_id == plan_id).order_by(Explanation.id))
        return [(row.text, row.queued_offline) for row in rows]


def test_r9_plan_page_map_shows_the_site_and_the_signed_point_with_the_distance(page, data):
    phone, plan_id = signed_plan(data)
    login_in_browser(page, phone)
    page.locator(f"#plan-{plan_id} h2.enterprise a").click()  # from today's card
    expect(page).to_have_url(re.compile(rf"/plans/{plan_id}$"))
    expect(page.get_by_role("heading", name="审核计划")).to_be_visible()
    plan_map = page.locator("#plan-map")
    expect(plan_map).to_have_attribute("data-ready", "1")
    expect(plan_map).to_have_attribute("data-sites-drawn", "1")
    expect(plan_map).to_have_attribute("data-points-drawn", "1")
    expect(plan_map.locator("path.site-marker")).to_have_count(1)
    expect(plan_map.locator("path.point-marker.point-in")).to_have_count(1)
    box = plan_map.bounding_box()
    assert box["width"] <= 390 and box["height"] >= 180  # a small map on the phone
    # Both markers are inside the visible map (fitted to the two points).
    for marker in (plan_map.locator("path.site-marker"), plan_map.locator("path.point-marker")):
        m = marker.bounding_box()
        assert box["x"] <= m["x"] and m["x"] + m["width"] <= box["x"] + box["width"] + 1
        assert box["y"] <= m["y"] and m["y"] + m["height"] <= box["y"] + box["height"] + 1
    record = page.locator("#record")
    expect(record).to_contain_text("实际位置：41.20000, 126.18650")
    expect(record).to_contain_text(re.compile(r"距审核地址 吉林省集安市工业园区1号（41\.12560, 126\.18650）8\.\d\d 公里"))
    expect(page.locator("#exceptions")).to_contain_text("地点偏差")
    # The page fits the phone: nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 412


def test_r10_an_explanation_with_html_and_script_is_shown_as_text_and_nothing_runs(page, data, live_server):
    phone, plan_id = signed_plan(data)
    requested: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login_in_browser(page, phone)
    page.goto(f"/plans/{plan_id}/explain")
    typed = ('<script>window.pwned = 1; alert("script")</script>'
             '<img src="/probe-img" onerror="window.pwned = 2; alert(\'img\')">'
             '<div hx-get="/probe-hx" hx-trigger="load" hx-target="body">hx</div>'
             '<a href="javascript:alert(3)" hx-post="/logout" hx-trigger="load">link</a>\n第二行')
    page.locator("#explanations textarea[name=text]").fill(typed)
    page.get_by_role("button", name="提交异常说明").click()
    item = page.locator("#explanations .explanation").first
    expect(item).to_contain_text('<script>window.pwned = 1; alert("script")</script>')
    expect(item).to_contain_text('<div hx-get="/probe-hx" hx-trigger="load" hx-target="body">hx</div>')
    expect(item.locator(".explanation-author")).to_have_text("张三")
    expect(page.locator("#explanations [role=status]")).to_have_text("异常说明已提交。")
    assert explanations(data, plan_id) == [(typed, False)]  # exactly as typed

    page.goto(f"/plans/{plan_id}#explanations")  # and on the plan page
    expect(page.locator("#explanations .explanation-text").first).to_contain_text("<img src=\"/probe-img\"")
    page.wait_for_load_state("networkidle")
    for where in ("#explanations .explanation-list",):
        assert page.locator(f"{where} script, {where} img, {where} [hx-get], {where} [hx-post], {where} a").count() == 0
    assert page.evaluate("window.pwned") is None
    assert dialogs == []
    assert not [url for url in requested if "/probe" in url or url.endswith("/logout")]
    expect(page.get_by_role("link", name="我的")).to_be_visible()  # still logged in
