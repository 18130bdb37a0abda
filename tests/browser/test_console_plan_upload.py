"""Uploading plans on the console in Chromium on a desktop: an Excel workbook with a bad
row is checked (a dry run) and the page shows the problem at its sheet, row and column; the
corrected workbook is checked again and imported with one click; the plans are then in the
body's plan list."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from checkin_pwa.domain.plan_workbook import MIMETYPE, write_workbook

from .test_console import VIEWPORTS, fits_the_width, log_in_staff

pytestmark = pytest.mark.browser

EXAMPLE = Path(__file__).parent.parent / "data" / "plans_example.json"


def documents() -> tuple[dict, dict]:
    """A document of two plans whose second site row has a latitude past 90, and the same
    corrected."""
    good = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    second = copy.deepcopy(good["plans"][0])
    second["plan_no"] = "P-2026-000124"
    second["enterprise"]["name"] = "通化某某制药有限公司"
    good["plans"].append(second)
    bad = copy.deepcopy(good)
    bad["plans"][1]["sites"][0]["lat"] = 141.1256
    return bad, good


def choose_and_check(page, name: str, document: dict) -> None:
    page.get_by_label("计划文件").set_input_files({"name": name, "mimeType": MIMETYPE,
                                                 "buffer": write_workbook(document)})
    page.get_by_role("button", name="检查文件（试运行）").click()


def test_an_upload_with_a_bad_row_is_refused_at_its_place_then_corrected_and_imported(browser, live_server, data):
    with data as f:
        manager = f.staff(role="manager", name="李审核管理")
        phone = manager.phone
    bad, good = documents()
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  **VIEWPORTS["desktop"])
    page = context.new_page()
    log_in_staff(page, phone, "Staff#pass1")

    page.get_by_role("link", name="上传计划").click()
    with page.expect_download() as template:
        page.get_by_role("link", name="下载 Excel 模板（.xlsx）").click()
    assert template.value.suggested_filename.endswith(".xlsx")
    choose_and_check(page, "计划.xlsx", bad)
    expect(page).to_have_url(re.compile(r"/admin/plans/uploads/\d+$"))
    # The page follows the job until the dry run is done, then shows the problem at its place.
    expect(page.get_by_role("heading", name="已拒绝：此文件中的内容均不能导入")).to_be_visible(timeout=60_000)
    problem = page.locator("#upload-problems tbody tr")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("「场所」表第 4 行 C 列（纬度 (lat)）")
    expect(problem).to_contain_text("必须在 -90 到 90 之间")
    expect(page.get_by_role("button", name=re.compile("导入"))).to_have_count(0)
    refused_url = page.url

    page.get_by_role("link", name="上传其他文件").click()
    choose_and_check(page, "计划（已改正）.xlsx", good)
    expect(page.get_by_role("heading", name="试运行：尚未导入任何内容")).to_be_visible(timeout=60_000)
    expect(page.locator('[data-count="created"]')).to_have_text("2")
    rows = page.locator("#upload-plans tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("P-2026-000124")
    expect(rows.nth(1)).to_contain_text("通化某某制药有限公司")
    expect(rows.nth(1)).to_contain_text("新计划")

    page.get_by_role("button", name="导入这 2 个计划").click()
    expect(page.locator("#upload-state").get_by_role("status")).to_contain_text("计划已在一个事务中导入：新建 2 个", timeout=60_000)
    # The same pages stacked on a 390 px phone.
    result_url = page.url
    page.set_viewport_size(VIEWPORTS["phone"]["viewport"])
    for url in (refused_url, result_url, "/admin/plans/upload"):
        page.goto(url)
        assert fits_the_width(page), url
    page.goto(result_url)

    page.get_by_role("link", name="查看本机构的计划").click()
    listed = page.locator("#plan-list tr[data-plan]")
    expect(listed).to_have_count(2)
    expect(page.locator("#plan-list")).to_contain_text("P-2026-000124")
    expect(page.locator("#plan-list")).to_contain_text("通化某某制药有限公司")
    context.close()
