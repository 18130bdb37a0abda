"""The plan import contract as an Excel workbook (domain/plan_workbook.py): real .xlsx files
made with openpyxl as a clerk's spreadsheet program would save them, and crafted archives
for the hostile ones. Every refusal is worded in Chinese at its sheet, row and column, and
nothing reaches the database."""
from __future__ import annotations

import copy
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from flask_babel import force_locale
from openpyxl import Workbook, load_workbook

from checkin_pwa.domain import plan_workbook
from checkin_pwa.domain.plan_import import NotADocument, parse_document, validate
from checkin_pwa.domain.plan_workbook import read_workbook, template_workbook, write_workbook
from checkin_pwa.extensions import db
from checkin_pwa.models import AuditPlan, Auditor
from checkin_pwa.words import plan_import as import_words
from checkin_pwa.services.plan_import import import_plans, import_workbook

EXAMPLE = Path(__file__).parent / "data" / "plans_example.json"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def edited(data: bytes, sheet: str, changes: dict[str, object], number_format: str | None = None) -> bytes:
    """The workbook with cells changed as a clerk would in Excel ({"N2": value})."""
    book = load_workbook(io.BytesIO(data))
    for ref, value in changes.items():
        book[sheet][ref] = value
        if number_format:
            book[sheet][ref].number_format = number_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def chinese(result, issues=()) -> list[str]:
    with force_locale("zh_CN"):
        return import_words.render_workbook_issues(result, list(issues))


def english(result, issues=()) -> list[str]:
    with force_locale("en"):
        return import_words.render_workbook_issues(result, list(issues))


def not_a_workbook(data: bytes) -> tuple[str, str]:
    with pytest.raises(NotADocument) as caught:
        read_workbook(data)
    with force_locale("zh_CN"):
        return caught.value.code, import_words.render_not_a_document(caught.value)


def plan_count() -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(AuditPlan))


# --- the same document as the JSON import ---------------------------------------------------

def test_a_workbook_reads_as_the_json_document_and_imports_the_same(app_context, app):
    document = example()
    result = read_workbook(write_workbook(document))
    assert result.issues == []
    assert result.document == document
    summary = import_workbook(result)
    assert summary.accepted and summary.created == ["P-2026-000123"]
    plan = db.session.scalar(db.select(AuditPlan))
    assert [site.address for site in plan.sites] == ["吉林省集安市工业园区1号", "吉林省通化市某某路2号"]
    assert [member.role for member in plan.team] == ["leader", "member", "expert", "intern", "remote"]
    again = import_plans(example())  # the JSON of the same plans is the same plan
    assert again.updated == ["P-2026-000123"] and plan_count() == 1


def test_template_has_chinese_headers_with_the_contract_names_and_a_guide():
    book = load_workbook(io.BytesIO(template_workbook()))
    assert book.sheetnames == ["计划", "场所", "团队", "审核员", "机构", "说明"]
    headers = [cell.value for cell in book["计划"][1]]
    assert headers[0] == "*计划编号 (plan_no)"
    assert "*首次会议开始时间 (start)" in headers and "项目一级 (project.levels.1)" in headers
    assert [cell.value for cell in book["团队"][1]] == ["*计划编号 (plan_no)", "*手机号 (phone)", "*组内角色 (role)"]
    guide = "\n".join(str(row[0].value) for row in book["说明"].iter_rows() if row[0].value)
    assert "公式" in guide and "示例" in guide
    # The ID column is formatted as text, so an 18-digit number typed there stays whole.
    id_column = [cell.column_letter for cell in book["审核员"][1] if "(id_number)" in cell.value][0]
    assert book["审核员"].column_dimensions[id_column].number_format == "@"


