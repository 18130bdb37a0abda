"""A plan changed before it starts (R19), in Chromium: a staff member at a desk moves the
start on the console; the team member's phone then shows 计划已变更 with the new start on
today's card and on the plan page."""
from __future__ import annotations

import datetime as dt

import pyotp
import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser
from ..factories import SHANGHAI, STAFF_SECRET
from .test_console import log_in_with_password
from .test_console_auditors import context_for

pytestmark = pytest.mark.browser


def later_today() -> dt.datetime:
    """A start still ahead on today's date (Beijing): in an hour, or just before midnight."""
    now = dt.datetime.now(SHANGHAI).replace(second=0, microsecond=0)
    return min(now + dt.timedelta(hours=1), now.replace(hour=23, minute=58))


def test_r19_a_plan_changed_on_the_console_shows_changed_on_the_team_members_phone(browser, live_server, data):
    start = later_today()
    new_start = start.replace(minute=59) if start.hour == 23 else start + dt.timedelta(minutes=30)
    with data as f:
        manager = f.staff(role="manager", name="李审核")
        member = f.auditor(name="周组员")
        plan = f.plan([member], start=start, end=start + dt.timedelta(days=1))
        ids = {"manager": manager.phone, "member": member.phone, "plan": plan.id}

    # The team member has today's task on the phone, unchanged so far.
    phone_context = context_for(browser, live_server, "phone")
    phone = phone_context.new_page()
    login_in_browser(phone, ids["member"])
    card = phone.locator(f"#plan-{ids['plan']}")
    expect(card).to_contain_text(start.strftime("%Y-%m-%d %H:%M"))
    expect(card.locator(".plan-change")).to_have_count(0)

    # At a desk, an audit manager moves the start.
    desk_context = context_for(browser, live_server, "desktop")
    desk = desk_context.new_page()
    log_in_with_password(desk, ids["manager"], "Staff#pass1")
    desk.get_by_label("验证码").fill(pyotp.TOTP(STAFF_SECRET).now())
    desk.get_by_role("button", name="登录").click()
    desk.goto(f"/admin/plans/{ids['plan']}")
    expect(desk.get_by_text("计划导入后没有变更。")).to_be_visible()
    desk.get_by_role("link", name="修改计划").click()
    desk.get_by_label("开始时间").fill(new_start.strftime("%Y-%m-%dT%H:%M"))
    desk.get_by_role("button", name="保存修改").click()
    expect(desk.get_by_text("计划已修改，审核组成员会看到变更内容。")).to_be_visible()
    row = desk.locator("#plan-history .history-row")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("李审核")
    expect(row.locator(".change-start")).to_contain_text(
        f"{start.strftime('%Y-%m-%d %H:%M')} → {new_start.strftime('%H:%M')}")

    # The phone shows the change, with the new start, on today's card and the plan page.
    phone.reload()
    notice = card.locator(".plan-change")
    expect(notice).to_contain_text("计划已变更")
    expect(notice.locator(".change-start")).to_contain_text(
        f"开始时间 {start.strftime('%Y-%m-%d %H:%M')} → {new_start.strftime('%H:%M')}")
    expect(card).to_contain_text(new_start.strftime("%Y-%m-%d %H:%M"))
    card.get_by_role("link", name=plan_name(card)).click()
    expect(phone.locator("#plan-facts .plan-change")).to_contain_text("计划已变更")
    expect(phone.locator(".audit-time")).to_contain_text(new_start.strftime("%Y-%m-%d %H:%M"))
    for context in (phone_context, desk_context):
        context.close()


def plan_name(card) -> str:
    return card.locator("h2.enterprise a").inner_text()
