"""Today's board of a body (今日看板) and its weekly exceptions chart, from the database.

R16: only the body's own plans. No Flask request here: callers pass the body's id, the
parsed filters (domain.board) and `now` (aware UTC, the server's clock).

A fixed number of statements whatever the number of audits: three light queries read the
columns, teams and team events of the plans that can be today's in any zone
(services.plan_access.around_today, then R2's is_today_task per plan), enough to filter, count
and order them and to offer the filters' choices; then only the page's plans (at most
BOARD_PER_PAGE) are loaded in full, one statement per relation. The chart's exceptions are
four light queries over its weeks: every plan's times (its last day), and for the plans
that may have an exception (the verification queue's open_review marker, and the verified
ones) their columns, team events and photos summed up by the database, each judged by R10's
rule; its anomalies are the anomalies list's own finding.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import case, func, or_, select

from ..domain import board as rules, clock
from ..domain import audit_exceptions as rules10
from ..domain.filters import Page, page_of
from ..domain.rules import PlanFacts, is_today_task, team_state
from ..extensions import db
from ..models import AuditPlan, Auditor, CheckEvent, ExceptionVerification, OpenReview, Photo, TeamMember
from . import open_reviews  # noqa: F401  (keeps the open_review marker in step on every flush)
from .anomalies import found_between
from .checkin import PlanTimes, facts_of, plan_facts, team_record
from .plan_access import PLAN_LOADING, around_today
from .listing import CALENDAR_ZONE, calendar_today, light_facts

BOARD_PER_PAGE = 50

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
    waiting: int  # of those, teams still not checked in after their start (R11's reminder)
    today_total: int  # every audit of today, unfiltered
    regions: list[str]
    auditors: list[tuple[int, str]]
    projects: list[str]


@dataclass(frozen=True)
class Today:
    """Today's audits of a body, light: each plan's row of columns and its facts, and the
    names of the auditors on their teams."""

    plans: list[tuple[object, PlanFacts]]
    names: dict[int, str]


def todays_plans(agency_id: int, now: dt.datetime) -> Today:
    """R2 for a body: its plans whose audit period includes today on the plan's own clock,
    cancelled ones too (the board says so). Three light queries over the plans that can be
    today's in any zone (their columns, their teams with names, their team events); the
    per-zone check and the facts in Python."""
    window = (AuditPlan.agency_id == agency_id, *around_today(now))
    plans = db.session.execute(
        select(AuditPlan.id, AuditPlan.enterprise_id, AuditPlan.start_utc, AuditPlan.end_utc, AuditPlan.timezone,
               AuditPlan.mode, AuditPlan.status, AuditPlan.region, AuditPlan.project_code).where(*window)
    ).all()
    teams: dict[int, list[int]] = {}
    names: dict[int, str] = {}
    for plan_id, auditor_id, name in db.session.execute(
        select(TeamMember.plan_id, TeamMember.auditor_id, Auditor.name)
        .join(AuditPlan, AuditPlan.id == TeamMember.plan_id).join(Auditor, Auditor.id == TeamMember.auditor_id)
        .where(*window)
    ):
        teams.setdefault(plan_id, []).append(auditor_id)
        names[auditor_id] = name
    events: dict[int, list] = {}
    for event in db.session.execute(
        select(CheckEvent.plan_id, CheckEvent.kind, CheckEvent.counts_for_team, CheckEvent.queued_offline,
               CheckEvent.flags, CheckEvent.server_time)
        .join(AuditPlan, AuditPlan.id == CheckEvent.plan_id).where(*window, CheckEvent.counts_for_team)
    ):
        events.setdefault(event.plan_id, []).append(event)
    found = []
    for plan in plans:
        facts = facts_of(plan, teams.get(plan.id, ()), events.get(plan.id, ()))
        if is_today_task(facts, now):
            found.append((plan, facts))
    return Today(found, names)


def _rows(plan_ids: list[int], now: dt.datetime) -> list[BoardRow]:
    """The page's plans loaded with what a row shows, in the order of `plan_ids`."""
    if not plan_ids:
        return []
    loaded = {plan.id: plan for plan in db.session.scalars(
        select(AuditPlan).where(AuditPlan.id.in_(plan_ids)).options(*PLAN_LOADING))}
    rows = []
    for plan in (loaded[plan_id] for plan_id in plan_ids if plan_id in loaded):
        facts = plan_facts(plan)
        event = team_record(plan, "in")
        by = None
        if event is not None:
            by = next((member.auditor.name for member in plan.team if member.auditor_id == event.signer_id), None)
        rows.append(BoardRow(plan, team_state(facts), rules.lateness(facts, now),
                             clock.local(event.server_time, plan.timezone) if event else None, by))
    return rows


