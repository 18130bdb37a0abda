"""An export in Chromium: a read-only staff member at a desk opens 数据导出 from the console's
navigation, asks for the check-in events of March as XLSX, waits for the file to be written
(the page polls the job), and the downloaded workbook,
opened with openpyxl, holds the database's events of the body's plans row by row (another
body's never: R16); a range of 20 years is refused in Chinese."""
from __future__ import annotations

import datetime as dt

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from ..console.test_exports import at, in_march
from ..console.test_plans import other_body_plan
from ..factories import SHANGHAI, to_utc
from .test_console import VIEWPORTS, fits_the_width, log_in_staff

pytestmark = pytest.mark.browser


def test_r16_an_xlsx_export_downloaded_in_chromium_holds_the_databases_rows(browser, live_server, data, tmp_path):
    with data as f:
        from checkin_pwa.extensions import db
        from checkin_pwa.models import CheckEvent

        reader = f.staff(role="readonly", name="钱只读")
        leader, member = f.auditor(name="张审核"), f.auditor(name="李组员")
        plans = [f.plan([leader, member], company=f.enterprise(f"吉林第{i}机械有限公司"),
                        start=at(2 + 7 * i, 8, 30), end=at(3 + 7 * i, 17)) for i in range(3)]
        for i, plan in enumerate(plans):
            for person, kind, hour, offline in ((leader, "in", 8, i == 1), (member, "in", 9, False),
                                                (leader, "out", 16, False)):
                day = 2 + 7 * i + (kind == "out")
                db.session.add(CheckEvent(
                    plan_id=plan.id, kind=kind, signer_id=person.id, counts_for_team=person is leader,
                    device_lat=[41.1, 41.25, 41.5][i], device_lon=126.1, chosen_lat=[41.1, 41.25, 41.5][i], chosen_lon=126.1,
                    server_time=to_utc(at(day, hour, 40)), device_time=to_utc(at(day, hour, 39)),
                    queued_offline=offline, clock_skew_s=-60.0, nearest_site_id=plan.sites[0].id,
                    nearest_site_distance_m=120.0 + i))
        in_march(other_body_plan("吉林外机构公司"))
        # What the workbook must hold: the body's events, plans latest first, each plan's by time.
        wanted = []
        for plan in sorted(plans, key=lambda plan: plan.start_utc, reverse=True):
            for event in sorted(db.session.scalars(db.select(CheckEvent).where(CheckEvent.plan_id == plan.id)),
                                key=lambda event: event.server_time):
                local = lambda naive: naive.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI)  # noqa: E731
                wanted.append([plan.plan_no, plan.enterprise.name, {"in": "签到", "out": "签退"}[event.kind],
                               event.signer.name, event.signer.phone, "是" if event.counts_for_team else "否",
                               local(event.server_time).strftime("%Y-%m-%d %H:%M:%S"),
                               local(event.device_time).strftime("%Y-%m-%d %H:%M:%S"), -60,
                               "是" if event.queued_offline else "否", event.device_lat, event.device_lon, None,
                               event.chosen_lat, event.chosen_lon, 0, plan.sites[0].address,
                               event.nearest_site_distance_m, None])
        phone = reader.phone

    context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  accept_downloads=True, **VIEWPORTS["desktop"])
    desk = context.new_page()
    log_in_staff(desk, phone, "Staff#pass1")
    desk.get_by_role("navigation").get_by_role("link", name="数据导出").click()
    expect(desk.get_by_role("heading", name="数据导出")).to_be_visible()

    # Twenty years at once is refused, in Chinese, and nothing is downloaded.
    desk.get_by_label("导出内容").select_option(label="签到签退记录")
    desk.locator("#x-from").fill("2006-01-01")
    desk.locator("#x-to").fill("2025-12-31")
    desk.get_by_role("button", name="导出").click()
    expect(desk.get_by_role("alert")).to_contain_text("一次导出最长 366 天")
    desk.go_back()

    desk.get_by_label("导出内容").select_option(label="签到签退记录")
    desk.get_by_label("格式").select_option("xlsx")
    desk.locator("#x-from").fill("2026-03-01")
    desk.locator("#x-to").fill("2026-03-31")
    desk.get_by_role("button", name="导出").click()
    # The file is written by a job; the page shows its progress, then the file's link.
    expect(desk.locator("#export-state")).to_contain_text("文件已生成", timeout=60_000)
    expect(desk.locator("#export-state")).to_contain_text("共 9 行。")
    with desk.expect_download() as info:
        desk.get_by_role("link", name="下载 XLSX 文件").click()
    download = info.value
    assert download.suggested_filename == "events-2026-03-01-2026-03-31.xlsx"
    saved = tmp_path / "events.xlsx"
    download.save_as(saved)

    sheet = load_workbook(saved, read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:7] == ["计划编号", "受审核企业", "事件", "签名人", "签名人手机号", "计入审核组", "服务器时间"]
    assert len(rows) == 1 + len(wanted) == 10
    for got, expected in zip(rows[1:], wanted):
        assert got == expected
    assert not any("外机构" in str(cell) for row in rows for cell in row)

    # The export's page and the form fit a 390 px phone.
    desk.set_viewport_size({"width": 390, "height": 844})
    expect(desk.locator("#export-state")).to_contain_text("文件已生成")
    assert fits_the_width(desk)
    desk.get_by_role("link", name="再导出一次").click()
    expect(desk.get_by_label("导出内容")).to_have_value("events")
    assert fits_the_width(desk)
    context.close()
