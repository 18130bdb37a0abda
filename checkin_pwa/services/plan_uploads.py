"""Plan documents uploaded on the console: first a dry run, then, on request, the commit of
exactly what was checked, each as a job.

The uploaded bytes stay in the `plan_upload` row (with their SHA-256) between the two steps.
A job runs in a thread of the worker process that received the request; its state, phase,
done of total and a heartbeat are in the row, so whichever worker answers the page's
polling reads them. Both steps run services.plan_import on the same document (the dry run
with dry_run=True, writing nothing); the commit goes through only when the import, run
again against the database as it is then, gives the dry run's result (its digest), and
the upload's new state and the audit log entry are committed in the import's transaction.
Otherwise nothing is written and the upload is checked again.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

from flask import current_app
from sqlalchemy import update
from sqlalchemy.orm import undefer

from ..domain import clock
from ..domain.plan_import import Issue, NotADocument, format_path, parse_document, validate
from ..extensions import db
from ..models import Agency, PlanUpload, Staff
from . import audit, jobs, plan_import

log = logging.getLogger(__name__)

RUNNING = ("checking", "committing")
KINDS = ("json", "xlsx")
KEEP_ISSUES = 2000  # problems kept for the page (the count is always whole)


class UploadRefused(ValueError):
    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def kind_of(filename: str, data: bytes) -> str:
    """xlsx for a workbook (by its name, or a zip archive's first bytes), json otherwise."""
    if filename.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        return "xlsx"
    return "json"


def receive(staff: Staff, filename: str, data: bytes, *, address: str) -> PlanUpload:
    """Keep an uploaded file for its dry run (the caller starts it: `start`)."""
    limit = current_app.config["PLAN_UPLOAD_MAX_BYTES"]
    if not data.strip():
        raise UploadRefused("empty")
    if len(data) > limit:
        raise UploadRefused("too_large", limit=limit)
    _forget_expired()
    now = clock.now()
    upload = PlanUpload(agency_id=staff.agency_id, staff_id=staff.id, address=address[:64],
                        filename=(filename or "-")[-200:], kind=kind_of(filename or "", data), size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), data=data, created_at=now,
                        expires_at=now + dt.timedelta(minutes=current_app.config["PLAN_UPLOAD_MINUTES"]),
                        state="checking", phase="waiting", done=0, total=0, heartbeat_at=now)
    db.session.add(upload)
    db.session.commit()
    return upload


def _forget_expired() -> None:
    """Expired uploads lose their bytes (the row stays: the page says it expired)."""
    db.session.execute(update(PlanUpload).where(PlanUpload.expires_at < clock.now(), PlanUpload.data.is_not(None))
                       .values(data=None))


def claim_commit(upload: PlanUpload) -> bool:
    """Move a checked, committable upload to committing, once: of two clicks (or two
    workers) only one wins. The caller starts the job when it did."""
    if not committable(upload):
        return False
    claimed = db.session.execute(
        update(PlanUpload).where(PlanUpload.id == upload.id, PlanUpload.state == "checked",
                                 PlanUpload.expires_at > clock.now())
        .values(state="committing", phase="waiting", done=0, total=0, heartbeat_at=clock.now())
    ).rowcount
    db.session.commit()
    return claimed == 1


def committable(upload: PlanUpload) -> bool:
    result = upload.result or {}
    return (upload.state == "checked" and not expired(upload) and result.get("accepted", False)
            and bool(result.get("digest")))


def expired(upload: PlanUpload) -> bool:
    return upload.expires_at <= clock.now()


def give_up_if_stalled(row) -> None:
    jobs.give_up_if_stalled(row, RUNNING)


def start(upload_id: int, job: str) -> threading.Thread:
    """Run `job` ("check" or "commit") for the upload in a thread of this process."""
    return jobs.start_job(PlanUpload, upload_id, lambda row_id: (check if job == "check" else commit)(row_id),
                     name=f"plan-upload-{upload_id}")


def _progress(upload_id: int, phase: str, done: int, total: int) -> None:
    jobs.progress(PlanUpload, upload_id, phase, done, total)