def today_board(agency_id: int, filters: rules.BoardFilters, asked_page: object, now: dt.datetime) -> Board:
    """The board: today's audits that pass `filters`, late and not checked in first, one page
    (only its plans are loaded in full); the counts of all of them; the filters' choices
    from every audit of today."""
    today = todays_plans(agency_id, now)
    regions, auditors, projects = set(), set(), set()
    chosen = []
    waiting = 0
    for plan, facts in today.plans:
        if plan.region:
            regions.add(plan.region)
        projects.add(plan.project_code)
        auditors.update(facts.team)
        if filters.keeps(plan.region, facts.team, plan.project_code):
            late = rules.lateness(facts, now)
            chosen.append((rules.sort_key(facts, late), team_state(facts), plan.id))
            waiting += bool(late and late.waiting)
    chosen.sort()
    page = page_of(asked_page, len(chosen), BOARD_PER_PAGE)
    shown = [plan_id for _, _, plan_id in chosen[page.offset: page.offset + page.per_page]]
    return Board(
        rows=_rows(shown, now), page=page, counts=rules.counts(state for _, state, _ in chosen), waiting=waiting,
        today_total=len(today.plans), regions=sorted(regions),
        auditors=sorted(((person, today.names[person]) for person in auditors), key=lambda item: (item[1], item[0])),
        projects=sorted(projects),
    )


def today_counts(agency_id: int, now: dt.datetime) -> dict[str, int]:
    """The counts of every audit of today (the console's first page shows them)."""
    return rules.counts(team_state(facts) for _, facts in todays_plans(agency_id, now).plans)


# --- the exceptions chart --------------------------------------------------------------------

def _aware(value) -> dt.datetime:
    """A stored time from an aggregate (SQLite gives it back as text)."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return clock.as_utc(value)


def exception_days(agency_id: Optional[int], now: dt.datetime, weeks: int = rules.WEEKS) -> list[tuple[dt.date, bool]]:
    """The last day of each of the body's audits (every body's for None) that may fall in
    the chart's weeks, and whether it has an R10 exception now."""
    today = calendar_today(now)
    found = ended_audits(agency_id, rules.first_week(today, weeks), rules.week_of(today) + dt.timedelta(days=6), now)
    return [(last_day, flagged) for _agency, last_day, flagged in found]


def may_have_exception(agency_id: Optional[int]):
    """Over AuditPlan: the body's plans (every body's for None) that may have an R10
    exception now — those the open_review marker lists (services.open_reviews: not verified,
    a record that may give one) and those with a verification (a verified plan keeps its
    exceptions). Every plan R10 flags is among them; the many with a clean record are not."""
    marked, verified = select(OpenReview.plan_id), select(ExceptionVerification.plan_id)
    if agency_id is not None:
        marked = marked.where(OpenReview.agency_id == agency_id)
        verified = verified.where(ExceptionVerification.agency_id == agency_id)
    return or_(AuditPlan.id.in_(marked), AuditPlan.id.in_(verified))


