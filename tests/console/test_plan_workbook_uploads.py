"""An Excel workbook uploaded on the console (docs/plan-workbook.md): the template to download,
a dry run whose every problem names its sheet, row and column in Chinese, and the same
import as the JSON document's. Hostile files end in a clear error on the upload's page."""
from __future__ import annotations

import copy
import io
import os

import pytest
from openpyxl import load_workbook

from checkin_pwa.domain.plan_workbook import write_workbook
from checkin_pwa.models import AuditPlan, PlanUpload

from .test_plan_uploads import commit, count, example, manager, manager_client, settled, upload, upload_id  # noqa: F401

pytestmark = pytest.mark.usefixtures("app_context")

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def test_the_template_is_offered_with_the_bodys_code_and_name(app, manager_client, manager):
    page = manager_client.get("/admin/plans/upload").get_data(as_text=True)
    assert 'href="/admin/plans/template.xlsx"' in page
    answer = manager_client.get("/admin/plans/template.xlsx")
    assert answer.status_code == 200 and answer.mimetype == XLSX
    assert "attachment" in answer.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(answer.data))
    assert [cell.value for cell in book["机构"][2]] == [manager.agency.code, manager.agency.name]
    assert book["计划"]["A1"].value == "*计划编号 (plan_no)"


def test_a_workbook_with_a_bad_row_is_refused_at_its_cell_then_fixed_and_imported(app, manager_client):
    document = example()
    second = copy.deepcopy(document["plans"][0])
    second["plan_no"] = "P-2026-000124"
    second["end"] = "2026-08-17T08:00:00+08:00"
    second["sites"], second["team"] = [{"address": "吉林省通化市某某路3号"}], [{"phone": "13800000001", "role": "leader"}]
    document["plans"].append(second)
    data = write_workbook(document)
    page = settled(manager_client, upload_id(upload(manager_client, data, "计划.xlsx")))
    assert "「计划」表第 3 行 O 列（末次会议结束时间 (end)）" in page
    assert "必须晚于开始时间（2026-08-18T08:30:00+08:00）" in page
    assert "/commit" not in page and count(AuditPlan) == 0

    second["end"] = "2026-08-19T17:00:00+08:00"
    number = upload_id(upload(manager_client, write_workbook(document), "计划.xlsx"))
    page = settled(manager_client, number)
    assert "试运行：尚未导入任何内容" in page
    assert commit(manager_client, number).status_code == 303
    settled(manager_client, number)
    assert count(AuditPlan) == 2


def test_a_workbook_without_an_agency_sheet_is_the_uploaders_body(app, manager_client, manager):
    document = example()
    del document["agency"]
    number = upload_id(upload(manager_client, write_workbook(document), "plans.xlsx"))
    page = settled(manager_client, number)
    assert "试运行：尚未导入任何内容" in page
    commit(manager_client, number)
    settled(manager_client, number)
    assert count(AuditPlan) == 1


def test_reading_problems_and_validation_problems_show_together_with_their_places(app, manager_client):
    book = load_workbook(io.BytesIO(write_workbook(example())))
    book["计划"]["N2"] = "=NOW()"
    book["审核员"]["A3"] = "１３８０００００００"  # ten digits, full-width
    out = io.BytesIO()
    book.save(out)
    page = settled(manager_client, upload_id(upload(manager_client, out.getvalue(), "plans.xlsx")))
    assert "「计划」表第 2 行 N 列（首次会议开始时间 (start)）" in page and "是公式（=NOW()）" in page
    assert "「审核员」表第 3 行 A 列（手机号 (phone)）" in page and "必须是以 1 开头的 11 位手机号" in page
    assert "/commit" not in page and count(AuditPlan) == 0


def test_a_duplicate_plan_no_in_a_workbook_names_both_rows(app, manager_client):
    document = example()
    again = copy.deepcopy(document["plans"][0])
    again["sites"], again["team"] = [], []
    document["plans"].append(again)
    page = settled(manager_client, upload_id(upload(manager_client, write_workbook(document), "plans.xlsx")))
    assert "「计划」表第 3 行 A 列（计划编号 (plan_no)）" in page
    assert "P-2026-000123 与本文件中的 「计划」表第 2 行 重复" in page
    assert count(AuditPlan) == 0


@pytest.mark.parametrize("data, words", [
    (os.urandom(2048), "文件不是 Excel 工作簿（.xlsx）"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2040), "旧版 Excel 文件（.xls）"),
    (b"PK\x03\x04" + bytes(2044), "文件不是 Excel 工作簿（.xlsx）"),
])
def test_a_file_named_xlsx_that_is_not_a_workbook_is_refused_clearly(app, manager_client, data, words):
    number = upload_id(upload(manager_client, data, "plans.xlsx"))
    page = settled(manager_client, number)
    assert words in page and "/commit" not in page
    assert db_state(number) == "checked" and count(AuditPlan) == 0


def db_state(number: int) -> str:
    from checkin_pwa.extensions import db

    db.session.expire_all()
    return db.session.get(PlanUpload, number).state
