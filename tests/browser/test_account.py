"""R1 in the phone's browser (Pixel 7, zh-CN): forgot password end to end and the change of
login phone, with the codes read from the default SMS backend's log (the live server runs in
this process: a handler on logger "checkin_pwa.sms" sees what gunicorn would print)."""
from __future__ import annotations

import logging
import re

import pytest
from playwright.sync_api import expect

from ..conftest import CHROMIUM, login_in_browser
from ..factories import PASSWORD

pytestmark = pytest.mark.browser

NEW_PASSWORD = "Fresh#pass26"


class SmsLog(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def code_for(self, phone: str) -> str:
        texts = [text for text in self.messages if phone in text]
        assert texts, f"no SMS to {phone} in the log"
        return re.search(r"验证码是(\d{6})", texts[-1]).group(1)


@pytest.fixture
def sms_log():
    logger = logging.getLogger("checkin_pwa.sms")
    handler = SmsLog()
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def _fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_r1_forgot_password_end_to_end_with_the_code_from_the_log(page, data, sms_log, shots):
    with data as f:
        phone = f.auditor(phone="13800000011").phone

    page.goto("/login")
    page.get_by_role("link", name="忘记密码").click()
    expect(page.get_by_role("heading", name="忘记密码")).to_be_visible()
    page.wait_for_function("() => window.htmx !== undefined")
    page.get_by_label("手机号", exact=True).fill(phone)
    button = page.get_by_role("button", name="获取验证码")
    button.click()
    expect(page.get_by_role("status").filter(has_text="如果该手机号已注册，验证码已发送")).to_be_visible()
    # The button counts down and cannot be pressed again meanwhile.
    counting = page.locator("#code-send button")
    expect(counting).to_be_disabled()
    expect(counting).to_have_text(re.compile(r"\d+ 秒后重新获取"))
    assert _fits(page)
    page.screenshot(path=shots / "21-forgot-password.png")

    page.get_by_label("验证码", exact=True).fill(sms_log.code_for(phone))
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="重置密码").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("密码已重置，请使用新密码登录。")).to_be_visible()

    login_in_browser(page, phone, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()


def test_r1_change_phone_refused_with_a_wrong_id_number_then_accepted(page, data, sms_log, live_server, shots):
    with data as f:
        person = f.auditor(name="王五", phone="13800000012")
        person.id_type, person.id_number = "id_card", "22010119800101123X"
        person.agency.phone_change_approval = False  # the body lets a change apply at once (else it waits, R18)
        old_phone = person.phone
    new_phone = "13700000012"

    page.goto("/login")
    page.get_by_role("link", name="旧手机号已不再使用？修改登录手机号").click()
    expect(page.get_by_role("heading", name="修改登录手机号")).to_be_visible()
    page.get_by_label("姓名").fill("王五")
    page.get_by_label("证件类型").select_option(label="身份证")
    page.get_by_label("证件号码").fill("220101198001011234")
    page.get_by_role("button", name="下一步").click()
    expect(page.get_by_role("alert")).to_have_text("姓名、证件类型或证件号码不匹配。")
    expect(page).to_have_url(re.compile(r"/phone/change$"))
    page.screenshot(path=shots / "22-change-phone.png")

    page.get_by_label("证件号码").fill("22010119800101123x")  # lower-case x: the same number
    page.get_by_role("button", name="下一步").click()
    expect(page).to_have_url(re.compile(r"/phone/change/new$"))
    page.wait_for_function("() => window.htmx !== undefined")
    page.get_by_label("新手机号").fill(new_phone)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送至 137****0012")).to_be_visible()
    page.get_by_label("验证码", exact=True).fill(sms_log.code_for(new_phone))
    page.get_by_role("button", name="确认修改").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("修改成功，请使用新手机号登录")).to_be_visible()

    login_in_browser(page, old_phone, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("手机号或密码错误。")
    login_in_browser(page, new_phone, PASSWORD)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()


def test_r1_personal_page_and_change_password_with_a_code(page, data, sms_log, live_server, shots):
    with data as f:
        phone = f.auditor(name="赵六", phone="13800000013").phone
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的").click()
    expect(page.get_by_role("heading", name="个人信息")).to_be_visible()
    expect(page.locator("#me")).to_contain_text("138****0013")
    expect(page.locator("#me .avatar-initials")).to_have_text("赵六")
    assert _fits(page)
    page.get_by_role("link", name="头像上传").click()
    page.set_input_files("input[name=avatar]", "/work/shared/fixtures/photos/DSCN0010.jpg")
    page.get_by_role("button", name="上传").click()
    expect(page.get_by_text("头像已更新。")).to_be_visible()
    avatar = page.locator("#me img.avatar")
    expect(avatar).to_be_visible()  # laid out at its CSS size: the picture itself may still be on its way
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=avatar.element_handle())
    assert page.evaluate("img => img.naturalWidth", avatar.element_handle()) == 256
    page.screenshot(path=shots / "23-me-with-avatar.png")
    page.get_by_role("link", name="修改密码").click()
    page.wait_for_function("() => window.htmx !== undefined")
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("确认新密码").fill(NEW_PASSWORD)
    page.get_by_role("button", name="获取验证码").click()
    expect(page.get_by_text("验证码已发送至 138****0013")).to_be_visible()
    # What was typed is still there: htmx swapped only the button.
    expect(page.get_by_label("当前密码")).to_have_value(PASSWORD)
    page.screenshot(path=shots / "20-change-password.png")
    page.get_by_label("验证码", exact=True).fill(sms_log.code_for(phone))
    page.get_by_label("验证码", exact=True).press("Enter")  # Enter submits the change, not another code
    expect(page).to_have_url(re.compile(r"/me$"))
    expect(page.get_by_text("密码已修改")).to_be_visible()
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    login_in_browser(page, phone, NEW_PASSWORD)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()