def test_the_template_example_rows_are_refused_until_replaced(app_context, app):
    result = read_workbook(template_workbook())
    sheets = {(issue.place.sheet, issue.place.row) for issue in result.issues if issue.code == "example_row"}
    assert sheets == {("计划", 2), ("场所", 2), ("团队", 2), ("审核员", 2), ("机构", 2)}
    assert "「计划」表第 2 行：这是模板的示例行，请改写为真实数据或删除" in chinese(result)
    # The body's own template carries its code and name, which are data.
    own = read_workbook(template_workbook(agency={"code": "CNCA-R-2099-001", "name": "某某认证有限公司"}))
    assert own.document["agency"] == {"code": "CNCA-R-2099-001", "name": "某某认证有限公司"}
    assert all(issue.place.sheet != "机构" for issue in own.issues)


def test_filling_in_the_template_gives_a_valid_document(app_context, app):
    data = template_workbook(agency={"code": "CNCA-R-2099-001", "name": "某某认证有限公司"})
    data = edited(data, "计划", {"A2": "P-1", "B2": "某某公司"})
    data = edited(data, "场所", {"A2": "P-1"})
    data = edited(data, "团队", {"A2": "P-1"})
    data = edited(data, "审核员", {"B2": "张三丰"})
    result = read_workbook(data)
    assert result.issues == []
    plan = result.document["plans"][0]
    assert plan["start"] == "2021-08-18T08:30:00+08:00" and plan["required"] is True and plan["mode"] == "onsite"
    assert plan["team"] == [{"phone": "13800000001", "role": "leader"}]
    assert validate(result.document) == []
    assert import_workbook(result).created == ["P-1"]


# --- every problem at its cell, in Chinese ---------------------------------------------------

def test_validation_problems_are_named_by_sheet_row_and_column(app_context, app):
    document = example()
    second = copy.deepcopy(document["plans"][0])
    second["plan_no"] = "P-2026-000124"
    second["end"] = "2026-08-17T08:00:00+08:00"
    second["sites"][0]["lat"] = 91
    document["plans"].append(second)
    result = read_workbook(write_workbook(document))
    issues = validate(result.document)
    assert chinese(result, issues) == [
        "「计划」表第 3 行 O 列（末次会议结束时间 (end)）：必须晚于开始时间（2026-08-18T08:30:00+08:00）",
        "「场所」表第 4 行 C 列（纬度 (lat)）：必须在 -90 到 90 之间",
    ]
    assert english(result, issues)[0].startswith("Sheet 计划, row 3, column O (末次会议结束时间 (end)): must be later")
    summary = import_workbook(result)
    assert not summary.accepted and plan_count() == 0


def test_a_duplicate_plan_no_names_both_rows(app_context, app):
    document = example()
    again = copy.deepcopy(document["plans"][0])  # the plan's row pasted twice, its sites and team once
    again["sites"], again["team"] = [], []
    document["plans"].append(again)
    result = read_workbook(write_workbook(document))
    messages = chinese(result, validate(result.document))
    assert messages == ["「计划」表第 3 行 A 列（计划编号 (plan_no)）：P-2026-000123 与本文件中的 「计划」表第 2 行 重复"]
    assert not import_workbook(result).accepted and plan_count() == 0


def test_sites_and_team_of_a_plan_the_plans_sheet_lacks_are_refused(app_context, app):
    data = edited(write_workbook(example()), "团队", {"A3": "P-无此计划"})
    result = read_workbook(data)
    assert chinese(result) == ["「团队」表第 3 行 A 列（计划编号 (plan_no)）：“计划”表中没有计划 P-无此计划"]


