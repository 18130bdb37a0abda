"""Exports of a body's records (CSV and XLSX) for a date range and the plan list's filters.

Every dataset is about the body's plans that pass the filters (domain.filters.PlanFilters,
as the console's plan list reads them: the range keeps plans whose audit period overlaps
it). The plans are read 200 at a time (listing.body_entries_in_chunks), and what a dataset
needs of each chunk (events, explanations, verifications) with one query per chunk, so an
export of a year of a large body never holds more than a chunk. `records` yields plain
tuples (the plan's entry and the row's own object); the web layer turns them into cells in
the reader's language. CSV is written as it is read; XLSX by a job (the plan uploads' kind)
with openpyxl's write-only mode to a file (its rows leave memory as they are written), which
the page offers once whole.

No Flask request here: callers pass the staff member, the parsed filters, `now` (aware UTC,
the server's clock) and the client's address.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..domain.filters import PlanFilters
from ..extensions import db
from ..models import ExceptionVerification, Explanation, ExportJob, Staff, utcnow
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
            progress: Optional[Callable[[int, int], None]] = None) -> Iterator[list]:
    """The filtered plans' entries (plan, status, phase), CHUNK at a time, in the list's
    order; `progress(plans done, plans)` before each chunk and at the end."""
    ids = listing.body_plan_ids(agency_id, filters, now)
    chunk: list = []
    done = 0
    for entry in listing.body_entries_in_chunks(ids, now, size=CHUNK):
        chunk.append(entry)
        if len(chunk) == CHUNK:
            if progress:
                progress(done, len(ids))
            yield chunk
            done += len(chunk)
            chunk = []
    if chunk:
        yield chunk
    if progress:
        progress(len(ids), len(ids))


def _plans(chunk: list) -> Iterator[tuple]:
    for entry in chunk:
        yield entry, None


def _events(chunk: list) -> Iterator[tuple]:
    for entry in chunk:
        for event in sorted(entry.plan.events, key=lambda event: (event.server_time, event.id)):
            yield entry, event


def _exceptions(chunk: list) -> Iterator[tuple]:
    for entry in chunk:
        for view in exception_views(entry.plan, entry.status):
            yield entry, view


def _explanations(chunk: list) -> Iterator[tuple]:
    by_id = [entry.plan.id for entry in chunk]
    rows = db.session.scalars(select(Explanation).where(Explanation.plan_id.in_(by_id))
                              .options(selectinload(Explanation.author))
                              .order_by(Explanation.plan_id, Explanation.created_at, Explanation.id)).all()
    yield from _by_plan(chunk, rows)


def _verifications(chunk: list) -> Iterator[tuple]:
    by_id = [entry.plan.id for entry in chunk]
    rows = db.session.scalars(select(ExceptionVerification).where(ExceptionVerification.plan_id.in_(by_id))
                              .options(selectinload(ExceptionVerification.staff))
                              .order_by(ExceptionVerification.plan_id, ExceptionVerification.created_at,
                                        ExceptionVerification.id)).all()
    yield from _by_plan(chunk, rows)


def _by_plan(chunk: list, rows: list) -> Iterator[tuple]:
    grouped: dict[int, list] = {}
    for row in rows:
        grouped.setdefault(row.plan_id, []).append(row)
    for entry in chunk:
        for row in grouped.get(entry.plan.id, ()):
            yield entry, row


_READERS: dict[str, Callable[[list], Iterator[tuple]]] = {
    "plans": _plans, "events": _events, "exceptions": _exceptions,
    "explanations": _explanations, "verifications": _verifications,
}


def records(dataset: str, agency_id: int, filters: PlanFilters, now: dt.datetime,
            progress: Optional[Callable[[int, int], None]] = None) -> Iterator[tuple]:
    """(plan entry, row object) for each row of `dataset`, a chunk of plans at a time."""
    reader = _READERS[dataset]
    for chunk in _chunks(agency_id, filters, now, progress):
        yield from reader(chunk)


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
# uploads' kind: services.plan_uploads.start_job) whose progress the page polls; the file
# then waits in `folder` for its download until the job expires.

EXPORTING = ("exporting",)
KEEP = dt.timedelta(minutes=30)


def begin(staff: Staff, dataset: str, fmt: str, filters: dict, locale: str, *, address: str,
          folder: str) -> ExportJob:
    """The job row of an export asked for (the caller starts it: plan_uploads.start_job
    with `write`); expired jobs' files are removed first."""
    forget_expired(folder)
    now = utcnow()
    job = ExportJob(agency_id=staff.agency_id, staff_id=staff.id, address=address[:64], dataset=dataset,
                    format=fmt, filters=filters, locale=locale, created_at=now, expires_at=now + KEEP,
                    state="exporting", phase="waiting", done=0, total=0, heartbeat_at=now)
    db.session.add(job)
    db.session.commit()
    return job


def write(job_id: int, folder: str, parse: Callable[[dict, int], PlanFilters], title: str, header: list[str],
          cells: Callable[[str, Iterable[tuple]], Iterable[list]], now: dt.datetime) -> None:
    """The job: the export's rows written to its file, the job ready with the row count and
    the export in the audit log (in one commit)."""
    from .plan_uploads import progress

    job = db.session.get(ExportJob, job_id)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    path = os.path.join(folder, f"export-{job.id}-{os.urandom(8).hex()}.xlsx")
    report = lambda done, total: progress(ExportJob, job_id, "reading", done, total)  # noqa: E731
    filters = parse(job.filters, job.agency_id)
    try:
        count = write_xlsx(path, title, header, cells(job.dataset, records(job.dataset, job.agency_id, filters, now,
                                                                          report)))
    except BaseException:
        _remove(path)
        raise
    job = db.session.get(ExportJob, job_id)
    job.state, job.phase, job.rows, job.path = "ready", None, count, path
    staff = db.session.get(Staff, job.staff_id)
    audit.record(audit.actor_for(staff, job.address), "data_exported", target=f"{job.dataset}: {count}",
                 after={"dataset": job.dataset, "format": job.format, "filters": job.filters, "rows": count})
    db.session.commit()


def file_of(job: ExportJob) -> Optional[str]:
    """The finished file of a job not yet expired, if it is still there."""
    if job.state != "ready" or not job.path or job.expires_at <= utcnow() or not os.path.exists(job.path):
        return None
    return job.path


def forget_expired(folder: str) -> None:
    """Expired jobs lose their files (the rows stay: the page says the file is gone)."""
    for job in db.session.scalars(select(ExportJob).where(ExportJob.expires_at < utcnow(), ExportJob.path.is_not(None))):
        _remove(job.path)
        job.path = None
    db.session.commit()


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
