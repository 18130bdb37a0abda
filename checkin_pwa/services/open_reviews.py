"""The plans that may need the body's verification (R20), kept in the `open_review` table.

A plan has a row when it needs a check-in (not cancelled, not remote), has no verification,
and its record may give an R10 exception: a team check-in or check-out missing, a meeting's
photos missing, or a team event farther than R5's limit from the sites. That is a necessary
condition of R10's `exceptions` for an ended plan, read from stored columns only (no clock),
so it changes only when the record does. The row is a marker, not the decision: the queue
lists the marked plans whose audit is over and R10 (domain.audit_exceptions) judges each.

Every flush that writes a plan, a check-in event, a photo or a verification re-reads the
marker of the plans it touched (one DELETE and one INSERT … SELECT), so no writer has to
remember it. Rows written without the ORM's unit of work (bulk inserts) are not seen:
such a writer calls `refresh` itself.
"""
from __future__ import annotations

from typing import Iterable, Optional

from sqlalchemy import and_, bindparam, delete, event, exists, insert, not_, or_, select
from sqlalchemy.orm import Session

from ..domain.geo import DEVIATION_LIMIT_M
from ..models import AuditPlan, CheckEvent, ExceptionVerification, OpenReview, Photo


def _team_event(kind: str):
    return exists().where(CheckEvent.plan_id == AuditPlan.id, CheckEvent.kind == kind,
                          CheckEvent.counts_for_team.is_(True))


def _photo(group: str):
    return exists().where(Photo.plan_id == AuditPlan.id, Photo.group == group, Photo.deleted_at.is_(None))


# The marker's condition over AuditPlan's row (see the module's text).
MAY_NEED_REVIEW = and_(
    AuditPlan.status != "cancelled",
    AuditPlan.mode != "remote",
    not_(exists().where(ExceptionVerification.plan_id == AuditPlan.id)),
    or_(~_team_event("in"), ~_team_event("out"), ~_photo("first"), ~_photo("last"),
        exists().where(CheckEvent.plan_id == AuditPlan.id, CheckEvent.counts_for_team.is_(True),
                       CheckEvent.nearest_site_distance_m > DEVIATION_LIMIT_M)),
)


CHUNK = 500  # plans per statement (an import's flush may hold thousands)

_CHOSEN = select(AuditPlan.id, AuditPlan.agency_id).where(MAY_NEED_REVIEW)
# Built once (every flush that writes a plan's record runs them): the plans come as an
# expanding parameter, so neither statement is built nor its cache key computed again.
_DELETE_SOME = delete(OpenReview).where(OpenReview.plan_id.in_(bindparam("ids", expanding=True)))
_INSERT_SOME = insert(OpenReview).from_select(
    ["plan_id", "agency_id"], _CHOSEN.where(AuditPlan.id.in_(bindparam("ids", expanding=True))))


def refresh(connection, plan_ids: Optional[Iterable[int]] = None) -> None:
    """Re-read the marker of `plan_ids` (every plan when None) on `connection`."""
    if plan_ids is None:
        connection.execute(delete(OpenReview))
        connection.execute(insert(OpenReview).from_select(["plan_id", "agency_id"], _CHOSEN))
        return
    ids = sorted(set(plan_ids))
    for start in range(0, len(ids), CHUNK):
        some = {"ids": ids[start: start + CHUNK]}
        connection.execute(_DELETE_SOME, some)
        connection.execute(_INSERT_SOME, some)


_WATCHED = (CheckEvent, Photo, ExceptionVerification)


def _touched(session: Session) -> set[int]:
    ids = set()
    for row in (*session.new, *session.dirty, *session.deleted):
        if isinstance(row, AuditPlan):
            ids.add(row.id)
        elif isinstance(row, _WATCHED) and row.plan_id is not None:
            ids.add(row.plan_id)
    ids.discard(None)
    return ids


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context) -> None:
    ids = _touched(session)
    if ids:
        refresh(session.connection(), ids)
