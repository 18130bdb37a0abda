"""Uploading a plan document on the console: a dry run that writes nothing and says what
would be created, updated and refused (each problem at its place), then one click that
imports exactly what was checked in one transaction; both as jobs whose progress the page
polls. Managers and administrators only (R18); an upload is its uploader's (R16)."""
from __future__ import annotations

import copy
import io
import json
import re
import time
from pathlib import Path

import pytest

from checkin_pwa.extensions import db
from checkin_pwa.models import AuditLogEntry, AuditPlan, Auditor, PlanUpload, TeamMember
from checkin_pwa.services import plan_import

from .. import factories
from ..helpers import csrf_token, job_settled
from ..test_r1_lockout import gunicorn  # noqa: F401  (the fixture: gunicorn with two workers)
from .conftest import logged_in

EXAMPLE = Path(__file__).parent.parent / "data" / "plans_example.json"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(model))


@pytest.fixture
def manager(app):
    person = factories.staff(role="manager", name="李审核管理")
    db.session.commit()
    return person


@pytest.fixture
def manager_client(app, manager):
    return logged_in(app, manager)


def upload(client, document, filename="plans.json"):
    """Post a file on the upload form; the answer is the redirect to the upload's page."""
    data = document if isinstance(document, bytes) else json.dumps(document, ensure_ascii=False).encode()
    token = csrf_token(client, "/admin/plans/upload")
    return client.post("/admin/plans/upload", content_type="multipart/form-data",
                       data={"csrf_token": token, "document": (io.BytesIO(data), filename)})


def upload_id(answer) -> int:
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return int(re.search(r"/admin/plans/uploads/(\d+)$", answer.headers["Location"]).group(1))


def settled(client, number: int, timeout: float = 120.0) -> str:
    """Poll the state fragment as the page does until its job is done; its last answer."""
    return job_settled(client, f"/admin/plans/uploads/{number}/state", timeout)


def commit(client, number: int):
    token = csrf_token(client, f"/admin/plans/uploads/{number}")
    return client.post(f"/admin/plans/uploads/{number}/commit", data={"csrf_token": token})


def log(action) -> list[AuditLogEntry]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(AuditLogEntry).where(AuditLogEntry.action == action)))


# --- dry run, then commit --------------------------------------------------------------------

def test_the_recent_uploads_say_each_uploads_state_in_a_word(app_context, app, manager_client):
    number = upload_id(upload(manager_client, example()))
    settled(manager_client, number)
    words = {"checking": "检查中", "checked": "已检查，未导入", "committing": "导入中", "committed": "已导入",
             "failed": "失败", "unheard_of": "失败"}
    for state, word in words.items():
        db.session.get(PlanUpload, number).state = state
        db.session.commit()
        page = manager_client.get("/admin/plans/upload").get_data(as_text=True)
        cell = re.search(r'data-label="状态">([^<]*)</td>', page)
        assert cell and cell.group(1) == word, (state, cell and cell.group(1))


def test_a_dry_run_shows_what_would_be_created_and_writes_nothing_then_one_click_imports_it(app_context, app, manager_client):
    number = upload_id(upload(manager_client, example()))
    page = settled(manager_client, number)
    assert "试运行：尚未导入任何内容" in page
    assert re.search(r'data-count="created">1<', page) and re.search(r'data-count="auditors_created">5<', page)
    assert "P-2026-000123" in page and "吉林省某某股份有限公司" in page and "新计划" in page
    assert count(AuditPlan) == 0 and count(Auditor) == 0
    assert [entry.after["created"] for entry in log("plans_checked")] == [1]

    assert commit(manager_client, number).status_code == 303
    page = settled(manager_client, number)
    assert "已在一个事务中导入：新建 1 个，更新 0 个" in page
    assert count(AuditPlan) == 1 and count(Auditor) == 5
    assert db.session.scalar(db.select(AuditPlan.plan_no)) == "P-2026-000123"
    assert [entry.after["created"] for entry in log("plans_committed")] == [1]
    # The file is not kept once imported, and a second click imports nothing again.
    assert db.session.get(PlanUpload, number).data is None
    answer = commit(manager_client, number)
    assert answer.status_code == 303 and count(AuditPlan) == 1
    assert len(log("plans_committed")) == 1


