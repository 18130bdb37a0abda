"""Exports on the management end: each kind of row (plans, check-in events, exceptions,
explanations, verifications) as CSV and XLSX has the columns docs/exports.md lists and the
database's rows of the body's plans in the range; another body's rows never appear (R16);
a read-only member may export and each export is logged with its filters and row count;
odd dates, ranges and names are a 400 in Chinese that logs nothing."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import threading
from pathlib import Path

import pytest
from openpyxl import load_workbook

from checkin_pwa import create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db
from checkin_pwa.models import AuditLogEntry, CheckEvent, ExceptionVerification, Explanation

from .. import factories
from ..factories import SHANGHAI, to_utc
from ..helpers import job_settled
from .test_plans import logged_in, other_body, other_body_plan, staff_of

pytestmark = pytest.mark.usefixtures("app_context")

DOC = Path(__file__).resolve().parents[2] / "docs" / "exports.md"
RANGE = {"from": "2026-03-01", "to": "2026-03-31"}


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def in_march(plan):
    """Another body's plan (tests.console.test_plans), moved to 3–4 March with its event."""
    plan.start_utc, plan.end_utc = to_utc(at(3, 8, 30)), to_utc(at(4, 17))
    for event in plan.events:
        event.server_time = to_utc(at(3, 8, 40))
    db.session.flush()
    return plan


def documented(dataset: str, column: int = 1) -> list[str]:
    """The headings docs/exports.md lists for `dataset` (column 1: Chinese, 2: English)."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split(f"## {dataset} —", 1)[1].split("\n## ", 1)[0]
    return [cells[column].strip() for cells in (line.strip("|").split("|") for line in section.splitlines())
            if len(cells) > 3 and cells[0].strip().isdigit()]


@pytest.fixture
def body(app):
    """Our body: in March, an ended plan with a check-in 12 km off (no check-out, no photos),
    an explanation and a verification; an ended plan in order but for photos; a plan in
    April (outside the range). Another body: a plan in March with all of the same."""
    ours, mate = factories.auditor(name="张审核"), factories.auditor(name="李组员")
    far = factories.plan([ours, mate], company=factories.enterprise("吉林甲机械有限公司"),
                         start=at(3, 8, 30), end=at(4, 17))
    fine = factories.plan([mate], company=factories.enterprise("大连乙化工有限公司"),
                          start=at(10, 9), end=at(11, 17))
    april = factories.plan([ours], start=at(3, 9) + dt.timedelta(days=31), end=at(4, 17) + dt.timedelta(days=31))
    manager = staff_of(role="manager", name="赵经理")
    db.session.add_all([
        CheckEvent(plan_id=far.id, kind="in", signer_id=ours.id, device_lat=41.2, device_lon=126.2, chosen_lat=41.2,
                   chosen_lon=126.2, server_time=to_utc(at(3, 8, 40)), device_time=to_utc(at(3, 8, 38)),
                   clock_skew_s=-120.0, queued_offline=True, nearest_site_id=far.sites[0].id,
                   nearest_site_distance_m=12000.0, device_accuracy_m=15.0),
        CheckEvent(plan_id=fine.id, kind="in", signer_id=mate.id, device_lat=41.1, device_lon=126.1, chosen_lat=41.1,
                   chosen_lon=126.1, server_time=to_utc(at(10, 9, 5)), nearest_site_distance_m=30.0),
        CheckEvent(plan_id=fine.id, kind="out", signer_id=mate.id, device_lat=41.1, device_lon=126.1, chosen_lat=41.1,
                   chosen_lon=126.1, server_time=to_utc(at(11, 16, 50)), nearest_site_distance_m=25.0),
        Explanation(plan_id=far.id, author_id=ours.id, text="=企业临时搬迁到新厂区", created_at=to_utc(at(5, 10))),
        ExceptionVerification(agency_id=far.agency_id, plan_id=far.id, staff_id=manager.id, result="plan_adjusted",
                              text="已电话核实", exceptions=["not_signed", "deviation"], deadline=dt.date(2026, 3, 11),
                              late=False, created_at=to_utc(at(6, 15)), form_token="t1"),
    ])
    # Another body's plan in March, with an event, an explanation and a verification.
    theirs = in_march(other_body_plan("吉林外机构公司"))
    other, stranger = theirs.agency, theirs.team[0].auditor
    their_staff = staff_of(other, role="manager", name="外机构经理")
    db.session.add_all([
        Explanation(plan_id=theirs.id, author_id=stranger.id, text="外机构说明"),
        ExceptionVerification(agency_id=other.id, plan_id=theirs.id, staff_id=their_staff.id, result="other",
                              text="外机构核实", exceptions=["not_signed"], deadline=dt.date(2026, 3, 11),
                              form_token="t2"),
    ])
    db.session.commit()
    return {"far": far, "fine": fine, "april": april, "theirs": theirs, "ours": ours, "mate": mate,
            "manager": manager}


def csv_rows(answer) -> list[list[str]]:
    assert answer.status_code == 200, answer.get_data(as_text=True)[:1000]
    return list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))


def finished(client, answer, timeout: float = 120.0) -> str:
    """An XLSX export's job page, polled as the page does until the job is done; the last fragment."""
    assert answer.status_code == 303, answer.get_data(as_text=True)[:1000]
    number = int(re.search(r"/admin/exports/jobs/(\d+)$", answer.headers["Location"]).group(1))
    return job_settled(client, f"/admin/exports/jobs/{number}/state", timeout, "the export")


