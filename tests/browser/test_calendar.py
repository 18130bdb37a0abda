"""R12 in the phone's browser: the month with a red `!`, a day's plans listed below it
without a page load, another month through htmx, and an explanation written from there."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from checkin_pwa.extensions import db
from checkin_pwa.models import Explanation

from ..conftest import login_in_browser
from ..helpers import act_the_moment_it_appears

pytestmark = pytest.mark.browser
SHANGHAI = ZoneInfo("Asia/Shanghai")


def month_shift(months: int) -> dt.date:
    """The first day of the month `months` from this one (Shanghai)."""
    today = dt.datetime.now(SHANGHAI).date()
    index = today.year * 12 + today.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def open_calendar(page, phone):
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    page.get_by_role("link", name="日历").click()
    expect(page.get_by_role("heading", name="审核日历")).to_be_visible()
    # The heading shows before the deferred scripts run; a tap before htmx has bound the
    # links is a plain page load (as it is for a person on a slow phone), not what these
    # tests are about.
    page.wait_for_load_state("load")
    # Survives only as long as the page is not loaded again.
    page.evaluate("window.__samePage = 'yes'")


def next_month_plan_on_the_fifth(page, data) -> tuple[dt.date, dt.date]:
    """An auditor with a plan at 下月的企业 on the fifth of next month, on this month's
    calendar: (next month's first day, its fifth)."""
    month = month_shift(1)
    fifth = month.replace(day=5)
    with data as f:
        me = f.auditor()
        f.plan([me], company=f.enterprise("下月的企业"), start=at(fifth, 8, 30), end=at(fifth, 11, 30))
        phone = me.phone
    open_calendar(page, phone)
    return month, fifth


def still_same_page(page) -> bool:
    return page.evaluate("window.__samePage") == "yes"


def test_r12_red_mark_day_list_and_an_explanation_written_from_the_calendar(page, data, live_server):
    month = month_shift(-1)  # wholly past: its audits have ended
    tenth, eleventh, twelfth = (month.replace(day=n) for n in (10, 11, 12))
    with data as f:
        me = f.auditor(name="张三")
        plan = f.plan([me], company=f.enterprise("大连某某有限公司"), start=at(tenth, 8, 30), end=at(eleventh, 12, 0))
        phone, plan_id = me.phone, plan.id
    open_calendar(page, phone)

    page.get_by_role("link", name="上个月").click()
    expect(page).to_have_url(re.compile(rf"/calendar/{month.year}/{month.month}$"))
    expect(page.locator("#calendar-title")).to_have_text(f"{month.year}年{month.month}月")
    day = page.locator(f"#day-{tenth.isoformat()}")
    expect(day.locator(".bang")).to_be_visible()
    expect(page.locator(f"#day-{eleventh.isoformat()} .bang")).to_be_visible()
    expect(page.locator(f"#day-{twelfth.isoformat()} .bang")).to_have_count(0)
    expect(page.locator(".month-grid .bang")).to_have_count(2)
    expect(day).to_have_attribute("aria-label", re.compile("1 个审核计划.*有异常"))
    assert still_same_page(page)

    day.click()
    listing = page.locator("#calendar-day")
    expect(listing.get_by_role("heading", name=f"{tenth.isoformat()} 审核计划")).to_be_visible()
    expect(listing.get_by_role("link", name="大连某某有限公司")).to_be_visible()
    expect(listing).to_contain_text("未签到：缺少签到和签退记录")
    expect(page).to_have_url(re.compile(rf"\?day={tenth.isoformat()}$"))
    assert still_same_page(page)

    listing.get_by_role("link", name="异常说明").click()
    expect(page).to_have_url(re.compile(rf"/plans/{plan_id}/explain$"))
    page.locator("textarea[name=text]").fill("现场为保密场所，禁止拍照。")
    page.get_by_role("button", name="提交异常说明").click()
    expect(page.locator("#explanations")).to_contain_text("现场为保密场所，禁止拍照。")
    with live_server.app.app_context():
        texts = db.session.scalars(db.select(Explanation.text).filter_by(plan_id=plan_id)).all()
    assert texts == ["现场为保密场所，禁止拍照。"]

    # Back in the calendar the day shows the explanation with its count.
    page.goto(f"/calendar/{month.year}/{month.month}?day={tenth.isoformat()}")
    page.locator("#calendar-day").get_by_text("异常说明 1 条").click()
    expect(page.locator("#calendar-day .explanation-text")).to_have_text("现场为保密场所，禁止拍照。")


def test_r12_a_day_tapped_the_moment_the_month_appears_opens_in_place(page, data):
    # The new month's days come in with the answer; a tap at once must open the day by htmx
    # (the page stays, the focus stays on the day), not load the whole page.
    month, fifth = next_month_plan_on_the_fifth(page, data)
    act_the_moment_it_appears(page, f"#day-{fifth.isoformat()}", "el.focus(); el.click();")
    page.get_by_role("link", name="下个月").click()
    expect(page.locator("#calendar-day").get_by_role("link", name="下月的企业")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/calendar/{month.year}/{month.month}\?day={fifth.isoformat()}$"))
    expect(page.locator(f"#day-{fifth.isoformat()}")).to_be_focused()
    assert still_same_page(page)


def test_r12_next_month_by_htmx_and_a_day_opened_with_the_keyboard(page, data):
    month, fifth = next_month_plan_on_the_fifth(page, data)
    today = dt.datetime.now(SHANGHAI).date()
    expect(page.locator(f"#day-{today.isoformat()}")).to_have_class(re.compile(r"\btoday\b"))

    page.get_by_role("link", name="下个月").click()
    expect(page).to_have_url(re.compile(rf"/calendar/{month.year}/{month.month}$"))
    day = page.locator(f"#day-{fifth.isoformat()}")
    expect(day).to_have_class(re.compile(r"\btype-morning\b"))
    expect(day).to_have_attribute("aria-label", re.compile("上午"))
    expect(day.locator(".bang")).to_have_count(0)

    day.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#calendar-day").get_by_role("link", name="下月的企业")).to_be_visible()
    expect(page.locator("#calendar-day")).to_contain_text("正常")
    # htmx puts the focus back on the day it replaced, so the keyboard stays in place.
    expect(page.locator(f"#day-{fifth.isoformat()}")).to_be_focused()
    assert still_same_page(page)

    page.go_back()
    expect(page).to_have_url(re.compile(rf"/calendar/{month.year}/{month.month}$"))


def test_r12_a_tapped_day_brings_its_plans_into_view_and_keeps_the_focus_on_the_day(page, data):
    month = month_shift(1)
    ninth, tenth = month.replace(day=9), month.replace(day=10)
    with data as f:
        me = f.auditor()
        for name, hours in (("上午的企业", (8, 11)), ("下午的企业", (13, 17))):
            f.plan([me], company=f.enterprise(name), start=at(ninth, hours[0]), end=at(ninth, hours[1]))
        for n in range(1, 5):
            f.plan([me], company=f.enterprise(f"第十天的企业{n}"), start=at(tenth, 8 + n), end=at(tenth, 9 + n))
        phone = me.phone
    open_calendar(page, phone)
    page.goto(f"/calendar/{month.year}/{month.month}")
    plans = page.locator("#calendar-day")
    top_bar_bottom = "document.querySelector('.topbar').getBoundingClientRect().bottom"
    bottom_nav_top = "document.querySelector('.bottom-nav').getBoundingClientRect().top"

    # A list that fits on the screen: all of it is shown, between the top bar and the bottom
    # navigation; the day keeps the focus.
    page.locator(f"#day-{ninth.isoformat()}").click()
    expect(plans.locator("article.day-plan")).to_have_count(2)
    expect(plans).to_be_in_viewport(ratio=1)
    page.wait_for_function(f"""() => {{ const r = document.querySelector('#calendar-day').getBoundingClientRect();
                                       return r.top >= {top_bar_bottom} && r.bottom <= {bottom_nav_top}; }}""")
    expect(page.locator(f"#day-{ninth.isoformat()}")).to_be_focused()

    # Longer than the screen, opened with the keyboard from the top of the page: the list
    # starts just below the top bar with its first plan whole, and the focus stays on the day.
    page.evaluate("window.scrollTo(0, 0)")
    page.locator(f"#day-{tenth.isoformat()}").focus()
    page.keyboard.press("Enter")
    expect(plans.locator("article.day-plan")).to_have_count(4)
    expect(plans.locator("article.day-plan").first).to_be_in_viewport(ratio=1)
    page.wait_for_function(f"""() => {{ const h = document.querySelector('#calendar-day h2').getBoundingClientRect();
                                       return h.top >= {top_bar_bottom} && h.top < {top_bar_bottom} + 40; }}""")
    expect(page.locator(f"#day-{tenth.isoformat()}")).to_be_focused()
