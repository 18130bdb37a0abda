"""Today's board of a body (今日看板) and its weekly exceptions chart, from the database.

R16: only the body's own plans. No Flask request here: callers pass the body's id, the
parsed filters (domain.board) and `now` (aware UTC, the server's clock).

A fixed number of statements whatever the number of audits: the board is one query of
the plans that can be today's in any zone (services.checkin.around_today, then R2's
is_today_task per plan) with their team, auditors, events and enterprise loaded in one
statement each; the filters' choices come from those rows. The chart is three light
queries (plans, team events, photo counts) over its weeks, judged by R10's rule.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from ..domain import board as rules
from ..domain import exceptions as rules10
from ..domain.filters import Page, page_of
from ..domain.rules import PlanFacts, is_today_task, team_state
from ..extensions import db
from ..models import AuditPlan, CheckEvent, Photo, TeamMember
from .checkin import DEFAULT_TIMEZONE, PlanTimes, around_today, local_time, plan_facts, team_record
from .listing import calendar_today

BOARD_PER_PAGE = 50
UTC = dt.timezone.utc

_BOARD_LOADING = (
    selectinload(AuditPlan.team).selectinload(TeamMember.auditor),
    selectinload(AuditPlan.events),
    selectinload(AuditPlan.enterprise),
)


@dataclass(frozen=True)
class BoardRow(PlanTimes):
    """One audit of today as the board shows it."""

    plan: AuditPlan
    state: str  # domain.rules.team_state
    late: Optional[rules.Lateness]
    checked_in_at: Optional[dt.datetime]  # the team's check-in (receipt), on the plan's clock
    checked_in_by: Optional[str]


@dataclass(frozen=True)
class Board:
    rows: list[BoardRow]  # this page's
    page: Page
    counts: dict[str, int]  # of the filtered audits (domain.board.counts)
    today_total: int  # every audit of today, unfiltered
    regions: list[str]
    auditors: list[tuple[int, str]]
    projects: list[str]


def _row(plan: AuditPlan, facts: PlanFacts, now: dt.datetime) -> BoardRow:
    event = team_record(plan, "in")
    by = None
    if event is not None:
        by = next((member.auditor.name for member in plan.team if member.auditor_id == event.signer_id), None)
    return BoardRow(plan, team_state(facts), rules.lateness(facts, now),
                    local_time(plan, event.server_time) if event else None, by)


def todays_plans(agency_id: int, now: dt.datetime) -> list[tuple[AuditPlan, PlanFacts]]:
    """R2 for a body: its plans whose audit period includes today on the plan's own clock,
    cancelled ones too (the board says so), with what a row shows loaded."""
    plans = db.session.scalars(
        select(AuditPlan).where(AuditPlan.agency_id == agency_id, *around_today(now)).options(*_BOARD_LOADING)
    ).all()
    found = []
    for plan in plans:
        facts = plan_facts(plan)
        if is_today_task(facts, now):
            found.append((plan, facts))
    return found


def today_board(agency_id: int, filters: rules.BoardFilters, asked_page: object, now: dt.datetime) -> Board:
    """The board: today's audits that pass `filters`, late and not checked in first, one page;
    the counts of all of them; the filters' choices from every audit of today."""
    today = todays_plans(agency_id, now)
    regions, auditors, projects = set(), {}, set()
    rows = []
    for plan, facts in today:
        if plan.region:
            regions.add(plan.region)
        projects.add(plan.project_code)
        for member in plan.team:
            auditors[member.auditor_id] = member.auditor.name
        if filters.keeps(plan.region, facts.team, plan.project_code):
            row = _row(plan, facts, now)
            rows.append((rules.sort_key(facts, now, row.late), row))
    rows.sort(key=lambda pair: pair[0])
    page = page_of(asked_page, len(rows), BOARD_PER_PAGE)
    shown = [row for _, row in rows[page.offset: page.offset + page.per_page]]
    return Board(
        rows=shown, page=page, counts=rules.counts(row.state for _, row in rows), today_total=len(today),
        regions=sorted(regions), auditors=sorted(auditors.items(), key=lambda item: (item[1], item[0])),
        projects=sorted(projects),
    )


def today_counts(agency_id: int, now: dt.datetime) -> dict[str, int]:
    """The counts of every audit of today (the console's first page shows them)."""
    return rules.counts(team_state(facts) for _, facts in todays_plans(agency_id, now))


# --- the exceptions chart --------------------------------------------------------------------

def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def exceptions_by_week(agency_id: int, now: dt.datetime, weeks: int = rules.WEEKS) -> list[rules.WeekCount]:
    """Per week (in the calendar's zone, Monday first), the body's audits whose last day fell
    in it and how many of them have an R10 exception now. Only plans that have started can
    have one; a local day lies within a day of the UTC one."""
    today = calendar_today(now)
    first = rules.week_of(today) - dt.timedelta(weeks=weeks - 1)
    window = (AuditPlan.agency_id == agency_id,
              AuditPlan.end_utc >= dt.datetime.combine(first - dt.timedelta(days=1), dt.time()),
              AuditPlan.start_utc <= _naive(now))
    plans = db.session.execute(
        select(AuditPlan.id, AuditPlan.enterprise_id, AuditPlan.start_utc, AuditPlan.end_utc, AuditPlan.timezone,
               AuditPlan.mode, AuditPlan.status).where(*window)
    ).all()
    # The team's events: whether each kind is there (its receipt stands for the time; R10
    # only asks whether there is one) and its distance to the nearest site.
    events: dict[int, list] = {}
    for plan_id, kind, at, distance in db.session.execute(
        select(CheckEvent.plan_id, CheckEvent.kind, CheckEvent.server_time, CheckEvent.nearest_site_distance_m)
        .join(AuditPlan, AuditPlan.id == CheckEvent.plan_id).where(*window, CheckEvent.counts_for_team)
    ):
        events.setdefault(plan_id, []).append((kind, at, distance))
    photos: dict[int, dict[str, int]] = {}
    for plan_id, group, count in db.session.execute(
        select(Photo.plan_id, Photo.group, func.count()).join(AuditPlan, AuditPlan.id == Photo.plan_id)
        .where(*window, Photo.deleted_at.is_(None)).group_by(Photo.plan_id, Photo.group)
    ):
        photos.setdefault(plan_id, {})[group] = count
    last_days = []
    for plan_id, enterprise_id, start, end, zone, mode, status in plans:
        own = events.get(plan_id, [])
        times = {kind: at.replace(tzinfo=UTC) for kind, at, _ in own}
        facts = PlanFacts(plan_id=plan_id, enterprise_id=enterprise_id, start=start.replace(tzinfo=UTC),
                          end=end.replace(tzinfo=UTC), timezone=zone or DEFAULT_TIMEZONE, mode=mode,
                          status=status, team=frozenset(), checked_in_at=times.get("in"),
                          checked_out_at=times.get("out"))
        found = rules10.exceptions(facts, [rules10.TeamEventFacts(kind, distance) for kind, _, distance in own],
                                   photos.get(plan_id, {}), now)
        last_days.append((facts.last_day, bool(found)))
    return rules.weekly(last_days, today, weeks)