def xlsx_rows(answer, client) -> list[list[str]]:
    fragment = finished(client, answer)
    link = re.search(r'id="export-file" href="([^"]+)"', fragment).group(1)
    answer = client.get(link)
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(answer.get_data()), read_only=True).active
    return [["" if value is None else str(value) for value in row] for row in sheet.iter_rows(values_only=True)]


def export(client, dataset, fmt="csv", **args):
    return client.get("/admin/exports/download", query_string={"dataset": dataset, "format": fmt, **RANGE, **args})


def logged() -> list[AuditLogEntry]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(AuditLogEntry).where(AuditLogEntry.action == "data_exported")
                                   .order_by(AuditLogEntry.id)))


def local(value: dt.datetime) -> str:
    return value.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_r16_each_export_has_the_documented_columns_and_the_bodys_rows_of_the_range(app, body, fmt):
    reader = logged_in(app, staff_of(role="readonly", name="钱只读"))
    read = csv_rows if fmt == "csv" else (lambda answer: xlsx_rows(answer, reader))
    far, fine = body["far"], body["fine"]

    plans = read(export(reader, "plans", fmt))
    assert plans[0] == documented("plans")
    # The plan list's order (latest start first); April's and the other body's plans are not there.
    assert [row[0] for row in plans[1:]] == [fine.plan_no, far.plan_no]
    assert plans[2][1] == "吉林甲机械有限公司" and plans[2][6:8] == ["2026-03-03 08:30", "2026-03-04 17:00"]
    assert plans[2][12] == "已结束" and "张审核" in plans[2][14] and "李组员" in plans[2][14]

    events = read(export(reader, "events", fmt))
    assert events[0] == documented("events")
    stored = db.session.scalars(db.select(CheckEvent).where(CheckEvent.plan_id.in_([far.id, fine.id]))
                                .order_by(CheckEvent.plan_id.desc(), CheckEvent.server_time)).all()
    assert len(events) == 1 + len(stored) == 4
    for row, event in zip(events[1:], stored):
        plan = fine if event.plan_id == fine.id else far
        assert row[0] == plan.plan_no and row[3] == event.signer.name and row[4] == event.signer.phone
        assert row[2] == {"in": "签到", "out": "签退"}[event.kind]
        assert row[6] == local(event.server_time)
    offline = events[3]
    assert offline[7] == "2026-03-03 08:38:00" and offline[8] == "-120" and offline[9] == "是"
    assert offline[16] == far.sites[0].address and float(offline[17]) == 12000.0

    exceptions = read(export(reader, "exceptions", fmt))
    assert exceptions[0] == documented("exceptions")
    # The fine plan lacks its photos; the far one its check-out and photos, and was 12 km off.
    assert sorted((row[0], row[4]) for row in exceptions[1:]) == sorted([
        (fine.plan_no, "未上传照片"), (far.plan_no, "未签到"), (far.plan_no, "地点偏差"), (far.plan_no, "未上传照片")])
    deviation = next(row for row in exceptions[1:] if row[4] == "地点偏差")
    assert "12" in deviation[5] and far.sites[0].address in deviation[5]

    explanations = read(export(reader, "explanations", fmt))
    assert explanations[0] == documented("explanations")
    assert explanations[1:] == [[far.plan_no, "吉林甲机械有限公司", "张审核", body["ours"].phone, "2026-03-05 10:00:00",
                                 "", "否", "'=企业临时搬迁到新厂区"]]

    verifications = read(export(reader, "verifications", fmt))
    assert verifications[0] == documented("verifications")
    assert verifications[1:] == [[far.plan_no, "吉林甲机械有限公司", "计划临时调整", "已电话核实", "未签到, 地点偏差",
                                  "2026-03-11", "否", "赵经理", "2026-03-06 15:00:00"]]

    # Each export is in the audit log with its filters and row count, under the read-only member.
    entries = logged()
    assert [(e.after["dataset"], e.after["format"], e.after["rows"]) for e in entries] == [
        ("plans", fmt, 2), ("events", fmt, 3), ("exceptions", fmt, 4), ("explanations", fmt, 1),
        ("verifications", fmt, 1)]
    assert all(e.after["filters"] == RANGE and e.actor.startswith("钱只读") for e in entries)