def test_an_update_lists_what_changes_per_plan(app_context, app, manager_client):
    factories.agency()
    db.session.commit()
    assert plan_import.import_plans(example()).accepted
    changed = example()
    changed["plans"][0]["remarks"] = "改为下午开始"
    changed["plans"][0]["start"] = "2026-08-18T13:30:00+08:00"
    extra = copy.deepcopy(changed["plans"][0])
    extra["plan_no"] = "P-2026-000124"
    changed["plans"].append(extra)
    number = upload_id(upload(manager_client, changed))
    page = settled(manager_client, number)
    assert re.search(r'data-count="created">1<', page) and re.search(r'data-count="updated">1<', page)
    assert "变更：开始时间、备注" in page
    db.session.expire_all()
    assert db.session.scalar(db.select(AuditPlan.remarks)) == example()["plans"][0]["remarks"]


def test_english_dry_run(app_context, app, manager_client):
    manager_client.get("/lang/en")
    number = upload_id(upload(manager_client, example()))
    page = settled(manager_client, number)
    assert "Dry run: nothing has been imported yet" in page and "New plan" in page
    assert "Import these 1 plans" in page


def test_problems_are_listed_with_their_json_path_and_nothing_can_be_imported(app_context, app, manager_client):
    document = example()
    document["plans"][0]["sites"][0]["lat"] = 91
    number = upload_id(upload(manager_client, document))
    page = settled(manager_client, number)
    assert "plans[0].sites[0].lat" in page and "必须在 -90 到 90 之间" in page
    assert "/commit" not in page
    assert commit(manager_client, number).status_code == 303
    assert count(AuditPlan) == 0 and log("plans_committed") == []
    assert log("plans_checked")[0].after["problems"] == 1


def test_a_duplicate_plan_no_within_one_upload_is_refused_naming_both_places(app_context, app, manager_client):
    document = example()
    document["plans"].append(copy.deepcopy(document["plans"][0]))
    page = settled(manager_client, upload_id(upload(manager_client, document)))
    assert "plans[1].plan_no" in page
    assert "P-2026-000123 与本文件中的 plans[0] 重复" in page
    assert count(AuditPlan) == 0


@pytest.mark.parametrize("data, words", [
    (b"{not json", "不是有效的 JSON"),
    (b"[1, 2]", "文件必须是一个包含 agency、auditors 和 plans 的 JSON 对象"),
])
def test_a_file_that_is_not_a_document_is_refused_with_a_clear_error(app_context, app, manager_client, data, words):
    page = settled(manager_client, upload_id(upload(manager_client, data)))
    assert words in page and "/commit" not in page


def test_an_empty_file_is_refused_on_the_form(app_context, app, manager_client):
    answer = upload(manager_client, b"")
    assert answer.status_code == 422
    assert "请选择文件" in answer.get_data(as_text=True)
    assert count(PlanUpload) == 0


def test_a_file_past_the_upload_limit_is_refused_on_the_form(app_context, app, manager_client):
    app.config["PLAN_UPLOAD_MAX_BYTES"] = 1000
    answer = upload(manager_client, example())
    assert answer.status_code == 422
    assert "文件超过 1000 字节，请拆分成几次上传" in answer.get_data(as_text=True)
    assert count(PlanUpload) == 0


def test_an_expired_upload_is_not_imported_and_its_file_is_let_go(app_context, app, manager_client, manager):
    number = upload_id(upload(manager_client, example()))
    settled(manager_client, number)
    kept = db.session.get(PlanUpload, number)
    kept.expires_at = kept.created_at.replace(year=2020)
    db.session.commit()
    page = manager_client.get(f"/admin/plans/uploads/{number}").get_data(as_text=True)
    assert "此上传已过期" in page and "/commit" not in page
    assert commit(manager_client, number).status_code == 303
    assert count(AuditPlan) == 0 and log("plans_committed") == []
    settled(manager_client, upload_id(upload(manager_client, example())))  # the next upload lets expired files go
    db.session.expire_all()
    assert db.session.get(PlanUpload, number).data is None


def test_another_bodys_document_is_refused(app_context, app, manager_client):
    document = example()
    document["agency"] = {"code": "CNCA-R-2099-001", "name": "其他认证机构"}
    page = settled(manager_client, upload_id(upload(manager_client, document)))
    assert "CNCA-R-2099-001" in page and "/commit" not in page
    assert count(AuditPlan) == 0


def test_r16_another_bodys_auditor_in_an_upload_is_refused_with_the_field_path(app_context, app, manager_client):
    """An auditor practises for one body at a time: the console refuses, as the API does,
    a document naming an auditor of another body, at each place."""
    other = factories.agency("CNCA-R-2099-001", "其他认证机构")
    person = factories.auditor(name="外机构审核员", phone="13800000002")
    person.agency_id = other.id
    db.session.commit()
    page = settled(manager_client, upload_id(upload(manager_client, example())))
    assert "auditors[1].phone" in page and "plans[0].team[1].phone" in page
    assert "13800000002 是其他认证机构的审核员" in page
    assert "/commit" not in page
    assert count(AuditPlan) == 0 and count(TeamMember) == 0


