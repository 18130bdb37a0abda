"""Notices from the console in Chromium (R14): a manager at a desk writes a Markdown notice
with a list, a link and a file, previews it and publishes it; an auditor on a 390 px phone
sees it rendered and downloads the file; the manager then sees who has read it."""
from __future__ import annotations

import hashlib
import re

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser
from .test_console import VIEWPORTS, fits_the_width, log_in_staff

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
BODY = ("## 现场签到要求\n\n请各位审核员注意：\n\n- 首日到场后**立即签到**\n- 末次会议结束后签退\n\n"
        "详见[认监委网站](https://www.cnca.gov.cn/)。\n<script>alert(1)</script>")


def context_for(browser, live_server, viewport):
    return browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                               **VIEWPORTS[viewport])


def test_r14_a_manager_publishes_a_markdown_notice_an_auditor_reads_it_on_a_phone(browser, live_server, data,
                                                                                 tmp_path):
    with data as f:
        manager = f.staff(role="manager", name="李经理")
        reader = f.auditor(name="赵审核")
        f.auditor(name="钱未读")
        ids = {"manager": manager.phone, "reader": reader.phone}
    dialogs = []

    desk_context = context_for(browser, live_server, "desktop")
    desk = desk_context.new_page()
    desk.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in_staff(desk, ids["manager"], "Staff#pass1")
    desk.get_by_role("link", name="通知", exact=True).click()
    desk.get_by_role("link", name="撰写通知").click()
    desk.get_by_role("textbox", name="标题").fill("关于现场签到的通知")
    desk.get_by_label("Markdown（标题、强调、列表、链接）").check()
    desk.get_by_role("textbox", name="正文").fill(BODY)
    desk.get_by_role("button", name="预览").click()
    preview = desk.locator("#notice-preview")
    expect(preview.get_by_role("heading", name="现场签到要求")).to_be_visible()
    expect(preview.locator("li")).to_have_count(2)
    desk.get_by_label("附件").set_input_files(files=[{"name": "签到说明.pdf", "mimeType": "application/pdf",
                                                     "buffer": PDF}])
    desk.get_by_label("立即发布").check()
    desk.get_by_role("button", name="保存").click()
    expect(desk.get_by_text("通知已发布。")).to_be_visible()
    expect(desk.locator("[data-state]")).to_have_text("已发布")
    expect(desk.locator("[data-readers]")).to_have_text("0 / 2 名审核员")

    # The auditor, on a 390 px phone, opens it from the notices tab.
    phone_context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                        accept_downloads=True, **VIEWPORTS["phone"])
    phone = phone_context.new_page()
    phone.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    login_in_browser(phone, ids["reader"])
    expect(phone.get_by_role("heading", name="今日审核任务")).to_be_visible()
    phone.locator(".bottom-nav-item", has_text="通知").click()
    phone.locator(".notice-row", has_text="关于现场签到的通知").click()
    expect(phone.get_by_role("heading", name="关于现场签到的通知")).to_be_visible()
    body = phone.locator(".notice-body")
    expect(body.get_by_role("heading", name="现场签到要求")).to_be_visible()
    expect(body.locator("li")).to_have_text(["首日到场后立即签到", "末次会议结束后签退"])
    expect(body.locator("strong")).to_have_text("立即签到")
    link = body.get_by_role("link", name="认监委网站")
    expect(link).to_have_attribute("href", "https://www.cnca.gov.cn/")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(body).to_contain_text("<script>alert(1)</script>")  # shown as text, never run
    assert fits_the_width(phone)
    with phone.expect_download() as info:
        phone.get_by_role("link", name="签到说明.pdf").click()
    saved = tmp_path / "saved.pdf"
    info.value.save_as(saved)
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == hashlib.sha256(PDF).hexdigest()

    # Back at the desk: who has read it, and who has not.
    desk.reload()
    expect(desk.locator("[data-readers]")).to_have_text("1 / 2 名审核员")
    expect(desk.locator('tr[data-read="yes"]')).to_contain_text("赵审核")
    expect(desk.locator('tr[data-read="no"]')).to_contain_text("钱未读")
    desk.get_by_role("link", name="未读", exact=True).click()
    expect(desk.locator("#notice-receipts tr[data-auditor]")).to_have_count(1)
    expect(desk).to_have_url(re.compile(r"which=unread"))
    desk.set_viewport_size({"width": 390, "height": 844})  # the console's page stacked on a phone
    expect(desk.locator('tr[data-read="no"] td').first).to_be_visible()
    assert fits_the_width(desk)
    assert dialogs == []
    desk_context.close()
    phone_context.close()
