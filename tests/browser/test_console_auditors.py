"""The body's auditors in Chromium on a desktop (R18): a staff member finds an auditor,
disables them; the auditor's open session ends, their login is refused with the reason,
and their team place and past record stay on the plan page, marked."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser
from .test_console import VIEWPORTS, log_in_staff

pytestmark = pytest.mark.browser


def context_for(browser, live_server, viewport):
    return browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                               **VIEWPORTS[viewport])


def test_r18_disabling_an_auditor_refuses_their_login_and_keeps_their_records(browser, live_server, data):
    with data as f:
        from checkin_pwa.extensions import db
        from checkin_pwa.models import CheckEvent

        admin = f.staff(role="admin", name="王管理")
        person = f.auditor(name="钱停用")
        mate = f.auditor(name="孙同事")
        plan = f.plan([person, mate])
        site = plan.sites[0]
        db.session.add(CheckEvent(plan_id=plan.id, kind="in", signer_id=person.id, device_lat=site.lat or 41.1,
                                  device_lon=site.lon or 126.1, chosen_lat=site.lat or 41.1,
                                  chosen_lon=site.lon or 126.1, nearest_site_id=site.id, nearest_site_distance_m=0.0))
        ids = {"admin": admin.phone, "person": person.phone, "mate": mate.phone, "plan": plan.id}

    # The auditor is logged in on their phone.
    phone_context = context_for(browser, live_server, "phone")
    phone = phone_context.new_page()
    login_in_browser(phone, ids["person"])
    expect(phone).to_have_url(f"{live_server.url}/")

    # A staff member at a desk finds them by name and disables them.
    desk_context = context_for(browser, live_server, "desktop")
    desk = desk_context.new_page()
    log_in_staff(desk, ids["admin"], "Staff#pass1")
    desk.get_by_role("link", name="审核员").click()
    expect(desk.get_by_role("heading", name="审核员")).to_be_visible()
    desk.get_by_label("查询").fill("钱停用")
    expect(desk.locator("#auditor-list tr[data-auditor]")).to_have_count(1)
    desk.get_by_role("link", name="钱停用").click()
    expect(desk.locator("[data-state]")).to_have_text("正常")
    desk.get_by_role("button", name="停用").click()
    expect(desk.get_by_text("该审核员已停用")).to_be_visible()
    expect(desk.locator("[data-state]")).to_have_text("已停用")
    desk.get_by_role("link", name="返回审核员列表").click()
    desk.get_by_label("状态").select_option(label="已停用")
    expect(desk.locator("#auditor-list tr[data-auditor]")).to_have_count(1)
    expect(desk.locator("#auditor-list")).to_contain_text("钱停用")

    # The phone's session has ended, and logging in again is refused with the reason.
    phone.reload()
    expect(phone).to_have_url(re.compile(r"/login"))
    login_in_browser(phone, ids["person"])
    expect(phone.get_by_role("alert")).to_contain_text("该账号已被认证机构停用")
    expect(phone).to_have_url(re.compile(r"/login"))

    # A teammate still sees them on the team, marked, and their check-in record as it was.
    mate_context = context_for(browser, live_server, "phone")
    mate_page = mate_context.new_page()
    login_in_browser(mate_page, ids["mate"])
    expect(mate_page).to_have_url(f"{live_server.url}/")
    mate_page.goto(f"/plans/{ids['plan']}")
    expect(mate_page.locator(".team")).to_contain_text("钱停用（已停用）")
    expect(mate_page.locator(".record-signer").first).to_have_text("钱停用")
    for context in (phone_context, desk_context, mate_context):
        context.close()