def test_r16_the_plan_lists_filters_narrow_every_export_and_another_bodys_rows_never_appear(app, body):
    reader = logged_in(app, staff_of(role="readonly"))
    far = body["far"]
    for dataset in ("plans", "events", "exceptions", "explanations", "verifications"):
        rows = csv_rows(export(reader, dataset, enterprise="吉林"))  # the other body's 吉林外机构公司 matches too
        assert {row[0] for row in rows[1:]} == {far.plan_no}, dataset
        text = "".join(map(str, rows))
        assert "外机构" not in text and body["theirs"].plan_no not in text
    rows = csv_rows(export(reader, "events", auditor="李组员", checked="yes"))
    assert {row[0] for row in rows[1:]} == {body["fine"].plan_no, far.plan_no}
    assert logged()[-1].after["filters"] == {**RANGE, "auditor": "李组员", "checked": "yes"}
    # The other body's staff export their own rows only.
    theirs = logged_in(app, staff_of(other_body(), role="readonly", name="外机构只读"), offset_steps=1)
    rows = csv_rows(export(theirs, "explanations"))
    assert [row[-1] for row in rows[1:]] == ["外机构说明"]


def test_exports_in_english_have_english_headings_and_pages(app, body):
    reader = logged_in(app, staff_of(role="readonly", name="Reader"))
    reader.get("/lang/en")
    answer = export(reader, "plans", "xlsx")
    finished(reader, answer)
    for path in ("/admin/exports", answer.headers["Location"]):
        text = re.sub(r"<[^>]+>", " ", reader.get(path).get_data(as_text=True))
        text = text.replace(body["far"].agency.name, "").replace("中文", "")
        assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", text), path
    assert xlsx_rows(export(reader, "verifications", "xlsx"), reader)[0] == documented("verifications", 2)
    assert csv_rows(export(reader, "events"))[0] == documented("events", 2)


