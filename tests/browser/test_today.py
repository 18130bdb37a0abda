"""R2 in the phone's browser: today's tasks as cards, swiped left and right."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser


def three_tasks_today(data):
    with data as f:
        me = f.auditor(name="张三")
        company = f.enterprise("吉林省某某股份有限公司")
        plans = [f.plan([me], company=company, code=code, start=f.local_today(0, hour, 0))
                 for code, hour in (("ISO9001", 8), ("ISO14001", 9), ("ISO45001", 10))]
        return me.phone, [p.id for p in plans]


def open_today(page, phone):
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()


def test_r2_the_next_button_brings_the_second_card_into_view(page, data):
    phone, (first, second, third) = three_tasks_today(data)
    open_today(page, phone)
    controls = page.locator(".carousel-controls")
    expect(controls.locator(".carousel-position")).to_have_text("第 1/3 个")
    expect(page.locator(f"#plan-{first}")).to_be_in_viewport(ratio=0.9)
    expect(page.locator(f"#plan-{second}")).not_to_be_in_viewport()

    page.get_by_role("button", name="下一个任务").click()
    expect(page.locator(f"#plan-{second}")).to_be_in_viewport(ratio=0.9)
    expect(page.locator(f"#plan-{first}")).not_to_be_in_viewport()
    expect(controls.locator(".carousel-position")).to_have_text("第 2/3 个")
    expect(page.locator(f"#plan-{second}").get_by_text("ISO14001")).to_be_visible()

    page.get_by_role("button", name="上一个任务").click()
    expect(page.locator(f"#plan-{first}")).to_be_in_viewport(ratio=0.9)
    expect(page.get_by_role("button", name="上一个任务")).to_be_disabled()


def test_r2_a_touch_swipe_moves_to_the_next_card(page, data):
    phone, (first, second, _) = three_tasks_today(data)
    open_today(page, phone)
    box = page.locator("#task-carousel").bounding_box()
    # A thumb's swipe from right to left, as raw touch events (Playwright has no swipe).
    cdp = page.context.new_cdp_session(page)
    x, y = box["x"] + box["width"] * 0.8, box["y"] + 80
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": x, "y": y}]})
    for step in range(1, 11):
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x - 25 * step, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    expect(page.locator(f"#plan-{second}")).to_be_in_viewport(ratio=0.9)
    expect(page.locator(".carousel-position")).to_have_text("第 2/3 个")


def test_r2_no_task_today_shows_the_message(page, data):
    with data as f:
        phone = f.auditor().phone
    open_today(page, phone)
    expect(page.get_by_text("今日无现场审核任务")).to_be_visible()
    expect(page.locator(".carousel-controls")).to_have_count(0)