def _reporter(upload_id: int, phase: str) -> Callable[[int, int], None]:
    return lambda done, total: _progress(upload_id, phase, done, total)


@dataclass
class _Read:
    """A document read from the upload's bytes, or why it is not one; `where(issue)` is
    the stored place of a problem (a workbook's sheet, row, column letter and title, and
    the place of the row it repeats), None for a JSON document; `merge` puts problems in
    the workbook's order and drops those that would say one thing twice."""

    document: Optional[dict]
    issues: list[Issue]
    error: Optional[dict]
    where: Callable[[Issue], Optional[dict]]
    merge: Callable[[list[Issue]], list[Issue]]


def _nowhere(issue: Issue) -> None:
    return None


def _as_is(issues: list[Issue]) -> list[Issue]:
    return issues


def _read(upload: PlanUpload, data: bytes, agency: Agency) -> _Read:
    if upload.kind == "xlsx":
        from ..domain import plan_workbook

        try:
            book = plan_workbook.read_workbook(data, progress=_reporter(upload.id, "reading"))
        except NotADocument as error:
            return _Read(None, [], {"code": error.code, "params": error.params}, _nowhere, _as_is)
        document, where, merge = book.document, (lambda issue: _stored_place(book, issue)), book.with_validation
    else:
        _progress(upload.id, "reading", 0, 1)
        try:
            document, where, merge = parse_document(data), _nowhere, _as_is
        except NotADocument as error:
            return _Read(None, [], {"code": error.code, "params": error.params}, _nowhere, _as_is)
    if isinstance(document, dict) and "agency" not in document:
        document["agency"] = {"code": agency.code, "name": agency.name}  # the uploader's body
    issues = []
    if upload.kind == "xlsx" and book.issues:
        # Refused cells first make the document incomplete; its other problems are said too.
        issues = book.with_validation(validate(document))
    return _Read(document, issues, None, where, merge)


def _stored_place(book, issue: Issue) -> Optional[dict]:
    """A workbook problem's place as JSON keeps it: [sheet, row, letter, title], and that
    of the row a "first" number names (a repeated plan number, phone)."""
    def plain(place):
        if place is None:
            return None
        column = place.column
        return [place.sheet, place.row, column.letter if column else None, column.header if column else None]

    first = issue.params.get("first")
    first_place = book.where(first) if isinstance(first, str) and first[:1].isalpha() else None
    return {"place": plain(book.place_of(issue)), "first": plain(first_place)}


def check(upload_id: int) -> None:
    """The dry run: what the import would create, update and refuse; nothing written."""
    upload = db.session.scalars(db.select(PlanUpload).options(undefer(PlanUpload.data))
                                .where(PlanUpload.id == upload_id)).one()
    staff = db.session.get(Staff, upload.staff_id)
    agency = db.session.get(Agency, upload.agency_id)
    data = upload.data
    if data is None or hashlib.sha256(data).hexdigest() != upload.sha256:
        return _finish(upload, staff, "failed", outcome={"error": "expired"})
    read = _read(upload, data, agency)
    del data
    result: dict[str, Any]
    if read.error is not None:
        result = _refused_result([], read.where, document_error=read.error)
    elif read.issues:
        result = _refused_result(read.issues, read.where)
    else:
        _progress(upload.id, "checking", 0, len(read.document.get("plans") or []) if isinstance(read.document, dict) else 0)
        try:
            summary = plan_import.import_plans(read.document, via_agency=agency, dry_run=True,
                                               progress=_reporter(upload.id, "checking"))
        except plan_import.WrongAgency as error:
            result = _refused_result([], read.where, document_error={
                "code": "wrong_agency", "params": {"document_agency": error.document_agency,
                                                   "token_agency": error.token_agency}})
        else:
            result = (_accepted_result(summary) if summary.accepted
                      else _refused_result(read.merge(summary.refused), read.where))
    upload = db.session.get(PlanUpload, upload_id)
    upload.result = result
    audit.record(audit.actor_for(staff, upload.address), "plans_checked", target=upload.filename,
                 after=_counts(result))
    _finish(upload, staff, "checked")


