"""A change of login number held until the body approves it (R18), on a phone and a desk:
the auditor asks for it on the phone and keeps logging in with the old number; a manager
approves it in the console; then only the new number logs in."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser
from .test_account import sms_log  # noqa: F401  (the fixture: codes read off the SMS log)
from .test_console import fits_the_width, log_in_staff
from .test_console_auditors import context_for

pytestmark = pytest.mark.browser


def test_r18_a_phone_change_held_until_approved(browser, live_server, data, sms_log):  # noqa: F811
    with data as f:
        manager = f.staff(role="manager", name="李经理")
        person = f.auditor(name="王换号", phone="13800000021")
        person.id_type, person.id_number = "id_card", "220101198001011234"
        ids = {"manager": manager.phone, "old": person.phone, "new": "13700000021"}

    # On the phone: name and ID, a code to the new number, then the request.
    phone_context = context_for(browser, live_server, "phone")
    phone = phone_context.new_page()
    phone.goto("/login")
    phone.get_by_role("link", name="旧手机号已不再使用？修改登录手机号").click()
    phone.get_by_label("姓名").fill("王换号")
    phone.get_by_label("证件号码").fill("220101198001011234")
    phone.get_by_role("button", name="下一步").click()
    expect(phone).to_have_url(re.compile(r"/phone/change/new$"))
    expect(phone.locator("#approval-note")).to_contain_text("所在认证机构须批准每一次登录手机号的修改")
    phone.wait_for_function("() => window.htmx !== undefined")
    phone.get_by_label("新手机号").fill(ids["new"])
    phone.get_by_role("button", name="获取验证码").click()
    expect(phone.get_by_text("验证码已发送至 137****0021")).to_be_visible()
    phone.get_by_label("验证码", exact=True).fill(sms_log.code_for(ids["new"]))
    phone.get_by_role("button", name="提交申请").click()
    expect(phone).to_have_url(re.compile(r"/login$"))
    expect(phone.get_by_role("status").filter(has_text="正等待所在认证机构审批")).to_contain_text(
        "请继续使用原手机号 138****0021 登录")

    # Meanwhile the new number does not log in; the old one does, and is reminded.
    login_in_browser(phone, ids["new"])
    expect(phone.get_by_role("alert")).to_have_text("手机号或密码错误。")
    login_in_browser(phone, ids["old"])
    expect(phone.get_by_role("heading", name="今日审核任务")).to_be_visible()
    expect(phone.get_by_text("仍在等待所在认证机构审批")).to_be_visible()

    # At a desk: the count in the navigation, the request with both numbers, approve.
    desk_context = context_for(browser, live_server, "desktop")
    desk = desk_context.new_page()
    log_in_staff(desk, ids["manager"], "Staff#pass1")
    expect(desk.locator("#phone-changes-waiting")).to_have_text("1 条登录手机号修改待审批")
    desk.get_by_role("navigation", name="管理端").get_by_role("link", name=re.compile("手机号变更")).click()
    row = desk.locator("tr[data-request]")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("王换号")
    expect(row).to_contain_text(ids["old"])
    expect(row).to_contain_text(ids["new"])
    # The same page stacked on a 390 px phone.
    desk.set_viewport_size({"width": 390, "height": 844})
    expect(row.get_by_role("button", name="批准")).to_be_visible()
    assert fits_the_width(desk)
    desk.set_viewport_size({"width": 1280, "height": 800})
    row.get_by_role("button", name="批准").click()
    expect(desk.get_by_text("已批准：王换号 今后使用 13700000021 登录。")).to_be_visible()
    expect(desk.locator("tr[data-request]")).to_have_count(0)
    expect(desk.locator(".nav-count")).to_have_count(0)

    # On the phone: the old session ended with the old login; the old number is refused,
    # the new one logs in and hears of the approval.
    phone.reload()
    expect(phone).to_have_url(re.compile(r"/login"))
    login_in_browser(phone, ids["old"])
    expect(phone.get_by_role("alert")).to_have_text("手机号或密码错误。")
    login_in_browser(phone, ids["new"])
    expect(phone.get_by_role("heading", name="今日审核任务")).to_be_visible()
    expect(phone.get_by_text("所在认证机构已批准将您的登录手机号修改为 137****0021")).to_be_visible()
    for context in (phone_context, desk_context):
        context.close()