def test_columns_are_found_by_title_in_any_order_and_unknown_ones_refused(app_context, app):
    book = Workbook()
    book.active.title = "机构"
    book.active.append(["机构名称", "code"])
    book.active.append(["某某认证有限公司", "CNCA-R-2099-001"])
    plans = book.create_sheet("计划")
    plans.append(["受审核企业名称", "计划编号 (plan_no)", "认证项目代码", "开始", "首次会议开始时间", "末次会议结束时间"])
    plans.append(["某某公司", "P-1", "ISO9001", "x", dt.datetime(2026, 9, 1, 8), dt.datetime(2026, 9, 2, 17)])
    book.create_sheet("场所").append(["计划编号", "审核地址"])
    book.create_sheet("团队").append(["计划编号", "手机号"])
    out = io.BytesIO()
    book.save(out)
    result = read_workbook(out.getvalue())
    assert result.document["agency"] == {"code": "CNCA-R-2099-001", "name": "某某认证有限公司"}
    assert result.document["plans"][0]["plan_no"] == "P-1"
    messages = chinese(result, validate(result.document))
    assert "「计划」表第 1 行 D 列（开始）：列标题不是模板中的（开始）：请保持模板的列标题" in messages
    assert "「团队」表第 1 行，列 组内角色 (role)（表中没有此列）：缺少这一必填列：请按标题 组内角色 (role) 添加" in messages
    # and the plan's empty sites and team are said once each, at the plan's row
    assert any(message.startswith("「计划」表第 2 行 B 列（计划编号 (plan_no)）：") for message in messages)


# --- formulas, dates and numbers where text belongs ------------------------------------------

def test_a_formula_is_refused_at_its_cell(app_context, app):
    data = edited(write_workbook(example()), "计划", {"N2": "=TODAY()+1"})
    result = read_workbook(data)
    assert chinese(result, validate(result.document)) == [
        "「计划」表第 2 行 N 列（首次会议开始时间 (start)）：是公式（=TODAY()+1）：计划是数据，请粘贴数值（选择性粘贴 → 数值）"]
    assert not import_workbook(result).accepted and plan_count() == 0


def test_reading_stops_after_a_thousand_refused_cells(app_context, app):
    """A workbook of formulas is refused without keeping a problem for each of its cells."""
    book = Workbook()
    book.active.title = "计划"
    book.active.append(["计划编号", "受审核企业名称"])
    for n in range(2, 3_002):
        book.active.append([f"P-{n}", f"=B{n - 1}"])
    out = io.BytesIO()
    book.save(out)
    result = read_workbook(out.getvalue())
    assert len(result.issues) <= plan_workbook.MAX_ISSUES + 10
    stopped = [message for message in chinese(result) if "读取到此为止" in message]
    assert stopped == ["「计划」表第 999 行：已有 1000 个问题，读取到此为止：请先改正这些问题，再上传工作簿"]


def test_an_excel_date_in_a_time_column_is_read_in_the_plans_zone():
    document = example()
    document["plans"][0]["timezone"] = "Asia/Tokyo"
    data = edited(write_workbook(document), "计划", {"N2": dt.datetime(2026, 8, 18, 8, 30), "O2": "2026-08-20 15:30"},
                  number_format="yyyy-mm-dd hh:mm")
    result = read_workbook(data)
    assert result.issues == []
    assert result.document["plans"][0]["start"] == "2026-08-18T08:30:00+09:00"  # the zone column comes later
    assert result.document["plans"][0]["end"] == "2026-08-20T15:30:00+09:00"
    plain = read_workbook(edited(write_workbook(example()), "计划", {"N2": dt.datetime(2026, 8, 18, 8, 30)}))
    assert plain.document["plans"][0]["start"] == "2026-08-18T08:30:00+08:00"  # Asia/Shanghai by default


def test_a_date_where_text_belongs_is_refused(app_context, app):
    data = edited(write_workbook(example()), "计划", {"A2": dt.datetime(2021, 8, 1), "L2": dt.date(2021, 3, 1)})
    result = read_workbook(data)
    messages = chinese(result)
    assert len(messages) == 2
    assert messages[0].startswith("「计划」表第 2 行 A 列（计划编号 (plan_no)）：是日期，但此列应为文本")


