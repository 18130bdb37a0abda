"""R1 in the phone's browser (zh-CN): first login with the initial password, then the
forced change of it before anything else."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser
from ..factories import PASSWORD

pytestmark = pytest.mark.browser


def test_r1_first_login_forces_a_password_change_in_the_phone_browser(page, data, live_server):
    with data as f:
        phone = f.auditor(phone="13912345678", must_change=True).phone

    page.goto("/login")
    expect(page.get_by_role("heading", name="认证到")).to_be_visible()
    expect(page.locator("input[name=phone]")).to_have_attribute("inputmode", "numeric")

    login_in_browser(page, phone)
    expect(page).to_have_url(re.compile(r"/password$"))
    expect(page.get_by_role("heading", name="首次登录，请修改初始密码")).to_be_visible()

    # Anything else sends the auditor back here until the password is changed.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/password$"))

    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill("password1")
    page.get_by_label("确认新密码").fill("password1")
    page.get_by_role("button", name="修改密码").click()
    expect(page.get_by_text("密码须包含符号，如 # @ ! $。")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/password$"))

    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill("Audit#2026")
    page.get_by_label("确认新密码").fill("Audit#2026")
    page.get_by_role("button", name="修改密码").click()
    expect(page).to_have_url(f"{live_server.url}/")


def test_r1_wrong_password_shows_the_generic_message_in_chinese(page, data):
    with data as f:
        phone = f.auditor().phone
    login_in_browser(page, phone, "Wrong#pass1")
    expect(page.get_by_role("alert")).to_have_text("手机号或密码错误。")
    expect(page).to_have_url(re.compile(r"/login$"))
