"""The management end in Chromium, on a desktop and on a 390 px phone: the first staff
login (forced password change, TOTP set up from the QR page's key, recovery codes), and
another body's rows answering 404 (R16, R18)."""
from __future__ import annotations

import re

import pyotp
import pytest
from playwright.sync_api import expect

from ..factories import STAFF_SECRET

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}, "is_mobile": False, "has_touch": False},
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True},
}


@pytest.fixture(params=["desktop", "phone"])
def console_page(request, browser, live_server):
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  **VIEWPORTS[request.param])
    page = context.new_page()
    yield page
    context.close()


def fits_the_width(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth + 1")


def log_in_with_password(page, phone, password):
    page.goto("/admin/login")
    page.get_by_label("手机号").fill(phone)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="下一步").click()


def log_in_staff(page, phone, password):
    """Password, then the second factor's code now: a staff member (STAFF_SECRET) on the console."""
    log_in_with_password(page, phone, password)
    page.get_by_label("验证码").fill(pyotp.TOTP(STAFF_SECRET).now())
    page.get_by_role("button", name="登录").click()


def test_r18_first_staff_login_changes_the_password_and_sets_up_totp(console_page, data):
    page = console_page
    with data as f:
        person = f.staff(must_change=True, totp_secret=None)
        phone = person.phone
    log_in_with_password(page, phone, "Staff#pass1")
    expect(page.get_by_role("heading", name="修改初始密码")).to_be_visible()
    # Any other console page leads back here.
    page.goto("/admin/staff")
    expect(page.get_by_role("heading", name="修改初始密码")).to_be_visible()
    page.get_by_label("当前密码").fill("Staff#pass1")
    page.get_by_label("新密码", exact=True).fill("Desk#pass2026")
    page.get_by_label("确认新密码").fill("Desk#pass2026")
    page.get_by_role("button", name="修改密码").click()

    expect(page.get_by_role("heading", name="设置第二因素")).to_be_visible()
    qr = page.locator("figure.qr svg")
    expect(qr).to_be_visible()
    assert qr.bounding_box()["width"] >= 150
    secret = page.locator("[data-secret]").inner_text().replace(" ", "")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    assert fits_the_width(page)
    page.get_by_label("应用显示的验证码").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="确认").click()

    expect(page.get_by_role("heading", name="恢复码")).to_be_visible()
    expect(page.locator(".recovery-codes code")).to_have_count(10)
    page.get_by_role("link", name="已保存，继续").click()
    expect(page.get_by_role("heading", name="北京某某认证中心有限公司")).to_be_visible()
    expect(page.get_by_text("尚未填写机构联系人")).to_be_visible()
    assert fits_the_width(page)

    # The next login asks for the app's code (the one just used is spent: the next step's).
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    log_in_with_password(page, phone, "Desk#pass2026")
    expect(page.get_by_role("heading", name="第二因素验证")).to_be_visible()
    page.get_by_label("验证码").fill("000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_text("验证码不正确，或已使用过")).to_be_visible()
    import time

    page.get_by_label("验证码").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("link", name="操作日志")).to_be_visible()


def test_r16_another_bodys_staff_and_log_rows_are_not_found(console_page, data):
    page = console_page
    with data as f:
        from checkin_pwa.extensions import db
        from checkin_pwa.models import AuditLogEntry
        from checkin_pwa.services import audit

        admin = f.staff(role="admin")
        other = f.agency(code="CNCA-R-2099-001", name="其他认证机构")
        stranger = f.staff(other, name="外人")
        foreign = audit.record(audit.actor_for(stranger, "10.1.1.1"), "logout")
        own = audit.record(audit.actor_for(admin, "10.1.1.2"), "logout")
        db.session.flush()
        ids = {"admin_phone": admin.phone, "stranger": stranger.id, "foreign": foreign.id, "own": own.id,
               "own_staff": admin.id}
        assert isinstance(foreign, AuditLogEntry)
    log_in_staff(page, ids["admin_phone"], "Staff#pass1")
    expect(page.get_by_role("link", name="操作日志")).to_be_visible()

    page.get_by_role("link", name="操作日志").click()
    expect(page.get_by_role("heading", name="操作日志")).to_be_visible()
    expect(page.get_by_text("10.1.1.2")).to_be_visible()
    expect(page.get_by_text("10.1.1.1")).to_have_count(0)
    assert fits_the_width(page)

    for path in (f"/admin/log/{ids['foreign']}", f"/admin/staff/{ids['stranger']}"):
        answer = page.goto(path)
        assert answer.status == 404, path
        expect(page.get_by_text("未找到该页面，或您无权查看")).to_be_visible()
    assert page.goto(f"/admin/log/{ids['own']}").status == 200
    assert page.goto(f"/admin/staff/{ids['own_staff']}").status == 200
