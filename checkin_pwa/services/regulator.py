"""The regulator's view (监管端, R21): every body's figures side by side for a date range —
its audits, how many of them have an R10 exception, its verifications overdue (R20) and its
cross-audit anomalies — and the weekly chart of exceptions over every body.

The same functions as each body's own pages, asked once for every body (agency None), so
the statements per request do not grow with the number of bodies: the board's three for
the audits and exceptions (and three for the chart), the queue's for the open verifications
(its chunks grow with the plans waiting, as the body's queue does), the anomalies' gather
and one statement naming each plan's body (for the range, and again for the chart's weeks); the anomalies are then found body by body in
Python, from that body's facts alone, so each number is the one the body's own list shows.
No Flask request here: callers pass the range and `now` (aware UTC, the server's clock).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from dataclasses import dataclass

from ..domain import anomalies as anomaly_rules, clock
from ..domain import board as board_rules
from ..domain import audit_exceptions as rules10
from ..domain.board import WeekCount
from ..extensions import db
from ..models import Agency, AuditPlan
from . import anomalies, board
from .exception_verifications import open_standings
from .listing import CALENDAR_ZONE, calendar_today


@dataclass(frozen=True)
class BodyFigures:
    agency_id: int
    code: str
    name: str
    audits: int  # started, their last day in the range
    with_exceptions: int  # of those, with an R10 exception now
    overdue: int  # verifications overdue now (R20), whatever the range
    anomalies: int  # dated in the range

    @property
    def exception_rate(self) -> float | None:
        return self.with_exceptions / self.audits if self.audits else None


@dataclass(frozen=True)
class Overview:
    bodies: list[BodyFigures]
    weeks: list[WeekCount]


def _by_body(facts: anomaly_rules.Facts, body_of: dict[int, int]) -> dict[int, anomaly_rules.Facts]:
    """Every body's own part of the facts (by each row's plan); the online stretches are
    by session and stay with every part."""
    parts: dict[int, dict[str, list]] = {}
    for field in ("assignments", "overlap_pairs", "positions", "photos", "sends", "meeting_photos", "events"):
        for row in getattr(facts, field):
            body = body_of.get(row[0].plan_id if field == "overlap_pairs" else row.plan_id)
            if body is not None:
                parts.setdefault(body, {}).setdefault(field, []).append(row)
    return {body: dataclasses.replace(anomaly_rules.Facts(stretches=facts.stretches), **fields)
            for body, fields in parts.items()}


def anomalies_by_body(since: dt.date, until: dt.date) -> dict[int, list[anomaly_rules.Anomaly]]:
    """Per body, its anomalies dated from `since` to `until` (the calendar's days): the
    facts of every body in one gather, each body's judged alone."""
    start, end = anomalies.day_bounds(since, until)
    facts = anomalies.gather(None, start, end)
    plan_ids = {row.plan_id for field in ("assignments", "positions", "photos", "sends", "meeting_photos", "events")
                for row in getattr(facts, field)} | {first.plan_id for first, _second in facts.overlap_pairs}
    body_of = dict(db.session.execute(db.select(AuditPlan.id, AuditPlan.agency_id)
                                      .where(AuditPlan.id.in_(plan_ids))).all()) if plan_ids else {}
    return {body: [found for found in anomaly_rules.find_all(part) if start <= found.at < end]
            for body, part in _by_body(facts, body_of).items()}


def weekly_counts(now: dt.datetime) -> list[WeekCount]:
    """The board's chart over every body: audits, those with an R10 exception, anomalies."""
    today = calendar_today(now)
    found = anomalies_by_body(board_rules.first_week(today), today)
    days = [clock.local_date(anomaly.at, CALENDAR_ZONE)
            for listed in found.values() for anomaly in listed]
    return board_rules.weekly(board.exception_days(None, now), today, board_rules.WEEKS, days)


def overview(since: dt.date, until: dt.date, now: dt.datetime) -> Overview:
    """Every body, by name, with its figures; and the chart's weeks over every body."""
    audits: Counter = Counter()
    flagged: Counter = Counter()
    for body, _last_day, exceptional in board.ended_audits(None, since, until, now):
        audits[body] += 1
        flagged[body] += exceptional
    overdue = Counter(plan.agency_id for plan, standing in open_standings(None, now)
                      if standing.state == rules10.OVERDUE)
    found = anomalies_by_body(since, until)
    bodies = [BodyFigures(agency.id, agency.code, agency.name, audits[agency.id], flagged[agency.id],
                          overdue[agency.id], len(found.get(agency.id, ())))
              for agency in db.session.scalars(db.select(Agency).order_by(Agency.name, Agency.id))]
    return Overview(bodies, weekly_counts(now))
