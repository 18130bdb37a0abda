"""The check-in map on a 390 px phone (R5): the pin moves only when dragged, a moved pin says
how far and can be put back, a finger scrolls the page past the map, and the confirm button
stays in view above the bottom bar. Touches are real touch input (CDP), not mouse clicks."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from checkin_pwa.domain import geo

from ..conftest import PHONE_POSITION, login_in_browser
from ..helpers import wait_until
from .test_checkin_flow import recorded

pytestmark = pytest.mark.browser

SITE = geo.Point(PHONE_POSITION["latitude"], PHONE_POSITION["longitude"])
PHONE_390 = {"width": 390, "height": 664}  # a 390 px phone with its browser bars


@pytest.fixture
def check_page(page, data):
    """The auditor's check-in page on a 390 px wide phone, position found."""
    with data as f:
        me = f.auditor(name="张三")
        plan_id, phone = f.plan([me]).id, me.phone
    page.set_viewport_size(PHONE_390)
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    page.goto(f"/plans/{plan_id}/checkin")
    expect(page.locator("#map")).to_have_attribute("data-geo", "ready")
    return plan_id


def map_in_middle(page) -> None:
    page.evaluate("document.getElementById('map').scrollIntoView({block: 'center'})")


def centre(box) -> tuple[float, float]:
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def thumb_drag(page, start: tuple[float, float], dx: float, dy: float, steps: int = 10) -> None:
    """A finger pressed at `start`, moved by (dx, dy), lifted."""
    cdp = page.context.new_cdp_session(page)
    x, y = start
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for i in range(1, steps + 1):
        cdp.send("Input.dispatchTouchEvent",
                 {"type": "touchMove", "touchPoints": [{"x": x + dx * i / steps, "y": y + dy * i / steps}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def pin_point(page) -> geo.Point:
    map_el = page.locator("#map")
    return geo.Point(float(map_el.get_attribute("data-pin-lat")), float(map_el.get_attribute("data-pin-lon")))


def test_r5_a_tap_on_the_map_leaves_the_pin_where_it_was(page, check_page):
    map_in_middle(page)
    map_el = page.locator("#map")
    # The page hears each tap after the map did: wait for that, then look at the pin.
    page.evaluate("""() => { const m = document.getElementById('map'); m.dataset.taps = '0';
                     m.addEventListener('click', () => { m.dataset.taps = String(+m.dataset.taps + 1); }); }""")
    box = map_el.bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] - 50, box["y"] + 70)  # a thumb, far from the pin
    expect(map_el).to_have_attribute("data-taps", "1")
    page.mouse.click(box["x"] + 60, box["y"] + box["height"] - 60)  # and a click, elsewhere
    expect(map_el).to_have_attribute("data-taps", "2")

    assert pin_point(page) == SITE
    expect(page.locator("#check-form input[name=lat]")).to_have_value(str(SITE.lat))
    expect(page.locator("#pin-moved")).to_be_hidden()


def test_r5_a_dragged_pin_says_how_far_it_moved_and_goes_back_to_the_phone(page, data, check_page):
    map_in_middle(page)
    thumb_drag(page, centre(page.locator(".leaflet-marker-icon").bounding_box()), 70, -50)
    map_el = page.locator("#map")
    expect(map_el).not_to_have_attribute("data-pin-lat", str(SITE.lat))
    moved = page.locator("#pin-moved")
    expect(moved).to_be_visible()
    expect(moved).to_have_text(re.compile(r"^已移动 \d+ 米 · 恢复到手机位置$"))
    metres = int(re.search(r"\d+", moved.inner_text()).group())
    assert metres > 100
    assert metres == pytest.approx(geo.distance_m(SITE, pin_point(page)), abs=3)
    expect(page.locator("#check-form input[name=lat]")).to_have_value(map_el.get_attribute("data-pin-lat"))

    moved.get_by_role("button", name="恢复到手机位置").click()
    expect(map_el).to_have_attribute("data-pin-lat", str(SITE.lat))
    expect(map_el).to_have_attribute("data-pin-lon", str(SITE.lon))
    expect(moved).to_be_hidden()
    expect(page.locator("#check-form input[name=lat]")).to_have_value(str(SITE.lat))

    page.get_by_role("button", name="确认并签到").click()
    expect(page.locator("#check-outcome")).to_contain_text("签到成功")
    (event,) = recorded(data, [check_page])
    assert event["chosen"] == event["device"] == (SITE.lat, SITE.lon)
    assert event["pin_offset_m"] == 0


def covered_check(page, locator):
    """Where the element is on screen, and whether a tap at its centre reaches it."""
    return locator.evaluate("""(el) => {
        const r = el.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
        const hit = document.elementFromPoint(x, y);
        const nav = document.querySelector('.bottom-nav').getBoundingClientRect();
        return {top: r.top, bottom: r.bottom, height: innerHeight, navTop: nav.top,
                reached: Boolean(hit && (hit === el || el.contains(hit)))};
    }""")


@pytest.mark.parametrize("where", ["top", "map", "end"])
def test_r5_the_confirm_button_is_in_view_above_the_bottom_bar_at_390_px(page, check_page, where):
    if where == "map":
        map_in_middle(page)
    elif where == "end":
        page.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    button = page.get_by_role("button", name="确认并签到")
    expect(button).to_be_enabled()
    expect(button).to_be_in_viewport()
    place = covered_check(page, button)
    assert 0 <= place["top"] and place["bottom"] <= place["navTop"] <= place["height"], place
    assert place["reached"], place


def test_r5_a_finger_swiping_over_the_map_scrolls_the_page(page, check_page):
    map_in_middle(page)
    before = page.evaluate("window.scrollY")
    assert before > 150  # room to scroll back up
    box = page.locator("#map").bounding_box()
    # A finger on the map, away from the pin, drawn downwards: the page goes back up.
    thumb_drag(page, (box["x"] + box["width"] - 40, box["y"] + 40), 0, 200, steps=15)
    wait_until(page, lambda: page.evaluate("window.scrollY") < before - 100)
    assert pin_point(page) == SITE  # the swipe moved the page, not the pin
