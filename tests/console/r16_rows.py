"""R16 on the management end, for any route: every /admin URL that names a row by an
integer id, filled in with the ids of another body's rows (body A's, as seen by body B's
staff). Used by the server-level walk (tests/console/test_r16_console_routes.py) and the
browser test (tests/browser/test_console_r16.py).

A route parameter `<int:noun_id>` names a row of the model below (or, for a noun not
listed, the model whose table is `noun` or ends in `_noun`). Body A gets a real row of
each (a photo uploaded as an auditor does, a notice with an attachment, a token, log
entries). A parameter naming a table body A has no row of fails with what to add here."""
from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import select

from checkin_pwa.domain import clock
from checkin_pwa.extensions import db
from checkin_pwa.models import (ApiToken, AuditLogEntry, AuditPlan, Auditor, CheckEvent, Enterprise, ExportJob, Notice,
                                NoticeAttachment, PhoneChangeRequest, Photo, PlanSite, PlanUpload, Staff, TeamMember)
from checkin_pwa.services import audit, exports, notices, phone_changes, plan_uploads, tokens
from checkin_pwa.storage import new_export_key

from .. import factories
from ..helpers import csrf_token, log_in

BODY_B = ("CNCA-R-2099-001", "乙方认证有限公司")
PHOTO = Path("/work/shared/fixtures/photos/DSCN0010.jpg")
NOT_FOUND = "未找到该页面，或您无权查看"
_INT_PARAM = re.compile(r"<int:(\w+)>")

PARAM_MODELS = {
    "auditor_id": Auditor, "staff_id": Staff, "entry_id": AuditLogEntry, "token_id": ApiToken,
    "plan_id": AuditPlan, "photo_id": Photo, "notice_id": Notice, "attachment_id": NoticeAttachment,
    "site_id": PlanSite, "event_id": CheckEvent, "enterprise_id": Enterprise, "member_id": TeamMember,
    "request_id": PhoneChangeRequest, "upload_id": PlanUpload, "job_id": ExportJob,
}


def model_for(param: str):
    if param in PARAM_MODELS:
        return PARAM_MODELS[param]
    noun = param.removesuffix("_id")
    for mapper in db.Model.registry.mappers:
        table = mapper.class_.__tablename__
        if table == noun or table.endswith("_" + noun):
            return mapper.class_
    raise AssertionError(f"a console route takes <int:{param}>: name its model in r16_rows.PARAM_MODELS")


def int_routes(app) -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) of every /admin route with an <int:...> parameter."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin") and _INT_PARAM.search(rule.rule):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, rule.rule, method))
    return sorted(found)


def url_with(rule: str, rows: dict) -> str:
    """The rule's URL with body A's row for each parameter."""
    def fill(match):
        model = model_for(match.group(1))
        assert model in rows, f"<int:{match.group(1)}> names {model.__name__}: give body A one in r16_rows.body_a_rows"
        return str(rows[model])
    return _INT_PARAM.sub(fill, rule)


def body_a_rows(app) -> dict:
    """Body A (the factories' default body) with a row of every kind the console names
    by id; committed. Returns {model: id}. Needs an app context."""
    body = factories.agency()
    person = factories.auditor(name="甲方审核员")
    plan = factories.plan([person])
    a_staff = factories.staff(body, name="甲方管理员", role="admin")
    db.session.add(CheckEvent(plan_id=plan.id, kind="in", signer_id=person.id, device_lat=41.1, device_lon=126.1,
                              chosen_lat=41.1, chosen_lon=126.1, nearest_site_id=plan.sites[0].id,
                              nearest_site_distance_m=0.0))
    audit.record(audit.actor_for(a_staff, "10.0.0.1"), "login")
    db.session.commit()
    tokens.create_token(body.code, "甲方 ERP")
    notices.create_notice(body, "甲方通知", "正文", attachments=[("说明.txt", "甲方的附件".encode())])
    phone_changes.hold(person, "13700000099", now=clock.now())  # a change of login number waiting
    plan_uploads.receive(a_staff, "plans.json", b'{"plans": []}', address="10.0.0.1")  # kept, not checked
    # An XLSX export of the admin's, finished: its file waits for the download.
    job = exports.begin(a_staff, "plans", "xlsx", {}, "zh_CN", address="10.0.0.1")
    built = io.BytesIO()
    job.rows = exports.write_xlsx(built, "甲方计划", ["计划编号"], [[plan.plan_no]])
    job.path = new_export_key()
    app.extensions["photo_store"].save(job.path, built.getvalue())
    job.state, job.phase = "ready", None
    db.session.commit()

    # A photo as an auditor of the team sends it.
    phone = app.test_client()
    log_in(phone, person)
    token = csrf_token(phone, f"/plans/{plan.id}")
    with PHOTO.open("rb") as photo:
        sent = phone.post(f"/plans/{plan.id}/photos", content_type="multipart/form-data",
                          data={"csrf_token": token, "group": "first", "photo": (photo, PHOTO.name)})
    assert sent.status_code in (201, 303), sent.get_data(as_text=True)[:500]

    rows = {}
    for model in {*PARAM_MODELS.values()}:
        query = select(model.id)
        if hasattr(model, "agency_id"):
            query = query.where(model.agency_id == body.id)
        row_id = db.session.scalar(query.order_by(model.id.desc()))
        if row_id is not None:
            rows[model] = row_id
    missing = {model.__name__ for model in PARAM_MODELS.values()} - {model.__name__ for model in rows}
    assert not missing, missing
    return rows


def body_b_admin():
    """An administrator of body B (every console page is theirs to open); committed."""
    other = factories.agency(*BODY_B)
    person = factories.staff(other, name="乙方管理员", role="admin")
    db.session.commit()
    return person


def database_rows() -> dict:
    """Every row of every table (the login throttle's counters aside), to see nothing is written."""
    dump = {}
    for table in db.metadata.sorted_tables:
        if table.name == "rate_limit_counter":
            continue
        dump[table.name] = sorted(map(repr, db.session.execute(table.select()).all()))
    return dump


def log_of(agency_id: int) -> list:
    db.session.expire_all()
    return [(e.id, e.action, e.target, e.before, e.after)
            for e in db.session.scalars(select(AuditLogEntry).where(AuditLogEntry.agency_id == agency_id)
                                        .order_by(AuditLogEntry.id))]