def test_r1_log_out_only_on_the_personal_page_as_a_full_width_form(page, data, arrivals):
    with data as f:
        phone = f.auditor(name="钱七", phone="13800000014").phone
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    # Nothing next to the language switch ends the session by a stray tap.
    expect(page.locator(".topbar").get_by_role("link", name="English")).to_be_visible()
    for where in ("/", "/calendar", "/tasks", "/notices"):
        page.goto(where)
        expect(page.get_by_role("button", name="退出登录")).to_have_count(0)
        expect(page.get_by_role("navigation", name="主导航")).to_be_visible()

    page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的").click()
    button = page.get_by_role("button", name="退出登录")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= page.viewport_size["width"] / 2
    # A real form POST with its CSRF token (scripts may ask first before it is sent).
    form = page.locator("form#logout-form")
    expect(form).to_have_attribute("method", "post")
    expect(form).to_have_attribute("action", "/logout")
    expect(form.locator("input[name=csrf_token]")).to_have_count(1)
    button.click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_text("已退出登录")).to_be_visible()
    assert arrivals.count("/logout") == 1
    page.goto("/me")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_r1_closing_and_reopening_the_app_keeps_the_login_until_log_out(playwright, data, live_server, tmp_path):
    """The installed app closed (the browser process ends) and opened again from the home
    screen: the same profile, without its browser-session cookies."""
    with data as f:
        phone = f.auditor(name="孙八", phone="13800000015").phone
    phone_device = {k: v for k, v in playwright.devices["Pixel 7"].items() if k != "default_browser_type"}

    def open_app():
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, base_url=live_server.url,
            locale="zh-CN", timezone_id="Asia/Shanghai", **phone_device)
        return context, (context.pages[0] if context.pages else context.new_page())

    context, page = open_app()
    try:
        login_in_browser(page, phone)
        expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    finally:
        context.close()

    context, page = open_app()
    try:
        page.goto("/")
        expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
        page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的").click()
        page.get_by_role("button", name="退出登录").click()
        expect(page).to_have_url(re.compile(r"/login$"))
    finally:
        context.close()

    context, page = open_app()
    try:
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login"))
        expect(page.locator("input[name=phone]")).to_be_visible()
    finally:
        context.close()