def commit(upload_id: int) -> None:
    """Import the checked document in one transaction, if it still does what the dry run
    said; otherwise write nothing and check it again."""
    upload = db.session.scalars(db.select(PlanUpload).options(undefer(PlanUpload.data), undefer(PlanUpload.result))
                                .where(PlanUpload.id == upload_id)).one()
    staff = db.session.get(Staff, upload.staff_id)
    agency = db.session.get(Agency, upload.agency_id)
    data, checked = upload.data, upload.result or {}
    if data is None or hashlib.sha256(data).hexdigest() != upload.sha256:
        return _finish(upload, staff, "failed", outcome={"error": "expired"})
    read = _read(upload, data, agency)
    del data
    if read.document is None or read.issues:
        return _check_again(upload_id)

    def confirm(summary: plan_import.ImportSummary) -> bool:
        if summary.digest() != checked.get("digest"):
            return False
        row = db.session.get(PlanUpload, upload_id)
        row.state, row.phase = "committed", None
        row.outcome = _counts(_accepted_result(summary))
        row.data = None  # committed: the bytes are no longer needed
        audit.record(audit.actor_for(staff, row.address), "plans_committed", target=row.filename,
                     after=row.outcome)
        return True

    try:
        summary = plan_import.import_plans(read.document, via_agency=agency, progress=_reporter(upload_id, "writing"),
                                           confirm=confirm, source="upload", by=staff)
    except plan_import.WrongAgency:
        return _check_again(upload_id)
    if not summary.accepted or summary.held:
        return _check_again(upload_id)
    log.info("plan upload %s committed: %s", upload_id, _counts(_accepted_result(summary)))


def _check_again(upload_id: int) -> None:
    """The database changed since the dry run: nothing was written; the page shows the
    new dry run, and says why."""
    db.session.rollback()
    db.session.execute(update(PlanUpload).where(PlanUpload.id == upload_id)
                       .values(state="checking", phase="waiting", outcome={"error": "changed"}))
    db.session.commit()
    check(upload_id)


def _finish(upload: PlanUpload, staff: Staff, state: str, *, outcome: Optional[dict] = None) -> None:
    upload.state, upload.phase = state, None
    if outcome is not None:
        upload.outcome = outcome
    db.session.commit()


def _accepted_result(summary: plan_import.ImportSummary) -> dict:
    return {
        "accepted": True,
        "digest": summary.digest(),
        "created": len(summary.created),
        "updated": len(summary.updated),
        "unchanged": sum(1 for change in summary.changes if not change.created and not change.fields),
        "auditors_created": len(summary.auditors_created),
        "refused": 0,
        "plans": [[change.plan_no, change.enterprise, change.created, list(change.fields)]
                  for change in summary.changes],
        "issues": [],
    }


def _refused_result(issues: list[Issue], where: Callable[[Issue], Optional[dict]], *,
                    document_error: Optional[dict] = None) -> dict:
    kept = []
    for issue in issues[:KEEP_ISSUES]:
        places = where(issue) or {}
        kept.append({"path": format_path(issue.path), "code": issue.code, "params": _plain(issue.params),
                     "place": places.get("place"), "first_place": places.get("first")})
    plans_refused = len({issue.path[:2] for issue in issues if issue.path[:1] == ("plans",) and len(issue.path) > 1})
    return {"accepted": False, "digest": None, "created": 0, "updated": 0, "unchanged": 0, "auditors_created": 0,
            "refused": plans_refused, "problems": len(issues), "plans": [], "issues": kept,
            "document_error": document_error}


def _plain(params) -> dict:
    """An issue's numbers as JSON keeps them (anything else as text)."""
    return {str(key): value if isinstance(value, (str, int, float, bool)) or value is None else str(value)
            for key, value in dict(params).items()}


def _counts(result: dict) -> dict:
    counts = {name: result.get(name, 0) for name in ("created", "updated", "unchanged", "auditors_created", "refused")}
    if not result.get("accepted"):
        counts["problems"] = result.get("problems", 0) + (1 if result.get("document_error") else 0)
    return counts
