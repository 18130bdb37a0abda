"""Exports of a body's records (CSV and XLSX) for a date range and the plan list's filters.

Every dataset is about the body's plans that pass the filters (domain.filters.PlanFilters,
as the console's plan list reads them: the range keeps plans whose audit period overlaps
it). Their ids are read first, then CHUNK plans at a time: the plans and exceptions
datasets load each chunk's plans with what a row shows and their status (R10), the events,
explanations and verifications read plain joined rows with one statement per chunk and
load no plan. So an export of a year of a large body never holds more than a chunk.
`records` yields plain tuples; the web layer turns them into cells in the reader's language.
CSV is written as it is read; XLSX by a job (the plan uploads' kind) with openpyxl's
write-only mode to a local file (its rows leave memory as they are written), which goes to
the file store (app.extensions["photo_store"], key exports/<random>.xlsx) once whole, so
whichever app host answers the download sends it.

No Flask request here: callers pass the staff member, the parsed filters, `now` (aware UTC,
the server's clock) and the client's address.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional

from flask import current_app
from sqlalchemy import select

from ..domain import clock
from ..domain.filters import PlanFilters
from ..extensions import db
from ..models import (AuditPlan, Auditor, CheckEvent, Enterprise, ExceptionVerification, Explanation, ExportJob,
                      PlanSite, Staff)
from ..storage import EXPORT_KEY_PATTERN, PhotoStore, new_export_key
from . import audit, listing
from .plans import exception_views

DATASETS = ("plans", "events", "exceptions", "explanations", "verifications")
FORMATS = ("csv", "xlsx")
# The longest date range one export covers (days, both ends included): a year and a day, so
# a whole year ending on any date fits; a longer period is exported a year at a time.
MAX_DAYS = 366
CHUNK = 200


@dataclass(frozen=True)
class ExportRefused(ValueError):
    code: str  # dataset | format | range_needed | range_too_long
    params: dict

    def __str__(self) -> str:
        return self.code


def check(dataset: str, fmt: str, filters: PlanFilters) -> None:
    """Refuse what no export is made of: an unknown dataset or format, a range missing an
    end, or one longer than MAX_DAYS."""
    if dataset not in DATASETS:
        raise ExportRefused("dataset", {})
    if fmt not in FORMATS:
        raise ExportRefused("format", {})
    if filters.date_from is None or filters.date_to is None:
        raise ExportRefused("range_needed", {"days": MAX_DAYS})
    days = (filters.date_to - filters.date_from).days + 1
    if days > MAX_DAYS:
        raise ExportRefused("range_too_long", {"days": days, "limit": MAX_DAYS})


def _chunks(agency_id: int, filters: PlanFilters, now: dt.datetime,
            progress: Optional[Callable[[int, int], None]] = None) -> Iterator[list[int]]:
    """The filtered plans' ids, CHUNK at a time, in the list's order; `progress(plans done,
    plans)` before each chunk and at the end."""
    ids = listing.body_plan_ids(agency_id, filters, now)
    for start in range(0, len(ids), CHUNK):
        if progress:
            progress(start, len(ids))
        yield ids[start: start + CHUNK]
    if progress:
        progress(len(ids), len(ids))


def _plans(ids: list[int], now: dt.datetime) -> Iterator[tuple]:
    for entry in listing.body_entries(ids, now):
        yield entry, None


def _exceptions(ids: list[int], now: dt.datetime) -> Iterator[tuple]:
    for entry in listing.body_entries(ids, now):
        for view in exception_views(entry.plan, entry.status):
            yield entry, view


# The datasets of rows under a plan (events, explanations, verifications) read plain joined
# rows, one statement per chunk: the plan's number, enterprise and time zone (what each row
# shows of its plan) beside the row's own columns and the names it shows; no plan is loaded.
_PLAN_KEY = (AuditPlan.plan_no, Enterprise.name.label("enterprise"), AuditPlan.timezone)


def _joined(ids: list[int], query, model) -> Iterator[tuple]:
    """(row, row) for each row of `query` (a select of `model`'s rows with _PLAN_KEY) whose
    plan is among `ids`, plan by plan in the order of `ids`."""
    grouped: dict[int, list] = {}
    query = (query.join(AuditPlan, AuditPlan.id == model.plan_id)
             .join(Enterprise, Enterprise.id == AuditPlan.enterprise_id).where(model.plan_id.in_(ids)))
    for row in db.session.execute(query):
        grouped.setdefault(row.plan_id, []).append(row)
    for plan_id in ids:
        for row in grouped.get(plan_id, ()):
            yield row, row


def _events(ids: list[int], _now: dt.datetime) -> Iterator[tuple]:
    return _joined(ids, select(
        CheckEvent.plan_id, *_PLAN_KEY, CheckEvent.kind, Auditor.name.label("signer_name"),
        Auditor.phone.label("signer_phone"), CheckEvent.counts_for_team, CheckEvent.server_time, CheckEvent.device_time,
        CheckEvent.clock_skew_s, CheckEvent.queued_offline, CheckEvent.device_lat, CheckEvent.device_lon,
        CheckEvent.device_accuracy_m, CheckEvent.chosen_lat, CheckEvent.chosen_lon, CheckEvent.pin_offset_m,
        PlanSite.address.label("nearest_address"), CheckEvent.nearest_site_distance_m, CheckEvent.flags,
    ).join(Auditor, Auditor.id == CheckEvent.signer_id).outerjoin(PlanSite, PlanSite.id == CheckEvent.nearest_site_id)
        .order_by(CheckEvent.plan_id, CheckEvent.server_time, CheckEvent.id), CheckEvent)


def _explanations(ids: list[int], _now: dt.datetime) -> Iterator[tuple]:
    return _joined(ids, select(
        Explanation.plan_id, *_PLAN_KEY, Auditor.name.label("author_name"), Auditor.phone.label("author_phone"),
        Explanation.created_at, Explanation.device_time, Explanation.queued_offline, Explanation.text,
    ).join(Auditor, Auditor.id == Explanation.author_id)
        .order_by(Explanation.plan_id, Explanation.created_at, Explanation.id), Explanation)


def _verifications(ids: list[int], _now: dt.datetime) -> Iterator[tuple]:
    return _joined(ids, select(
        ExceptionVerification.plan_id, *_PLAN_KEY, ExceptionVerification.result, ExceptionVerification.text,
        ExceptionVerification.exceptions, ExceptionVerification.deadline, ExceptionVerification.late,
        Staff.name.label("staff_name"), ExceptionVerification.created_at,
    ).join(Staff, Staff.id == ExceptionVerification.staff_id)
        .order_by(ExceptionVerification.plan_id, ExceptionVerification.created_at, ExceptionVerification.id),
        ExceptionVerification)


_READERS: dict[str, Callable[[list[int], dt.datetime], Iterator[tuple]]] = {
    "plans": _plans, "events": _events, "exceptions": _exceptions,
    "explanations": _explanations, "verifications": _verifications,
}


def records(dataset: str, agency_id: int, filters: PlanFilters, now: dt.datetime,
            progress: Optional[Callable[[int, int], None]] = None) -> Iterator[tuple]:
    """A pair for each row of `dataset`, a chunk of plans at a time: for plans and
    exceptions the plan's entry (listing.BodyPlanEntry) and None or the exception's view;
    for the others the joined row twice (its plan's key and its own columns)."""
    reader = _READERS[dataset]
    for ids in _chunks(agency_id, filters, now, progress):
        yield from reader(ids, now)


def record(staff: Staff, dataset: str, fmt: str, filters: dict, rows: int, *, address: str,
           complete: bool = True) -> None:
    """An export goes into the audit log with its filters and row count (reads do not); an
    export whose download was broken off is logged with the rows sent so far."""
    after = {"dataset": dataset, "format": fmt, "filters": filters, "rows": rows}
    if not complete:
        after["complete"] = False
    audit.record(audit.actor_for(staff, address), "data_exported", target=f"{dataset}: {rows}", after=after)
    db.session.commit()


def csv_text(header: list[str], rows: Iterable[list], done: Callable[[int, bool], None]) -> Iterator[str]:
    """The rows as CSV text, a line at a time (audit.csv_stream); `done(count, complete)` is
    called once at the end, or when the reader stops early."""
    count = 0

    def counted() -> Iterator[list]:
        nonlocal count
        for row in rows:
            count += 1
            yield row

    try:
        yield from audit.csv_stream(header, counted())
    except GeneratorExit:
        done(count, False)
        raise
    done(count, True)


def write_xlsx(path: str, title: str, header: list[str], rows: Iterable[list]) -> int:
    """The rows as an XLSX workbook at `path` (openpyxl's write-only mode: each row is
    written out to a temporary file as it is appended, not kept). Returns the row count."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    def cell(value: Any) -> Any:
        if value is None or isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        return audit._cell(ILLEGAL_CHARACTERS_RE.sub("", str(value)))

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append([cell(name) for name in header])
    count = 0
    for row in rows:
        sheet.append([cell(value) for value in row])
        count += 1
    book.save(path)
    return count


# --- XLSX exports as jobs ---------------------------------------------------------------------
# An XLSX file can only be sent once it is whole, so it is written by a job (the plan
# uploads' kind, services.jobs) whose progress the page polls; the file is built in a local
# folder, then waits in the file store for its download until the job expires.

EXPORTING = ("exporting",)
KEEP = dt.timedelta(minutes=30)


def begin(staff: Staff, dataset: str, fmt: str, filters: dict, locale: str, *, address: str) -> ExportJob:
    """The job row of an export asked for (the caller starts it: jobs.start_job
    with `write`); expired jobs' files are removed first."""
    forget_expired()
    now = clock.now()
    job = ExportJob(agency_id=staff.agency_id, staff_id=staff.id, address=address[:64], dataset=dataset,
                    format=fmt, filters=filters, locale=locale, created_at=now, expires_at=now + KEEP,
                    state="exporting", phase="waiting", done=0, total=0, heartbeat_at=now)
    db.session.add(job)
    db.session.commit()
    return job


def write(job_id: int, folder: str, parse: Callable[[dict, int], PlanFilters], title: str, header: list[str],
          cells: Callable[[str, Iterable[tuple]], Iterable[list]], now: dt.datetime) -> None:
    """The job: the export's rows written to a file in `folder`, its bytes saved in the file
    store, the job ready with the row count and the export in the audit log (in one commit).
    A file saved whose commit then fails has no row pointing at it: the orphan sweep
    (sweep-photos) removes it."""
    from .jobs import progress

    job = db.session.get(ExportJob, job_id)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, f"export-{job.id}-{os.urandom(8).hex()}.xlsx")
    report = lambda done, total: progress(ExportJob, job_id, "reading", done, total)  # noqa: E731
    filters = parse(job.filters, job.agency_id)
    key = new_export_key()
    try:
        count = write_xlsx(path, title, header, cells(job.dataset, records(job.dataset, job.agency_id, filters, now,
                                                                          report)))
        with open(path, "rb") as built:  # the store takes bytes: the whole file, once
            _store().save(key, built.read())
    finally:
        _remove(path)
    job = db.session.get(ExportJob, job_id)
    job.state, job.phase, job.rows, job.path = "ready", None, count, key
    staff = db.session.get(Staff, job.staff_id)
    audit.record(audit.actor_for(staff, job.address), "data_exported", target=f"{job.dataset}: {count}",
                 after={"dataset": job.dataset, "format": job.format, "filters": job.filters, "rows": count})
    db.session.commit()


def file_of(job: ExportJob) -> Optional[str]:
    """The store key of the finished file of a job not yet expired."""
    if job.state != "ready" or not job.path or job.expires_at <= clock.now() or not EXPORT_KEY_PATTERN.match(job.path):
        return None
    return job.path


def forget_expired() -> None:
    """Expired jobs lose their files (the rows stay: the page says the file is gone)."""
    store = _store()
    for job in db.session.scalars(select(ExportJob).where(ExportJob.expires_at < clock.now(), ExportJob.path.is_not(None))):
        if EXPORT_KEY_PATTERN.match(job.path):
            store.delete(job.path)
        else:  # a file an earlier version kept in a local folder
            _remove(job.path)
        job.path = None
    db.session.commit()


def _store() -> PhotoStore:
    return current_app.extensions["photo_store"]


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
