"""A plan changed before it starts (R19), in Chromium: a staff member at a desk moves the
start on the console; the team member's phone then shows 计划已变更 with the new start on
today's card and on the plan page, also in the copy it keeps for use without a network."""
from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser
from ..factories import local_today
from .test_console import fits_the_width, log_in_staff
from .test_console_auditors import context_for
from .test_offline_outbox import controlled
from .test_offline_today import KEEP, server_clock  # noqa: F401  (server_clock is a fixture)

pytestmark = pytest.mark.browser


def on_a_future_day(server_clock, *contexts) -> dt.datetime:  # noqa: F811
    """The audit's day is tomorrow (Beijing), whatever the time now; the story happens on that
    day at 09:00 on the server's clock and on the phones' and desks' clocks. Returns the
    plan's start, 10:00 that day: an hour ahead on every clock, and ahead of the real one."""
    morning = local_today(1, 9, 0)
    server_clock.set(morning)
    for context in contexts:
        context.clock.install(time=morning)
    return local_today(1, 10, 0)


def test_r19_a_plan_changed_on_the_console_shows_changed_on_the_team_members_phone(
        browser, live_server, data, server_clock):  # noqa: F811
    phone_context = context_for(browser, live_server, "phone")
    desk_context = context_for(browser, live_server, "desktop")
    start = on_a_future_day(server_clock, phone_context, desk_context)
    new_start = start + dt.timedelta(minutes=30)
    with data as f:
        manager = f.staff(role="manager", name="李审核")
        member = f.auditor(name="周组员")
        plan = f.plan([member], start=start, end=start + dt.timedelta(days=1))
        ids = {"manager": manager.phone, "member": member.phone, "plan": plan.id}

    # The team member has today's task on the phone, unchanged so far.
    phone = phone_context.new_page()
    login_in_browser(phone, ids["member"])
    card = phone.locator(f"#plan-{ids['plan']}")
    expect(card).to_contain_text(start.strftime("%Y-%m-%d %H:%M"))
    expect(card.locator(".plan-change")).to_have_count(0)

    # At a desk, an audit manager moves the start.
    desk = desk_context.new_page()
    log_in_staff(desk, ids["manager"], "Staff#pass1")
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

    # The copy kept on the phone for use without a network says so too.
    phone.goto("/")
    expect(phone.locator("#offline-ready")).to_contain_text("今日任务已保存到本机", timeout=KEEP)
    controlled(phone)
    phone_context.set_offline(True)
    phone.goto(f"/plans/{ids['plan']}")
    expect(phone.locator("#offline-banner")).to_be_visible()
    expect(phone.locator("#plan-facts .plan-change .change-start")).to_contain_text(new_start.strftime("%H:%M"))
    phone_context.set_offline(False)
    for context in (phone_context, desk_context):
        context.close()


def plan_name(card) -> str:
    return card.locator("h2.enterprise a").inner_text()


def test_r19_a_plan_cancelled_from_a_phone_sized_console_shows_cancelled_with_the_reason(
        browser, live_server, data, server_clock):  # noqa: F811
    small_context = context_for(browser, live_server, "phone")
    phone_context = context_for(browser, live_server, "phone")
    start = on_a_future_day(server_clock, small_context, phone_context)
    with data as f:
        manager = f.staff(role="manager", name="李审核")
        member = f.auditor(name="周组员")
        plan = f.plan([member], start=start, end=start + dt.timedelta(days=1))
        ids = {"manager": manager.phone, "member": member.phone, "plan": plan.id}

    small = small_context.new_page()
    log_in_staff(small, ids["manager"], "Staff#pass1")
    small.goto(f"/admin/plans/{ids['plan']}/edit")
    expect(small.get_by_role("heading", name="修改计划")).to_be_visible()
    assert fits_the_width(small)
    small.goto(f"/admin/plans/{ids['plan']}")
    small.get_by_role("link", name="取消计划").click()
    # The cancel page first: measured during the navigation, the width is the old page's,
    # or there is no document to measure yet.
    expect(small.get_by_label("原因（审核组成员可见）")).to_be_visible()
    assert fits_the_width(small)
    small.get_by_role("button", name="取消计划").click()
    expect(small.locator("#reason-errors")).to_contain_text("不能为空")
    small.get_by_label("原因（审核组成员可见）").fill("企业停产整顿")
    small.get_by_role("button", name="取消计划").click()
    expect(small.get_by_text("计划已取消，审核组成员会看到取消及其原因。")).to_be_visible()
    expect(small.locator("#plan-history .history-row")).to_contain_text("企业停产整顿")
    assert fits_the_width(small)

    phone = phone_context.new_page()
    login_in_browser(phone, ids["member"])
    card = phone.locator(f"#plan-{ids['plan']}")
    expect(card.locator(".plan-change-cancelled")).to_contain_text("已取消")
    expect(card.locator(".plan-change-reason")).to_have_text("原因：企业停产整顿")
    expect(card.get_by_role("link", name="签到")).to_have_count(0)
    for context in (small_context, phone_context):
        context.close()