def test_the_commit_refuses_when_the_database_changed_after_the_dry_run(app_context, app, manager_client):
    """The commit runs the import again against the database as it is then: a plan made
    meanwhile changes the result, so nothing is written and the file is checked again."""
    factories.agency()
    db.session.commit()
    number = upload_id(upload(manager_client, example()))
    assert re.search(r'data-count="created">1<', settled(manager_client, number))
    changed = example()
    changed["plans"][0]["remarks"] = "另一路导入"
    assert plan_import.import_plans(changed).accepted  # e.g. through the API, meanwhile
    assert commit(manager_client, number).status_code == 303
    page = settled(manager_client, number)
    assert "试运行之后系统中的计划已有变化，因此未导入任何内容" in page
    assert re.search(r'data-count="updated">1<', page) and "变更：备注" in page
    db.session.expire_all()
    assert db.session.scalar(db.select(AuditPlan.remarks)) == "另一路导入"
    assert log("plans_committed") == []
    # The new dry run can be imported.
    commit(manager_client, number)
    assert "已在一个事务中导入" in settled(manager_client, number)
    db.session.expire_all()
    assert db.session.scalar(db.select(AuditPlan.remarks)) == example()["plans"][0]["remarks"]


def test_a_big_upload_reports_its_progress_in_the_database_as_it_goes(app_context, app, manager_client):
    """The job writes done of total to the upload's row as it works through the plans
    (each on its own committed connection, so every worker's polling sees it move)."""
    from sqlalchemy import event

    document = example()
    plans = []
    for number in range(250):
        plan = copy.deepcopy(document["plans"][0])
        plan["plan_no"] = f"P-BIG-{number:04d}"
        plans.append(plan)
    document["plans"] = plans
    seen = []

    def progress_written(connection, cursor, statement, parameters, context, executemany):
        if statement.startswith("UPDATE plan_upload SET phase="):  # ? on SQLite, %(phase)s on PostgreSQL
            named = parameters if isinstance(parameters, dict) else dict(zip(("phase", "done", "total"), parameters))
            seen.append((named["phase"], named["done"], named["total"]))

    event.listen(db.engine, "before_cursor_execute", progress_written)
    try:
        number = upload_id(upload(manager_client, document))
        assert re.search(r'data-count="created">250<', settled(manager_client, number))
    finally:
        event.remove(db.engine, "before_cursor_execute", progress_written)
    checking = [(done, total) for phase, done, total in seen if phase == "checking"]
    assert checking == [(0, 250), (0, 250), (100, 250), (200, 250), (250, 250)]


def test_the_page_polls_while_the_job_runs_and_shows_its_progress(app_context, app, manager_client, manager):
    from checkin_pwa.services import plan_uploads

    kept = plan_uploads.receive(manager, "plans.json", json.dumps(example()).encode(), address="127.0.0.1")
    kept.phase, kept.done, kept.total = "checking", 300, 1000
    db.session.commit()
    page = manager_client.get(f"/admin/plans/uploads/{kept.id}").get_data(as_text=True)
    assert f'hx-get="/admin/plans/uploads/{kept.id}/state" hx-trigger="every 1s"' in page
    assert "正在检查计划" in page and "300 / 1000" in page and 'value="300"' in page
    # A job whose worker went away is given up (nothing of it was written).
    kept.heartbeat_at = kept.heartbeat_at.replace(year=2020)
    db.session.commit()
    page = manager_client.get(f"/admin/plans/uploads/{kept.id}/state").get_data(as_text=True)
    assert "every 1s" not in page and "作业已停止" in page


# --- who may ---------------------------------------------------------------------------------

def test_r18_read_only_staff_get_403_on_the_upload_routes(app_context, app, manager):
    reader = factories.staff(role="readonly", name="赵只读")
    db.session.commit()
    from checkin_pwa.services import plan_uploads

    kept = plan_uploads.receive(reader, "plans.json", json.dumps(example()).encode(), address="127.0.0.1")
    client = logged_in(app, reader)
    assert "/admin/plans/upload" not in client.get("/admin").get_data(as_text=True)
    token = csrf_token(client, "/admin/profile")
    for path in ("/admin/plans/upload", f"/admin/plans/uploads/{kept.id}", f"/admin/plans/uploads/{kept.id}/state"):
        assert client.get(path).status_code == 403, path
    assert client.post("/admin/plans/upload", content_type="multipart/form-data",
                       data={"csrf_token": token, "document": (io.BytesIO(json.dumps(example()).encode()),
                                                               "plans.json")}).status_code == 403
    assert client.post(f"/admin/plans/uploads/{kept.id}/commit", data={"csrf_token": token}).status_code == 403
    assert count(PlanUpload) == 1 and count(AuditPlan) == 0


