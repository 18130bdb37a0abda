"""A plan's exceptions (R10) and reminder (R11) at a moment, from the database.

One place that gathers the facts domain.audit_exceptions needs, for one plan or for a page of
plans at once (one query for the photo counts), so the plan page, today, the calendar,
tasks and history all say the same thing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import func, select

from ..domain import audit_exceptions as rules10
from ..domain.rules import team_state
from ..extensions import db
from ..models import AuditPlan, Photo
from .checkin import plan_facts, team_record


@dataclass(frozen=True)
class PlanStatus:
    """What a list row, a calendar day or the plan page says about a plan's record now."""

    state: str  # domain.rules.team_state
    exceptions: tuple[rules10.PlanException, ...]
    reminder: bool  # R11 签到提醒
    photo_counts: dict

    @property
    def has_exceptions(self) -> bool:
        return bool(self.exceptions)


def photo_counts(plan_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """Photos not deleted, per plan and group."""
    ids = list(plan_ids)
    counts: dict[int, dict[str, int]] = {plan_id: {} for plan_id in ids}
    if not ids:
        return counts
    rows = db.session.execute(
        select(Photo.plan_id, Photo.group, func.count())
        .where(Photo.plan_id.in_(ids), Photo.deleted_at.is_(None))
        .group_by(Photo.plan_id, Photo.group)
    )
    for plan_id, group, count in rows:
        counts[plan_id][group] = count
    return counts


def _team_events(plan: AuditPlan) -> list[rules10.TeamEventFacts]:
    events = []
    for kind in ("in", "out"):
        event = team_record(plan, kind)
        if event is not None:
            events.append(rules10.TeamEventFacts(kind, event.nearest_site_distance_m))
    return events


def status_of(plan: AuditPlan, now: dt.datetime, counts: dict[str, int] | None = None) -> PlanStatus:
    """The plan's status at `now` (aware UTC, the server's clock)."""
    if counts is None:
        counts = photo_counts([plan.id])[plan.id]
    facts = plan_facts(plan)
    return PlanStatus(
        state=team_state(facts),
        exceptions=tuple(rules10.exceptions(facts, _team_events(plan), counts, now)),
        reminder=rules10.needs_reminder(facts, now),
        photo_counts=dict(counts),
    )


def statuses(plans: Iterable[AuditPlan], now: dt.datetime) -> dict[int, PlanStatus]:
    """status_of for many plans with one photo query; load plans with their events."""
    plans = list(plans)
    counts = photo_counts(plan.id for plan in plans)
    return {plan.id: status_of(plan, now, counts[plan.id]) for plan in plans}
