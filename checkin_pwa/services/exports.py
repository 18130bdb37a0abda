"""Exports of a body's records (CSV and XLSX) for a date range and the plan list's filters.

Every dataset is about the body's plans that pass the filters (domain.filters.PlanFilters,
as the console's plan list reads them: the range keeps plans whose audit period overlaps
it). The plans are read 200 at a time (listing.body_entries_in_chunks), and what a dataset
needs of each chunk (events, explanations, verifications) with one query per chunk, so an
export of a year of a large body never holds more than a chunk. `records` yields plain
tuples (the plan's entry and the row's own object); the web layer turns them into cells in
the reader's language. CSV is written as it is read; XLSX with openpyxl's write-only mode
to a temporary file (its rows leave memory as they are written), then sent.

No Flask request here: callers pass the staff member, the parsed filters, `now` (aware UTC,
the server's clock) and the client's address.
"""
from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..domain.filters import PlanFilters
from ..extensions import db
from ..models import ExceptionVerification, Explanation, Staff
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


def _chunks(agency_id: int, filters: PlanFilters, now: dt.datetime) -> Iterator[list]:
    """The filtered plans' entries (plan, status, phase), CHUNK at a time, in the list's order."""
    ids = listing.body_plan_ids(agency_id, filters, now)
    chunk: list = []
    for entry in listing.body_entries_in_chunks(ids, now, size=CHUNK):
        chunk.append(entry)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


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


def records(dataset: str, agency_id: int, filters: PlanFilters, now: dt.datetime) -> Iterator[tuple]:
    """(plan entry, row object) for each row of `dataset`, a chunk of plans at a time."""
    reader = _READERS[dataset]
    for chunk in _chunks(agency_id, filters, now):
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


def write_xlsx(title: str, header: list[str], rows: Iterable[list],
               progress: Optional[Callable[[int], None]] = None, every: int = 1000) -> tuple[BinaryIO, int]:
    """The rows as an XLSX workbook in a temporary file (openpyxl's write-only mode: each
    row is written out as it is appended). Returns the open file, at its start, and the row
    count; the file has no name on disk any more, so it is gone once closed."""
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
        if progress and count % every == 0:
            progress(count)
    handle, path = tempfile.mkstemp(prefix="export-", suffix=".xlsx")
    os.close(handle)
    try:
        book.save(path)
        stream = open(path, "rb")
    finally:
        os.unlink(path)
    return stream, count