def test_numbers_typed_for_phones_and_ids_keep_every_digit_or_are_refused(app_context, app):
    data = edited(write_workbook(example()), "审核员", {"A2": 13800000001, "D2": 110101800101001, "D4": 1.1010119800101e17})
    data = edited(data, "团队", {"B2": 13800000001.0})
    result = read_workbook(data)
    assert result.document["auditors"][0]["phone"] == "13800000001"
    assert result.document["auditors"][0]["id_number"] == "110101800101001"  # a 15-digit ID card of old
    assert result.document["plans"][0]["team"][0]["phone"] == "13800000001"
    assert chinese(result) == ["「审核员」表第 4 行 D 列（证件号码 (id_number)）：按数字输入（1.10101e+17），"
                               "Excel 只保留了前 15 位数字：请把此列设为“文本”格式后重新输入"]


def test_full_width_digits_in_phones_and_ids_are_read_as_ascii_in_a_workbook(app_context, app):
    data = edited(write_workbook(example()), "审核员", {"A2": "１３８０００００００１", "D2": "１１０１０１１９８００１０１００１Ｘ"})
    data = edited(data, "团队", {"B2": "１３８０００００００１ "})
    result = read_workbook(data)
    assert result.issues == [] and validate(result.document) == []
    assert result.document["auditors"][0]["id_number"] == "11010119800101001X"
    assert import_workbook(result).accepted
    assert db.session.scalar(db.select(Auditor.phone).where(Auditor.name == "张三")) == "13800000001"


def test_full_width_digits_in_phones_and_ids_are_read_as_ascii_in_json(app_context, app):
    document = example()
    document["auditors"][0]["phone"] = "１３８０００００００１"
    document["plans"][0]["team"][0]["phone"] = "１３８０００００００１"
    parsed = parse_document(json.dumps(document, ensure_ascii=False).encode())
    assert validate(parsed) == []
    assert import_plans(parsed).accepted
    assert db.session.scalar(db.select(Auditor.phone).where(Auditor.name == "张三")) == "13800000001"


def test_each_kind_of_refused_cell_is_named_at_its_cell(app_context, app):
    data = edited(write_workbook(example()), "计划", {"N2": 45000, "K2": "也许", "R2": "#N/A", "Z2": "备忘"})
    data = edited(data, "机构", {"A3": "CNCA-R-2099-001", "B3": "另一机构"})
    result = read_workbook(data)
    assert chinese(result) == [
        "「计划」表第 2 行 K 列（必签领域 (required)）：必须是以下之一：是、否",
        "「计划」表第 2 行 N 列（首次会议开始时间 (start)）：必须是日期和时间（Excel 日期时间单元格，或文本，如 2021-08-18T08:30:00+08:00）",
        "「计划」表第 2 行 R 列（审核方式 (mode)）：显示的是 Excel 错误值（#N/A）：请直接填写数值",
        "「计划」表第 2 行 Z 列：有内容，但此列没有列标题",
        "「机构」表第 3 行：“机构”表只填一行（本机构的批准号和名称），第 2 行已填写",
    ]
    assert [issue.code for issue in result.issues] == [
        "extra_agency_row", "boolean_word", "error_value", "value_without_header", "moment_needed"]


def test_project_levels_are_filled_from_the_first(app_context, app):
    result = read_workbook(edited(write_workbook(example()), "计划", {"G2": None}))
    assert chinese(result) == ["「计划」表第 2 行 G 列（项目二级 (project.levels.2)）：为空，但后面的项目层级有内容：请从第一级起依次填写"]


def test_choices_take_the_chinese_words_or_the_contract_values(app_context, app):
    data = edited(write_workbook(example()), "团队", {"C2": "leader", "C3": "组员", "C4": "专家"})
    data = edited(data, "计划", {"I2": "TRUE", "R2": "现场+远程"})
    result = read_workbook(data)
    plan = result.document["plans"][0]
    assert plan["required"] is True and plan["mode"] == "combined"
    assert chinese(result) == ["「团队」表第 4 行 C 列（组内角色 (role)）：必须是以下之一：组长、组员、技术专家、实习审核员、远程审核员"]


# --- not a workbook -----------------------------------------------------------------------