@pytest.mark.parametrize("args, message", [
    ({"from": "", "to": ""}, "请填写要导出的日期范围"),
    ({"to": ""}, "请填写要导出的日期范围"),
    ({"from": "2006-01-01", "to": "2025-12-31"}, "日期范围为 7305 天，一次导出最长 366 天"),
    ({"from": "2026-02-30"}, "日期"),
    ({"from": "2026-04-01", "to": "2026-03-01"}, "日期"),
    ({"from": "1900-01-01"}, "日期"),
    ({"from": "2026-03-01T00:00"}, "日期"),
    ({"dataset": "../../etc/passwd"}, "请从列表中选择要导出的内容"),
    ({"dataset": ""}, "请从列表中选择要导出的内容"),
    ({"format": "pdf"}, "请选择 CSV 或 XLSX"),
    ({"phase": "9999"}, ""),
    ({"checked": "<script>"}, ""),
])
def test_odd_dates_ranges_and_names_are_a_400_in_chinese_and_nothing_is_logged(app, body, args, message):
    reader = logged_in(app, staff_of(role="readonly"))
    query = {"dataset": "events", "format": "xlsx", **RANGE, **args}
    answer = reader.get("/admin/exports/download", query_string=query)
    page = answer.get_data(as_text=True)
    assert answer.status_code == 400 and answer.mimetype == "text/html"
    shown = re.search(r'<p class="error" role="alert">(.*?)</p>', page, re.S).group(1)
    assert message in shown and re.search(r"[\u4e00-\u9fff]", shown) and "<script>" not in page.split("<main")[-1]
    assert logged() == []


def test_the_export_page_is_every_roles_and_offers_each_kind(app, body):
    reader = logged_in(app, staff_of(role="readonly"))
    page = reader.get("/admin/exports").get_data(as_text=True)
    assert "数据导出" in page
    for code in ("plans", "events", "exceptions", "explanations", "verifications"):
        assert f'value="{code}"' in page
    assert 'href="/admin/exports"' in page  # in the console's navigation


def test_a_long_xlsx_export_shows_its_progress_and_its_file_is_its_askers_alone(app, body, monkeypatch):
    from checkin_pwa.services import exports

    monkeypatch.setattr(exports, "CHUNK", 1)  # a plan at a time: the job reports after each
    halfway, go_on = threading.Event(), threading.Event()
    real = exports.write_xlsx

    def held(path, title, header, rows):
        def rows_then_wait():
            for number, row in enumerate(rows):
                if number == 1:  # the first plan written, the second read
                    halfway.set()
                    assert go_on.wait(60)
                yield row
        return real(path, title, header, rows_then_wait())

    monkeypatch.setattr(exports, "write_xlsx", held)
    reader = logged_in(app, staff_of(role="readonly"))
    answer = export(reader, "plans", "xlsx")
    number = int(answer.headers["Location"].rsplit("/", 1)[1])
    assert halfway.wait(60)
    # While it runs, the page says how far it is, with a progress bar, and asks again.
    running = reader.get(f"/admin/exports/jobs/{number}").get_data(as_text=True)
    assert "正在生成文件" in running and "已读取计划 1 / 2" in running and "<progress" in running
    assert 'hx-trigger="every 1s"' in running and 'id="export-file"' not in running
    go_on.set()
    fragment = finished(reader, answer)
    assert "文件已生成" in fragment and "共 2 行。" in fragment and 'id="export-file"' in fragment
    # A colleague gets a 404 for the page and the file (another body's id is a 404 by own_row).
    colleague = logged_in(app, staff_of(role="admin"), offset_steps=1)
    for path in (f"/admin/exports/jobs/{number}", f"/admin/exports/jobs/{number}/file"):
        assert colleague.get(path).status_code == 404


def test_an_export_job_that_fails_says_so_logs_nothing_and_leaves_no_file(app, body, monkeypatch):
    from checkin_pwa.services import exports

    def broken(path, title, header, rows):
        with open(path, "wb") as half:
            half.write(b"PK")
        raise OSError("disk full")

    monkeypatch.setattr(exports, "write_xlsx", broken)
    reader = logged_in(app, staff_of(role="readonly"))
    fragment = finished(reader, export(reader, "events", "xlsx"))
    assert "导出未能完成，未作记录；请重试。" in fragment and 'id="export-file"' not in fragment
    assert logged() == [] and not any(Path(app.config["EXPORT_DIR"]).glob("*.xlsx"))
    assert stored_exports(app) == []


def stored_exports(app) -> list[str]:
    return [key for key, _modified in app.extensions["photo_store"].keys() if key.startswith("exports/")]


