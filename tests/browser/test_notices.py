"""R14 on a phone: the badge on 通知, a notice opened with its attachment downloaded, and the
badge gone afterwards."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def one_notice(data):
    from checkin_pwa.services import notices

    with data as f:
        me = f.auditor(name="张三")
        notice = notices.create_notice(me.agency, "关于现场签到的通知", "各位审核员：\n请按时签到。",
                                       [("签到说明.pdf", PDF)])
        return me.phone, notice.id


def test_r14_a_notice_opened_from_the_badge_with_its_attachment_downloaded(page, data, tmp_path):
    phone, notice_id = one_notice(data)
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    tab = page.locator(".bottom-nav-item", has_text="通知")
    expect(tab.locator(".nav-badge")).to_have_text("1")

    tab.click()
    expect(page.get_by_role("heading", name="通知公告")).to_be_visible()
    row = page.locator(".notice-row", has_text="关于现场签到的通知")
    expect(row).to_have_class("card notice-row unread")
    expect(row).to_contain_text("未读")
    expect(row).to_contain_text("附件：1")

    row.click()
    expect(page).to_have_url(re.compile(rf"/notices/{notice_id}$"))
    expect(page.get_by_role("heading", name="关于现场签到的通知")).to_be_visible()
    expect(page.locator(".notice-body")).to_have_text("各位审核员：\n请按时签到。")
    link = page.get_by_role("link", name="签到说明.pdf")
    expect(link).to_be_visible()
    # The worker keeps pages for offline use; a downloaded document must not be one of them.
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "签到说明.pdf"
    saved = tmp_path / "saved.pdf"
    download.save_as(saved)
    assert hashlib.sha256(Path(saved).read_bytes()).hexdigest() == hashlib.sha256(PDF).hexdigest()
    kept = page.evaluate("caches.open('pages').then((c) => c.keys()).then((ks) => ks.map((r) => r.url))")
    assert not [url for url in kept if "/attachments/" in url]

    page.locator(".bottom-nav-item", has_text="通知").click()
    expect(page.get_by_role("heading", name="通知公告")).to_be_visible()
    row = page.locator(".notice-row", has_text="关于现场签到的通知")
    expect(row).to_have_class("card notice-row")
    expect(row).not_to_contain_text("未读")
    expect(page.locator(".bottom-nav .nav-badge")).to_have_count(0)