def test_random_bytes_a_renamed_csv_and_an_empty_file_are_not_workbooks(app_context, app):
    for data in (os.urandom(4096), "计划编号,受审核企业名称\nP-1,某某公司\n".encode(), b""):
        code, message = not_a_workbook(data)
        assert code == "not_a_workbook"
        assert message == "文件不是 Excel 工作簿（.xlsx）：请下载模板，填写后以 .xlsx 格式上传。"


def test_an_old_xls_file_is_named_as_such(app_context, app):
    code, message = not_a_workbook(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4088))
    assert code == "workbook_xls" and ".xlsx" in message and ".xls" in message


def test_a_zip_of_something_else_is_not_a_workbook():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("photo.jpg", b"\xff\xd8" + bytes(100))
    assert not_a_workbook(out.getvalue())[0] == "not_a_workbook"
    # a word-processor document is a zip of XML too
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    assert not_a_workbook(out.getvalue())[0] == "not_a_workbook"


def test_a_cut_off_workbook_is_refused_as_damaged(app_context, app):
    data = write_workbook(example())
    code, message = not_a_workbook(data[: len(data) // 2])
    assert code == "not_a_workbook"
    broken = _replaced(data, "xl/workbook.xml", b"<workbook><sheets><sheet")
    code, message = not_a_workbook(broken)
    assert code == "workbook_broken" and "WPS" in message


# --- bombs -------------------------------------------------------------------------------

def _replaced(data: bytes, name: str, content: bytes, *, declared: int | None = None) -> bytes:
    """The workbook with one member's content replaced (deflated), its declared size
    optionally falsified."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            if member.filename != name:
                archive.writestr(member.filename, source.read(member))
        archive.writestr(name, content)
    raw = out.getvalue()
    if declared is None:
        return raw
    return _falsify_size(raw, name, declared)


def _falsify_size(raw: bytes, name: str, declared: int) -> bytes:
    """Write `declared` as the uncompressed size of `name` in its local and central headers."""
    buffer = bytearray(raw)
    encoded = name.encode()
    for signature, size_at, name_at in ((b"PK\x03\x04", 22, 30), (b"PK\x01\x02", 24, 46)):
        start = 0
        while (start := buffer.find(signature, start)) != -1:
            if buffer[start + name_at: start + name_at + len(encoded)] == encoded:
                buffer[start + size_at: start + size_at + 4] = declared.to_bytes(4, "little")
            start += 4
    return bytes(buffer)


def _bounded(read) -> int:
    """Peak memory (bytes, as tracemalloc sees Python's allocations) of `read()`."""
    tracemalloc.start()
    try:
        read()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_huge_shared_strings_are_refused_before_they_are_unpacked():
    strings = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               + b"<si><t>" + b"A" * (200 * 1024 * 1024) + b"</t></si></sst>")
    data = _replaced(write_workbook(example()), "xl/sharedStrings.xml", strings)
    assert len(data) < 1024 * 1024  # 200 MB of one letter packs small
    peak = _bounded(lambda: not_a_workbook(data))
    assert not_a_workbook(data)[0] == "workbook_bomb"
    assert peak < 32 * 1024 * 1024


def test_a_million_tiny_shared_strings_are_refused_before_openpyxl_holds_them(app_context, app):
    """Within the size limit, 1.1 million short strings made openpyxl's list of them
    grow by about 200 MB."""
    strings = b"".join(b"<si><t>%x</t></si>" % n for n in range(1_100_000))
    data = _replaced(write_workbook(example()), "xl/sharedStrings.xml",
                     b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + strings + b"</sst>")
    assert len(strings) < plan_workbook.MAX_STRINGS_XML_BYTES
    peak = _bounded(lambda: not_a_workbook(data))
    code, message = not_a_workbook(data)
    assert code == "workbook_bomb" and "远超" in message
    assert peak < 48 * 1024 * 1024


def test_a_member_larger_than_it_declares_is_refused():
    strings = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
               + b"<si><t>" + b"A" * (40 * 1024 * 1024) + b"</t></si></sst>")
    data = _replaced(write_workbook(example()), "xl/sharedStrings.xml", strings, declared=1000)
    peak = _bounded(lambda: not_a_workbook(data))
    assert not_a_workbook(data)[0] in ("workbook_bomb", "workbook_broken")
    assert peak < 32 * 1024 * 1024


def test_entity_expansion_is_refused_unread():
    strings = (b'<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
               b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><si><t>&b;</t></si></sst>')
    data = _replaced(write_workbook(example()), "xl/sharedStrings.xml", strings)
    assert not_a_workbook(data)[0] == "workbook_bomb"


def _sheet_xml(rows: bytes) -> bytes:
    return (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<dimension ref="A1:XFD1048576"/><sheetData>' + rows + b"</sheetData></worksheet>")


def test_a_sheet_claiming_a_million_rows_costs_only_the_rows_allowed(app_context, app):
    data = write_workbook(example())
    sheet = "xl/worksheets/sheet1.xml"  # 计划
    original = zipfile.ZipFile(io.BytesIO(data)).read(sheet)
    rows = original[original.index(b"<sheetData>") + 11: original.index(b"</sheetData>")]
    far = rows + b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
    result_holder = []
    peak = _bounded(lambda: result_holder.append(read_workbook(_replaced(data, sheet, _sheet_xml(far)))))
    result = result_holder[0]
    assert "「计划」表：行数超过 100000：请把计划分成几次上传" in chinese(result)
    assert peak < 64 * 1024 * 1024
    # a million empty rows written out, packed small
    empty = b"".join(b'<row r="%d"/>' % n for n in range(3, 1_000_003))
    result = read_workbook(_replaced(data, sheet, _sheet_xml(rows + empty)))
    assert [issue.code for issue in result.issues] == ["too_many_rows"]


def test_rows_as_wide_as_excel_allows_cost_only_the_columns_read(app_context, app):
    data = write_workbook(example())
    sheet = "xl/worksheets/sheet3.xml"  # 团队
    original = zipfile.ZipFile(io.BytesIO(data)).read(sheet)
    rows = original[original.index(b"<sheetData>") + 11: original.index(b"</sheetData>")]
    # every row also holds a cell in the last of Excel's 16,384 columns, after blank rows
    wide = b"".join(b'<row r="%d"><c r="XFD%d" t="inlineStr"><is><t> </t></is></c></row>' % (n, n)
                    for n in range(1, 11))
    wide += rows.replace(b'<row r="', b'<row r="1').replace(b'<c r="A', b'<c r="A1').replace(
        b'<c r="B', b'<c r="B1').replace(b'<c r="C', b'<c r="C1').replace(
        b'</row>', b'<c r="XFD1" t="inlineStr"><is><t> </t></is></c></row>', 1)  # the header row too
    wide += b"".join(b'<row r="%d"><c r="XFD%d" t="inlineStr"><is><t>x</t></is></c></row>' % (n, n)
                     for n in range(30, 20_030))
    holder = []
    peak = _bounded(lambda: holder.append(read_workbook(_replaced(data, sheet, _sheet_xml(wide)))))
    result = holder[0]
    assert [member["role"] for member in result.document["plans"][0]["team"]] == [
        "leader", "member", "expert", "intern", "remote"]
    assert result.issues == []  # what lies past the columns read is not read
    assert peak < 64 * 1024 * 1024


def test_a_workbook_larger_than_the_limit_is_refused_unopened():
    assert not_a_workbook(b"PK" + bytes(plan_workbook.MAX_WORKBOOK_BYTES))[0] == "workbook_too_large"


# --- 10,000 plans -----------------------------------------------------------------------------

def many_plans(count: int) -> dict:
    document = example()
    template = document["plans"][0]
    plans = []
    for n in range(count):
        plan = copy.deepcopy(template)
        plan["plan_no"] = f"P-2026-{n:06d}"
        plan["enterprise"]["name"] = f"某某股份有限公司{n}"
        plan["sites"][0]["address"] = f"吉林省集安市工业园区{n}号"
        plans.append(plan)
    document["plans"] = plans
    return document


_READ_IN_A_CHILD = """
import json, sys
from checkin_pwa.domain.plan_workbook import read_workbook

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024

data = open(sys.argv[1], "rb").read()
open("/proc/self/clear_refs", "w").write("5")  # the peak from here on
before = status("VmRSS")
seen = []
result = read_workbook(data, progress=lambda done, total: seen.append((done, total)))
print(json.dumps({"grown": status("VmHWM") - before, "progress": seen, "issues": len(result.issues),
                  "plans": len(result.document["plans"]), "last": result.document["plans"][-1],
                  "where": list(result.where(("plans", 9_999, "team", 4, "role")))[:2]}))
"""


def test_ten_thousand_plans_are_read_with_progress_in_bounded_memory(tmp_path):
    """In a process of its own: its peak resident memory is the reading's alone."""
    document = many_plans(10_000)
    path = tmp_path / "plans.xlsx"
    path.write_bytes(write_workbook(document))
    answer = subprocess.run([sys.executable, "-c", _READ_IN_A_CHILD, str(path)], capture_output=True, text=True,
                            cwd=Path(__file__).parent.parent, check=True)
    read = json.loads(answer.stdout)
    assert read["issues"] == 0 and read["plans"] == 10_000
    assert read["last"] == document["plans"][-1]
    assert read["where"] == ["团队", 50_001]
    seen = read["progress"]
    assert len(seen) >= 100 and seen[-1][0] == seen[-1][1] == 10_000 + 20_000 + 50_000 + 5 + 1  # every data row
    assert all(done <= total for done, total in seen)
    # Rows are streamed: what stays is the document itself (a JSON parse of the same plans
    # holds about as much); the workbook's 1.5 MB unpack to 30 MB of XML that is never held.
    assert read["grown"] < 160 * 1024 * 1024, read["grown"]


# --- openpyxl's warnings --------------------------------------------------------------------

_TWO_READERS_AT_ONCE = """
import json, sys, threading
from checkin_pwa.domain.plan_workbook import read_workbook

data = open(sys.argv[1], "rb").read()
second_is_reading, first_is_done = threading.Event(), threading.Event()
results = {}

def first():
    def progress(done, total):
        second_is_reading.wait(60)
    results["first"] = read_workbook(data, progress=progress)
    first_is_done.set()

def second():
    def progress(done, total):
        second_is_reading.set()
        first_is_done.wait(60)  # the first upload ends while this one still reads
    results["second"] = read_workbook(data, progress=progress)

threads = [threading.Thread(target=first), threading.Thread(target=second)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({name: sorted({issue.code for issue in result.issues}) for name, result in results.items()}))
"""


def test_openpyxl_warnings_stay_out_of_the_log_while_two_workbooks_are_read_at_once(tmp_path):
    """A date cell whose serial number is out of range makes openpyxl warn once per cell, each
    message its own. Two uploads read at once, the first ending while the second still reads
    its rows: nothing of openpyxl's reaches the log (the process's stderr, as under gunicorn),
    and each reading still refuses those cells."""
    rows = plan_workbook.PROGRESS_EVERY + 60  # the first progress call comes at data row 500
    later_rows = {f"N{row}": 10**9 for row in range(rows - 40, rows + 2)}
    document = many_plans(rows)
    path = tmp_path / "plans.xlsx"
    path.write_bytes(edited(write_workbook(document), "计划", later_rows, number_format="yyyy-mm-dd hh:mm"))
    answer = subprocess.run([sys.executable, "-c", _TWO_READERS_AT_ONCE, str(path)], capture_output=True,
                            text=True, cwd=Path(__file__).parent.parent, check=True, timeout=300)
    assert "openpyxl" not in answer.stderr and "Warning" not in answer.stderr, answer.stderr
    assert json.loads(answer.stdout) == {"first": ["error_value"], "second": ["error_value"]}
