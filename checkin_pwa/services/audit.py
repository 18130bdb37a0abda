"""The management end's audit log (R18, R21): every staff action, append-only. Entries are
added to the caller's transaction, so an action and its entry are committed together."""
from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

from ..domain import clock
from ..domain.filters import page_within
from ..extensions import db
from ..models import AuditLogEntry, Staff

# What an entry records; the console words each code (console/words.py).
ACTIONS = (
    "login", "login_failed", "login_refused_disabled", "second_factor_failed", "second_factor_set_up",
    "recovery_code_used", "recovery_codes_renewed", "password_changed", "password_change_failed",
    "logout", "session_expired", "staff_created", "staff_role_changed", "staff_disabled",
    "staff_enabled", "staff_reset", "profile_changed",
    "auditor_disabled", "auditor_enabled", "auditor_password_reset", "auditor_restriction_lifted",
    "auditor_created", "auditor_changed",
    "token_created", "token_revoked",
    "phone_change_approved", "phone_change_refused",
    "plans_checked", "plans_committed", "plans_exported", "data_exported",
    "notice_created", "notice_published", "notice_scheduled", "notice_withdrawn", "notice_attachment_added",
    "plan_changed", "plan_cancelled",
    "notice_changed",
    "exceptions_verified",
)

PER_PAGE = 50


@dataclass(frozen=True)
class Actor:
    """Who acts, from where: the staff member (None at a failed login with an unknown
    number), their body, and a label kept in the entry as it reads today."""

    staff_id: Optional[int]
    agency_id: Optional[int]
    label: str
    address: str


def actor_for(staff: Staff, address: str) -> Actor:
    return Actor(staff.id, staff.agency_id, f"{staff.name} ({staff.phone})", address[:64])


def record(actor: Actor, action: str, *, target: Optional[str] = None,
           before: Optional[dict] = None, after: Optional[dict] = None) -> AuditLogEntry:
    """Add an entry to the current transaction (the caller commits with its change)."""
    assert action in ACTIONS, action
    entry = AuditLogEntry(at=clock.now(), agency_id=actor.agency_id, staff_id=actor.staff_id,
                          actor=actor.label[:140], address=actor.address[:64], action=action,
                          target=target[:140] if target else None, before=before, after=after)
    db.session.add(entry)
    return entry


@dataclass(frozen=True)
class LogFilter:
    action: Optional[str] = None
    staff_id: Optional[int] = None
    since: Optional[dt.date] = None  # days on the body's clock (Beijing), inclusive
    until: Optional[dt.date] = None


def _local_midnight_utc(day: dt.date, offset_minutes: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()) - dt.timedelta(minutes=offset_minutes)


def _query(agency_id: int, wanted: LogFilter, offset_minutes: int):
    query = db.select(AuditLogEntry).where(AuditLogEntry.agency_id == agency_id)
    if wanted.action:
        query = query.where(AuditLogEntry.action == wanted.action)
    if wanted.staff_id:
        query = query.where(AuditLogEntry.staff_id == wanted.staff_id)
    if wanted.since:
        query = query.where(AuditLogEntry.at >= _local_midnight_utc(wanted.since, offset_minutes))
    if wanted.until:
        next_day = wanted.until + dt.timedelta(days=1)
        query = query.where(AuditLogEntry.at < _local_midnight_utc(next_day, offset_minutes))
    return query


@dataclass(frozen=True)
class LogPage:
    entries: list[AuditLogEntry]
    page: int
    pages: int
    total: int


def page_of(agency_id: int, wanted: LogFilter, page: int, *, offset_minutes: int = 480,
            per_page: int = PER_PAGE) -> LogPage:
    """One page of the body's entries, newest first (paginated in the database)."""
    query = _query(agency_id, wanted, offset_minutes)
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery())) or 0
    at = page_within(page, total, per_page)
    rows = db.session.scalars(query.order_by(AuditLogEntry.id.desc())
                              .limit(per_page).offset(at.offset)).all()
    return LogPage(list(rows), at.number, at.pages, total)


def _cell(value) -> str:
    """A spreadsheet reads a cell starting with = + - @ as a formula: quote it (a number,
    such as a negative one, is a number and stays as it is)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_stream(header: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """CSV text for a spreadsheet, a line at a time (for a streamed download): a BOM, the
    header, then each row, every cell quoted against formulas (_cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield "\ufeff"  # Excel opens UTF-8 CSV with Chinese correctly only with a BOM
    writer.writerow(header)
    yield flush()
    for row in rows:
        writer.writerow([_cell(value) for value in row])
        yield flush()


def csv_lines(agency_id: int, wanted: LogFilter, header: list[str], words, local_time, *,
              offset_minutes: int = 480) -> Iterator[str]:
    """The filtered entries as CSV text, a line at a time (streamed: the log grows without
    bound). `words(action)` and `local_time(at)` render the columns in the reader's terms."""
    import json

    query = _query(agency_id, wanted, offset_minutes).order_by(AuditLogEntry.id.desc())
    rows = ([entry.id, local_time(entry.at), entry.actor, entry.address, words(entry.action), entry.target,
             json.dumps(entry.before, ensure_ascii=False) if entry.before is not None else "",
             json.dumps(entry.after, ensure_ascii=False) if entry.after is not None else ""]
            for entry in db.session.scalars(query.execution_options(yield_per=500)))
    return csv_stream(header, rows)