def test_r16_another_bodys_upload_id_is_a_404_and_imports_nothing(app_context, app, manager_client, manager):
    number = upload_id(upload(manager_client, example()))
    settled(manager_client, number)
    other = factories.agency("CNCA-R-2099-001", "其他认证机构")
    stranger = factories.staff(other, role="admin", name="外机构管理员")
    colleague = factories.staff(role="manager", name="同事")
    db.session.commit()
    for person in (stranger, colleague):
        client = logged_in(app, person)
        token = csrf_token(client, "/admin/plans/upload")
        for path in (f"/admin/plans/uploads/{number}", f"/admin/plans/uploads/{number}/state"):
            assert client.get(path).status_code == 404, path
        assert client.post(f"/admin/plans/uploads/{number}/commit", data={"csrf_token": token}).status_code == 404
    assert count(AuditPlan) == 0 and log("plans_committed") == []


# --- several worker processes ----------------------------------------------------------------

class StaffOverHttp:
    """A staff member's browser without JS against a real server: one cookie jar, every
    request on a new connection (so any worker may answer it), redirects followed."""

    def __init__(self, port: int, phone: str):
        import http.cookiejar
        import urllib.request

        from ..factories import STAFF_PASSWORD
        from .conftest import totp_now

        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.send("/admin/login", {"phone": phone, "password": STAFF_PASSWORD})
        self.send("/admin/login/code", {"code": totp_now()})

    def open(self, path: str, fields=None, files=None) -> tuple[str, str]:
        """The page's final URL and text."""
        import urllib.request

        from ..helpers import multipart

        data, headers = None, {}
        if fields is not None:
            data, headers["Content-Type"] = multipart(fields, files or {})
        with self.opener.open(urllib.request.Request(self.base + path, data=data, headers=headers),
                              timeout=120) as response:
            return response.geturl(), response.read().decode()

    def send(self, path: str, fields: dict, files=None) -> tuple[str, str]:
        """A form post with the CSRF token of the form's own page."""
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', self.open(path)[1]).group(1)
        return self.open(path, {**fields, "csrf_token": token}, files)


def test_a_job_started_by_one_worker_is_followed_and_committed_through_any_worker(gunicorn):
    """Under gunicorn with two worker processes: the job's state is in the database, so
    the page's polling shows the same progress and result whichever worker answers, and
    the commit clicked on a page one worker served is carried out once."""
    from ..test_r1_lockout import answered_by

    port, data_app, access_log = gunicorn
    with data_app.app_context():
        person = factories.staff(role="manager")
        db.session.commit()
        phone = person.phone
    browser = StaffOverHttp(port, phone)
    document = example()
    document["plans"] = [{**copy.deepcopy(document["plans"][0]), "plan_no": f"P-W-{n:03d}"} for n in range(120)]
    url, _page = browser.send("/admin/plans/upload", {},
                              {"document": ("plans.json", json.dumps(document, ensure_ascii=False).encode())})
    number = int(re.search(r"/admin/plans/uploads/(\d+)$", url).group(1))

    def poll_until(tag: str, done_marker: str) -> dict:
        """Poll as the page does until the job is done and both workers have answered
        with the result; {worker pid: last page}."""
        seen: dict[str, str] = {}
        for attempt in range(400):
            marker = f"{tag}{attempt}"
            page = browser.open(f"/admin/plans/uploads/{number}/state?try={marker}")[1]
            seen[answered_by(access_log, marker)] = page
            if len(seen) == 2 and all(done_marker in text for text in seen.values()):
                return seen
            time.sleep(0.05)
        raise AssertionError(f"not both workers answered with the result: {list(seen)}")

    checked = poll_until("check", 'data-count="created">120<')
    assert all("every 1s" not in page for page in checked.values())
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', browser.open(f"/admin/plans/uploads/{number}")[1]).group(1)
    browser.open(f"/admin/plans/uploads/{number}/commit", {"csrf_token": token})
    browser.open(f"/admin/plans/uploads/{number}/commit", {"csrf_token": token})  # a second click
    poll_until("commit", "已在一个事务中导入：新建 120 个")
    with data_app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditPlan)) == 120
        assert len(db.session.scalars(db.select(AuditLogEntry).where(AuditLogEntry.action == "plans_committed")).all()) == 1