def ended_audits(agency_id: Optional[int], since: dt.date, until: dt.date,
                 now: dt.datetime) -> list[tuple[int, dt.date, bool]]:
    """(body, last day, whether it has an R10 exception now) of the body's audits (every
    body's for None) that have started and whose last day is from `since` to `until`. Only
    plans that have started can have an exception; a local day lies within a day of the
    UTC one. Four statements whatever the number of plans and bodies: every plan's last day
    is read from its times; only the plans that may have an exception (may_have_exception)
    are judged by R10, from their team events and photos summed up by the database."""
    window = (*((AuditPlan.agency_id == agency_id,) if agency_id is not None else ()),
              AuditPlan.end_utc >= dt.datetime.combine(since - dt.timedelta(days=1), dt.time()),
              AuditPlan.end_utc < dt.datetime.combine(until + dt.timedelta(days=2), dt.time()),
              AuditPlan.start_utc <= clock.as_utc(now))
    judged = (*window, may_have_exception(agency_id))
    # Per plan judged, one row each: whether the team checked in and out (a receipt stands
    # for the time: R10 only asks whether there is one) and its farthest event from a planned
    # site (R10 asks whether one is over the limit); the meeting photos per group.
    events = {row[0]: row[1:] for row in db.session.execute(
        select(CheckEvent.plan_id, func.max(case((CheckEvent.kind == "in", CheckEvent.server_time))),
               func.max(case((CheckEvent.kind == "out", CheckEvent.server_time))),
               func.max(CheckEvent.nearest_site_distance_m))
        .join(AuditPlan, AuditPlan.id == CheckEvent.plan_id).where(*judged, CheckEvent.counts_for_team)
        .group_by(CheckEvent.plan_id)
    )}
    photos = {row[0]: {"first": row[1], "last": row[2]} for row in db.session.execute(
        select(Photo.plan_id, func.sum(case((Photo.group == "first", 1), else_=0)),
               func.sum(case((Photo.group == "last", 1), else_=0)))
        .join(AuditPlan, AuditPlan.id == Photo.plan_id).where(*judged, Photo.deleted_at.is_(None))
        .group_by(Photo.plan_id)
    )}
    flagged = set()
    nothing = (None, None, None)
    for plan_id, enterprise_id, start, end, zone, mode, status in db.session.execute(
        select(AuditPlan.id, AuditPlan.enterprise_id, AuditPlan.start_utc, AuditPlan.end_utc, AuditPlan.timezone,
               AuditPlan.mode, AuditPlan.status).where(*judged)
    ):
        checked_in, checked_out, farthest = events.get(plan_id, nothing)
        facts = PlanFacts(plan_id=plan_id, enterprise_id=enterprise_id, start=clock.as_utc(start),
                          end=clock.as_utc(end), timezone=zone or clock.DEFAULT_ZONE_NAME, mode=mode,
                          status=status, team=frozenset(),
                          checked_in_at=checked_in and _aware(checked_in),
                          checked_out_at=checked_out and _aware(checked_out))
        team_events = [rules10.TeamEventFacts("in", farthest)] if farthest is not None else []
        if rules10.exceptions(facts, team_events, photos.get(plan_id, {}), now):
            flagged.add(plan_id)
    last_days = []
    for plan_id, agency, start, end, zone in db.session.execute(
        select(AuditPlan.id, AuditPlan.agency_id, AuditPlan.start_utc, AuditPlan.end_utc, AuditPlan.timezone)
        .where(*window)
    ):
        last_day = light_facts(plan_id, start, end, zone).last_day
        if since <= last_day <= until:
            last_days.append((agency, last_day, plan_id in flagged))
    return last_days


def anomaly_days(agency_id: int, now: dt.datetime, weeks: int = rules.WEEKS) -> list[dt.date]:
    """The day (in the calendar's zone) of each cross-audit anomaly (R21) of the body in the
    chart's weeks up to today: the anomalies list's own finding (services.anomalies), a
    fixed number of statements; the weeks (84 days) are within its longest range."""
    today = calendar_today(now)
    return [clock.local_date(anomaly.at, CALENDAR_ZONE)
            for anomaly in found_between(agency_id, rules.first_week(today, weeks), today, exact=False)]


def weekly_counts(agency_id: int, now: dt.datetime, weeks: int = rules.WEEKS) -> list[rules.WeekCount]:
    """The chart's weeks of the body: audits, those with an R10 exception, and anomalies."""
    return rules.weekly(exception_days(agency_id, now, weeks), calendar_today(now), weeks,
                        anomaly_days(agency_id, now, weeks))