def test_the_photo_sweep_keeps_a_waiting_export_and_the_next_export_removes_an_expired_one(app, body):
    from checkin_pwa.domain import clock
    from checkin_pwa.models import ExportJob
    from checkin_pwa.services import photos

    reader = logged_in(app, staff_of(role="readonly"))
    fragment = finished(reader, export(reader, "plans", "xlsx"))
    link = re.search(r'id="export-file" href="([^"]+)"', fragment).group(1)
    [key] = stored_exports(app)
    swept = photos.sweep_orphans(app.extensions["photo_store"], dt.timedelta(0))
    assert key not in swept.removed and reader.get(link).status_code == 200
    # Half an hour later the file is gone: the page says so, and the next export removes it.
    db.session.execute(db.update(ExportJob).values(expires_at=clock.now() - dt.timedelta(seconds=1)))
    db.session.commit()
    assert reader.get(link).status_code == 404
    finished(reader, export(reader, "events", "xlsx"))
    assert key not in stored_exports(app) and len(stored_exports(app)) == 1


def test_an_xlsx_export_made_on_one_host_downloads_through_another(app, body, tmp_path):
    """Two app hosts on one database and one file store, each with its own local folders:
    the export's job runs on the host that took the request, and the download reaches the
    other host (a load balancer chooses), which still sends the file."""
    shared = {name: value for name, value in app.config.items()
              if name in ("SQLALCHEMY_DATABASE_URI", "PHOTO_STORE", "PHOTO_STORAGE_DIR") or name.startswith("S3_")}
    other_host = create_app(TestConfig, **shared, EXPORT_DIR=str(tmp_path / "host-b-exports"))
    reader = staff_of(role="readonly", name="钱只读")
    on_a = logged_in(app, reader)
    fragment = finished(on_a, export(on_a, "plans", "xlsx"))
    link = re.search(r'id="export-file" href="([^"]+)"', fragment).group(1)
    assert not any(Path(app.config["EXPORT_DIR"]).glob("*.xlsx")), "nothing waits on host A's own disk"
    shutil.rmtree(app.config["EXPORT_DIR"], ignore_errors=True)  # and host A's disk is not on host B

    on_b = logged_in(other_host, reader, offset_steps=1)
    assert 'id="export-file"' in on_b.get(link.rsplit("/", 1)[0]).get_data(as_text=True)
    answer = on_b.get(link)
    assert answer.status_code == 200 and answer.mimetype.endswith("spreadsheetml.sheet")
    assert answer.headers["Content-Disposition"] == "attachment; filename=plans-2026-03-01-2026-03-31.xlsx"
    assert "no-store" in answer.headers["Cache-Control"]
    sheet = load_workbook(io.BytesIO(answer.get_data()), read_only=True).active
    numbers = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert numbers == [body["fine"].plan_no, body["far"].plan_no]
    with other_host.app_context():
        db.engine.dispose()


def test_r16_the_export_needs_a_staff_login(app, body):
    answer = app.test_client().get("/admin/exports/download", query_string={"dataset": "plans", "format": "csv",
                                                                             **RANGE})
    assert answer.status_code in (302, 303) and "/admin/login" in answer.headers["Location"]
    assert logged() == []


def test_events_explanations_and_verifications_read_one_statement_per_chunk_of_plans(app, body, monkeypatch):
    """Rows under a plan are read as joined rows: the plans' ids once, then one statement per
    chunk of plans, however many plans, events or names; no plan is loaded with its team."""
    from sqlalchemy import event

    from checkin_pwa.domain.filters import PlanFilters
    from checkin_pwa.services import exports

    monkeypatch.setattr(exports, "CHUNK", 1)  # our two plans of March: two chunks
    filters = PlanFilters(date_from=dt.date(2026, 3, 1), date_to=dt.date(2026, 3, 31))
    now = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
    agency_id = body["far"].agency_id
    for dataset, rows in (("events", 3), ("explanations", 1), ("verifications", 1)):
        db.session.expunge_all()
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            records = list(exports.records(dataset, agency_id, filters, now))
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert len(records) == rows, dataset
        assert len(seen) == 1 + 2, (dataset, seen)
        assert not any("team_member" in statement for statement in seen), dataset
