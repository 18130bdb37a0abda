"""API tokens in Chromium: an administrator, with the console inside the body's intranet
page (an iframe that grants no clipboard permission), creates a token, copies it with the
page's button and sees it only once; the API accepts it; after the confirmation the token
is revoked and the API refuses it."""
from __future__ import annotations

import json
import re

import pyotp
import pytest
from playwright.sync_api import expect

from ..factories import STAFF_PASSWORD, STAFF_SECRET
from .test_console import VIEWPORTS
from .test_embedding import intranet  # noqa: F401  (the fixture: a body's page that frames the app)

pytestmark = pytest.mark.browser


def call_api(context, live_server, token):
    from ..api.test_plans_api import example

    return context.request.post(f"{live_server.url}/api/v1/plans", data=json.dumps(example(), ensure_ascii=False),
                                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})


def test_an_admin_creates_copies_uses_and_revokes_a_token_inside_an_intranet_frame(browser, live_server, data, intranet):  # noqa: F811
    with data as f:
        phone = f.staff(role="admin", name="王管理").phone
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai", **VIEWPORTS["desktop"],
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(intranet(live_server.url + "/admin/login", allow=None))
    frame = page.frame_locator("#checkin-app")
    frame.get_by_label("手机号").fill(phone)
    frame.get_by_label("密码").fill(STAFF_PASSWORD)
    frame.get_by_role("button", name="下一步").click()
    frame.get_by_label("验证码").fill(pyotp.TOTP(STAFF_SECRET).now())
    frame.get_by_role("button", name="登录").click()

    frame.get_by_role("link", name="API 令牌").click()
    expect(frame.get_by_role("heading", name="API 令牌")).to_be_visible()
    frame.get_by_role("link", name="创建令牌").click()
    frame.get_by_label("用途").fill("ERP 同步")
    frame.get_by_role("button", name="创建").click()

    expect(frame.get_by_role("heading", name="新的 API 令牌: ERP 同步")).to_be_visible()
    expect(frame.get_by_text("仅显示这一次")).to_be_visible()
    field = frame.locator("[data-token-once]")
    token = field.input_value()
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", token)
    # The frame may not use the Clipboard API (no allow="clipboard-write"): the button
    # copies all the same.
    frame.get_by_role("button", name="复制").click()
    expect(frame.locator("[data-copy-status]")).to_have_text("已复制。")
    assert page.evaluate("navigator.clipboard.readText()") == token

    assert call_api(context, live_server, token).status == 200

    frame.get_by_role("link", name="已保存，完成").click()
    row = frame.locator("tr[data-token]", has_text="ERP 同步")
    expect(row).to_contain_text("王管理")
    expect(row).to_contain_text("127.0.0.1")  # its last use, just now
    expect(row.locator("[data-state]")).to_have_text("有效")
    assert token not in frame.locator("body").inner_text()  # never shown again

    row.get_by_role("link", name="吊销").click()
    expect(frame.get_by_text("此操作无法撤销")).to_be_visible()
    frame.get_by_role("button", name="吊销令牌").click()
    expect(frame.get_by_text("令牌“ERP 同步”已吊销")).to_be_visible()
    expect(row.locator("[data-state]")).to_contain_text("已吊销")

    refused = call_api(context, live_server, token)
    assert refused.status == 401 and refused.json()["error"] == "API 令牌无效或已被吊销。"
    assert page.url.startswith("http://127.0.0.1") and "/admin" not in page.url  # all of it in the frame
    context.close()


def test_the_token_pages_fit_a_phone(browser, live_server, data):
    from .test_console import fits_the_width, log_in_staff

    with data as f:
        phone = f.staff(role="admin").phone
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  **VIEWPORTS["phone"])
    page = context.new_page()
    log_in_staff(page, phone, STAFF_PASSWORD)
    page.goto("/admin/tokens/new")
    page.get_by_label("用途").fill("一个相当长的名字：用于和集团总部的计划管理系统每晚同步审核计划")
    page.get_by_role("button", name="创建").click()
    expect(page.locator("[data-token-once]")).to_be_visible()
    assert fits_the_width(page)
    page.get_by_role("link", name="已保存，完成").click()
    expect(page.locator("tr[data-token]")).to_have_count(1)
    assert fits_the_width(page)
    context.close()
