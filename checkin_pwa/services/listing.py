"""The calendar (R12) and the lists of tasks and history (R13): which of the auditor's
plans a month, a day or a filtered page shows, with their status (services.plan_status).

R16 everywhere: only plans whose team includes the auditor. No Flask request here: callers
pass the auditor, the parsed filters (domain.filters) and `now` (aware UTC).

Queries stay few whatever the page size. The calendar reads the plans around its month;
tasks and history are filtered, split, counted and cut into pages by the database, which
asks Python only about the few plans near a day's boundary, where the answer depends on
each plan's own zone. Then one query loads just the plans shown with their team, events,
sites and enterprise (plan_access.PLAN_LOADING), one counts their photos (plan_status.statuses) and
one reads their explanations.
"""
from __future__ import annotations

import datetime as dt
import json
import string
from dataclasses import dataclass, replace
from typing import Optional

from sqlalchemy import String, and_, bindparam, exists, func, null, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from ..domain import audit_exceptions as rules10, clock
from ..domain.filters import Levels, Month, Page, PlanFilters, ProjectTree, TaskFilters, clean_levels, matches, page_of
from ..domain.rules import PlanFacts
from ..extensions import db
from ..models import AuditPlan, Auditor, CheckEvent, Enterprise, Explanation, TeamMember
from . import explanations as explanation_service
from .checkin import PlanTimes, plan_facts
from .plan_access import PLAN_LOADING
from .plan_status import PlanStatus, statuses

# The calendar's own "today" and "this month": the zone of the auditors' plans (the app is
# for Chinese certification bodies; plans default to it). Each plan's days are still read on
# its own clock (domain.audit_exceptions.day_type).
CALENDAR_ZONE = clock.DEFAULT_ZONE

TASKS = "tasks"
HISTORY = "history"

def calendar_today(now: dt.datetime) -> dt.date:
    return clock.local_date(now, CALENDAR_ZONE)


def _naive(day: dt.date, days: int = 0) -> dt.datetime:
    """Midnight UTC of `day` + `days`, naive as stored."""
    return dt.datetime.combine(day + dt.timedelta(days=days), dt.time())


def light_facts(plan_id: int, start_utc: dt.datetime, end_utc: dt.datetime, zone: Optional[str],
                 status: str = "valid") -> PlanFacts:
    """Enough of a plan's facts for its local days and phase (no team, no events)."""
    return PlanFacts(plan_id=plan_id, enterprise_id=0, start=clock.as_utc(start_utc),
                     end=clock.as_utc(end_utc), timezone=zone or clock.DEFAULT_ZONE_NAME,
                     mode="onsite", status=status or "valid", team=frozenset())


def load_plans(plan_ids: list[int]) -> dict[int, AuditPlan]:
    """The plans `plan_ids` with what a list shows and R10 judges (team, events, sites,
    enterprise), by id: plan_access.PLAN_LOADING's statements (per 500 plans)."""
    if not plan_ids:
        return {}
    plans = db.session.scalars(select(AuditPlan).where(AuditPlan.id.in_(plan_ids)).options(*PLAN_LOADING))
    return {plan.id: plan for plan in plans}


def role_of(plan: AuditPlan, auditor: Auditor) -> Optional[str]:
    for member in plan.team:
        if member.auditor_id == auditor.id:
            return member.role
    return None


# --- the calendar (R12) -------------------------------------------------------------------

@dataclass(frozen=True)
class DayMark:
    """How one calendar day looks: its colour (day type), how many plans, a red `!`."""

    day_type: str  # domain.audit_exceptions ALL_DAY | MORNING | AFTERNOON
    plans: int
    exception: bool


@dataclass(frozen=True)
class MonthView:
    month: Month
    today: dt.date
    days: dict[dt.date, DayMark]

    @property
    def weeks(self) -> list[list[Optional[dt.date]]]:
        return self.month.weeks()


def _plans_around(auditor: Auditor, first: dt.date, last: dt.date) -> list[AuditPlan]:
    """The auditor's plans that may touch local days first..last in any zone (a local day
    lies within a day of the UTC one), fully loaded."""
    ids = db.session.scalars(
        select(TeamMember.plan_id)
        .where(TeamMember.auditor_id == auditor.id,
               TeamMember.plan_start_utc < _naive(last, 2), TeamMember.plan_end_utc >= _naive(first, -1))
    ).all()
    plans = load_plans(list(ids))
    return sorted(plans.values(), key=lambda plan: (plan.start_utc, plan.id))


def calendar(auditor: Auditor, month: Month, day: Optional[dt.date], now: dt.datetime) -> tuple[MonthView, list[PlanEntry]]:
    """R12: the month and, when a day of it is chosen, that day's plans. The day's plans are
    among the month's, so one load and one status per plan serve both."""
    plans = _plans_around(auditor, month.first_day, month.last_day)
    status = statuses(plans, now)
    facts = {plan.id: plan_facts(plan) for plan in plans}
    view = _month_view(plans, facts, status, month, now)
    entries = _day_plans(auditor, plans, facts, status, day) if day else []
    return view, entries


def _month_view(plans: list[AuditPlan], facts: dict[int, PlanFacts], status: dict[int, PlanStatus],
                month: Month, now: dt.datetime) -> MonthView:
    """Each day of the month with a plan of the auditor: its type (the plans' day types
    combined), how many plans, and a red `!` when one of them has an exception now."""
    per_day: dict[dt.date, list[tuple[str, bool]]] = {}
    for plan in plans:
        plan_days = facts[plan.id]
        exceptional = status[plan.id].has_exceptions
        day = max(plan_days.first_day, month.first_day)
        while day <= min(plan_days.last_day, month.last_day):
            kind = rules10.day_type(plan_days, day)
            if kind:
                per_day.setdefault(day, []).append((kind, exceptional))
            day += dt.timedelta(days=1)
    days = {
        day: DayMark(rules10.combine_day_types(kind for kind, _ in marks), len(marks), any(e for _, e in marks))
        for day, marks in per_day.items()
    }
    return MonthView(month, calendar_today(now), days)


@dataclass(frozen=True)
class PlanEntry(PlanTimes):
    """One plan in a list or under a calendar day, as the auditor sees it now."""

    plan: AuditPlan
    status: PlanStatus
    role: Optional[str]
    explanations: tuple[Explanation, ...] = ()


def _day_plans(auditor: Auditor, plans: list[AuditPlan], facts: dict[int, PlanFacts],
               status: dict[int, PlanStatus], day: dt.date) -> list[PlanEntry]:
    """The auditor's plans on `day` (on each plan's own clock), by start, with their status
    and explanations."""
    on_day = [plan for plan in plans if rules10.day_type(facts[plan.id], day)]
    notes = explanation_service.for_plans(plan.id for plan in on_day)
    return [PlanEntry(plan, status[plan.id], role_of(plan, auditor), tuple(notes[plan.id])) for plan in on_day]


# --- tasks and history (R13) --------------------------------------------------------------

@dataclass(frozen=True)
class PlanList:
    entries: list[PlanEntry]
    page: Page


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _containing(text: str) -> str:
    return f"%{_escape_like(text)}%"


class _AsciiLower(FunctionElement):
    """Text with A-Z made a-z and every other character left as it is: SQLite's lower()
    (without ICU); PostgreSQL's lower() would also fold 'Ａ', 'É' or 'Д'."""

    type = String()
    inherit_cache = True


@compiles(_AsciiLower)
def _ascii_lower_sqlite(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(_AsciiLower, "postgresql")
def _ascii_lower_postgresql(element, compiler, **kw):
    return f"translate({compiler.process(element.clauses, **kw)}, '{string.ascii_uppercase}', '{string.ascii_lowercase}')"


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def name_contains(column, text: str):
    """`column` holds `text` anywhere, ignoring the case of ASCII letters only (A matches a;
    full-width Ａ matches only Ａ), the same on SQLite and PostgreSQL; % and _ typed are
    plain characters."""
    return _AsciiLower(column).like(_containing(text.translate(_ASCII_LOWER)), escape="\\")


# Where a plan's own zone decides, the database narrows and Python decides. A zone's offset
# from UTC is under a day either way, so an instant's local date is within a day of its UTC
# date: far enough from a boundary (these margins), a plan's side of it is the same in every
# zone and the database can tell; the few plans near it are judged by the domain's rules.
_NEAR_NOW = (dt.timedelta(days=3), dt.timedelta(days=2))
_NEAR_DAY = dt.timedelta(days=2)


def _near_boundaries(filters: TaskFilters, now: dt.datetime):
    """The team rows whose plan's side of a boundary (the end of the day today, the first
    and last day of the range asked) may depend on its zone."""
    moment = clock.as_utc(now)
    near = [TeamMember.plan_end_utc.between(moment - _NEAR_NOW[0], moment + _NEAR_NOW[1])]
    if filters.date_from:
        day = _naive(filters.date_from)
        near.append(TeamMember.plan_end_utc.between(day - _NEAR_DAY, day + _NEAR_DAY))
    if filters.date_to:
        day = _naive(filters.date_to, 1)
        near.append(TeamMember.plan_start_utc.between(day - _NEAR_DAY, day + _NEAR_DAY))
    return or_(*near)


def _far_from_boundaries(which: str, filters: TaskFilters, now: dt.datetime):
    """The team rows far from every boundary whose plan is on the asked side of each, in
    any zone (none of them is near one)."""
    moment = clock.as_utc(now)
    if which == HISTORY:
        sides = [TeamMember.plan_end_utc < moment - _NEAR_NOW[0]]
    else:
        sides = [TeamMember.plan_end_utc > moment + _NEAR_NOW[1]]
    if filters.date_from:
        sides.append(TeamMember.plan_end_utc > _naive(filters.date_from) + _NEAR_DAY)
    if filters.date_to:
        sides.append(TeamMember.plan_start_utc < _naive(filters.date_to, 1) - _NEAR_DAY)
    return and_(*sides)


def _each_value(column):
    """The values of a TeamMember column among one auditor's rows (:auditor_id), each once
    (NULL left out), as a query. It walks an index on (auditor_id, column) from value to
    value, one seek each (a recursive query: neither SQLite nor PostgreSQL skips through an
    index by itself): a DISTINCT reads every row of the auditor's history, ~1 ms for 10,000
    plans, on every list."""
    mine = TeamMember.auditor_id == bindparam("auditor_id")
    walk = select(func.min(column).label("value")).where(mine).cte("walk", recursive=True)
    following = select(func.min(column)).where(mine, column > walk.c.value).scalar_subquery()
    walk = walk.union_all(select(following).where(walk.c.value.is_not(None)))
    return select(walk.c.value).where(walk.c.value.is_not(None))


# Built once (every list request runs them), the auditor as a parameter.
_LEVEL_TEXTS = _each_value(TeamMember.plan_levels)
_ENTERPRISE_IDS = _each_value(TeamMember.plan_enterprise_id)
_ENTERPRISE_NAMES = (select(Enterprise.name).where(Enterprise.id.in_(_ENTERPRISE_IDS))
                     .order_by(Enterprise.name).limit(bindparam("limit")))


def _level_texts(auditor: Auditor) -> list[str]:
    """The auditor's plans' project levels as stored (JSON text), each once."""
    return list(db.session.scalars(_LEVEL_TEXTS, {"auditor_id": auditor.id}))


def _stored_levels(text: Optional[str]) -> Levels:
    try:
        return clean_levels(json.loads(text)) if text else ()
    except ValueError:
        return ()


def plan_list(auditor: Auditor, which: str, filters: TaskFilters, asked_page: object, now: dt.datetime) -> PlanList:
    """R13: tasks (the audit has not ended: not started or under way) or history (ended:
    the plan's last local day is over, as for R10's exceptions), filtered, one page.

    Tasks come soonest first; history most recent first. The database filters, counts and
    cuts the page from the auditor's team rows (they carry their plan's times, in the order
    of an index); only the plans near a day's boundary are judged here on their own zone
    (domain.audit_exceptions.audit_over, domain.filters.matches), and their verdict joins the query.
    """
    mine = select(TeamMember.plan_id).where(TeamMember.auditor_id == auditor.id)
    if filters.enterprise:  # the auditor's enterprises so named, then their plans
        named = list(db.session.scalars(
            select(Enterprise.id).where(Enterprise.id.in_(_ENTERPRISE_IDS),
                                        name_contains(Enterprise.name, filters.enterprise)),
            {"auditor_id": auditor.id}))
        mine = mine.where(TeamMember.plan_enterprise_id.in_(named))
    if filters.levels:
        chosen = [text for text in _level_texts(auditor)
                  if _stored_levels(text)[: len(filters.levels)] == filters.levels]
        mine = mine.where(TeamMember.plan_levels.in_(chosen))
    near = _near_boundaries(filters, now)
    dates_only = replace(filters, levels=())
    judged = []
    for plan_id, start_utc, end_utc, zone in db.session.execute(
            select(AuditPlan.id, AuditPlan.start_utc, AuditPlan.end_utc, AuditPlan.timezone)
            .join(TeamMember, TeamMember.plan_id == AuditPlan.id).where(TeamMember.auditor_id == auditor.id, near)):
        facts = light_facts(plan_id, start_utc, end_utc, zone)
        if rules10.audit_over(facts, now) == (which == HISTORY) and matches(dates_only, facts.first_day, facts.last_day, None):
            judged.append(plan_id)
    far, chosen_near = _far_from_boundaries(which, filters, now), TeamMember.plan_id.in_(judged)
    total = db.session.scalar(select(
        select(func.count()).select_from(mine.where(far).subquery()).scalar_subquery()
        + select(func.count()).select_from(mine.where(chosen_near).subquery()).scalar_subquery()))
    # The first condition is implied by the second; it lets the index's order of ends narrow
    # tasks to the plans not ended.
    moment = clock.as_utc(now)
    side = TeamMember.plan_end_utc < moment + _NEAR_NOW[1] if which == HISTORY else TeamMember.plan_end_utc >= moment - _NEAR_NOW[0]
    listed = mine.where(side, or_(chosen_near, far))
    page = page_of(asked_page, total or 0)
    if which == HISTORY:
        order = (TeamMember.plan_end_utc.desc(), TeamMember.plan_id.desc())
    else:
        order = (TeamMember.plan_start_utc, TeamMember.plan_end_utc, TeamMember.plan_id)
    ids = list(db.session.scalars(listed.order_by(*order).limit(page.per_page).offset(page.offset)))
    plans = load_plans(ids)
    shown = [plans[plan_id] for plan_id in ids]
    status = statuses(shown, now)
    return PlanList([PlanEntry(plan, status[plan.id], role_of(plan, auditor)) for plan in shown], page)


def project_tree(auditor: Auditor) -> ProjectTree:
    """The project levels of the plans the auditor can see (the cascading selects' options):
    each stored list once, from the index of their team rows."""
    return ProjectTree(frozenset(path for path in map(_stored_levels, _level_texts(auditor)) if path))


def enterprise_names(auditor: Auditor, limit: int = 200) -> list[str]:
    """The enterprises of the auditor's plans, for the name field's suggestions."""
    return list(db.session.scalars(_ENTERPRISE_NAMES, {"auditor_id": auditor.id, "limit": limit}))


# --- a body's plans on the management end -------------------------------------------------

@dataclass(frozen=True)
class BodyPlanEntry(PlanTimes):
    """One plan of the body's list: its phase (domain.audit_exceptions.phase) and record now."""

    plan: AuditPlan
    status: PlanStatus
    phase: str


@dataclass(frozen=True)
class BodyPlanList:
    entries: list[BodyPlanEntry]
    page: Page


def _body_query(agency_id: int, filters: PlanFilters, now: dt.datetime):
    """The body's plans (R16: only its own) as far as the database can tell them apart: the
    enterprise's and an auditor's names, the mode, whether the team checked in, and bounds
    the date range and phase imply (refined per plan's zone afterwards)."""
    moment = clock.as_utc(now)
    query = select(AuditPlan.id).where(AuditPlan.agency_id == agency_id)
    if filters.enterprise:
        query = query.join(Enterprise, Enterprise.id == AuditPlan.enterprise_id).where(
            name_contains(Enterprise.name, filters.enterprise))
    for word in filters.auditor.split()[:5]:
        query = query.where(exists().where(
            TeamMember.plan_id == AuditPlan.id, Auditor.id == TeamMember.auditor_id,
            or_(Auditor.name.like(_containing(word), escape="\\"), Auditor.phone.like(_containing(word), escape="\\"))))
    if filters.mode:
        query = query.where(AuditPlan.mode == filters.mode)
    if filters.checked:
        checked_in = exists().where(CheckEvent.plan_id == AuditPlan.id, CheckEvent.kind == "in")
        query = query.where(checked_in if filters.checked == "yes" else ~checked_in)
    # A local day lies within a day of the UTC one.
    if filters.date_from:
        query = query.where(AuditPlan.end_utc >= _naive(filters.date_from, -1))
    if filters.date_to:
        query = query.where(AuditPlan.start_utc < _naive(filters.date_to, 2))
    if filters.phase == rules10.CANCELLED:
        query = query.where(AuditPlan.status == "cancelled")
    elif filters.phase:
        query = query.where(AuditPlan.status != "cancelled")
        if filters.phase == rules10.NOT_STARTED:
            query = query.where(AuditPlan.start_utc > moment)
        else:
            query = query.where(AuditPlan.start_utc <= moment)
            if filters.phase == rules10.ENDED:
                query = query.where(AuditPlan.end_utc < moment)
    return query


_SORT_COLUMNS = {"start": AuditPlan.start_utc, "end": AuditPlan.end_utc, "plan_no": AuditPlan.plan_no}


def _order(filters: PlanFilters):
    column = _SORT_COLUMNS.get(filters.sort.lstrip("-"), AuditPlan.start_utc)
    if filters.sort.startswith("-"):
        return column.desc(), AuditPlan.id.desc()
    return column.asc(), AuditPlan.id.asc()


def _each_plan_decides(filters: PlanFilters) -> bool:
    """Whether a filter needs each plan's own zone or project levels (read in Python);
    the others the database answers alone."""
    return bool(filters.date_from or filters.date_to or filters.levels
                or filters.phase in (rules10.UNDER_WAY, rules10.ENDED))


def body_plan_ids(agency_id: int, filters: PlanFilters, now: dt.datetime) -> list[int]:
    """The ids of the body's plans that pass `filters` at `now`, in the asked order (by
    start, latest first, unless `filters.sort` says otherwise)."""
    query = _body_query(agency_id, filters, now).order_by(*_order(filters))
    if not _each_plan_decides(filters):
        return list(db.session.scalars(query.with_only_columns(AuditPlan.id)))
    levels_column = AuditPlan.project_levels if filters.levels else null()
    chosen = []
    for plan_id, start_utc, end_utc, zone, status, levels in db.session.execute(query.with_only_columns(
            AuditPlan.id, AuditPlan.start_utc, AuditPlan.end_utc, AuditPlan.timezone, AuditPlan.status,
            levels_column)):
        facts = light_facts(plan_id, start_utc, end_utc, zone, status)
        if filters.phase and rules10.phase(facts, now) != filters.phase:
            continue
        if matches(filters, facts.first_day, facts.last_day, levels):
            chosen.append(plan_id)
    return chosen


def body_entries(plan_ids: list[int], now: dt.datetime) -> list[BodyPlanEntry]:
    """The plans `plan_ids` (in that order) loaded with what a row shows."""
    plans = load_plans(plan_ids)
    shown = [plans[plan_id] for plan_id in plan_ids if plan_id in plans]
    status = statuses(shown, now)
    return [BodyPlanEntry(plan, status[plan.id], rules10.phase(plan_facts(plan), now)) for plan in shown]


def body_plan_list(agency_id: int, filters: PlanFilters, asked_page: object, now: dt.datetime) -> BodyPlanList:
    """One page of the body's plans that pass `filters` (the management end's list): counted
    and cut in the database when it can answer every filter alone, else from the ids."""
    if _each_plan_decides(filters):
        ids = body_plan_ids(agency_id, filters, now)
        page = page_of(asked_page, len(ids))
        return BodyPlanList(body_entries(ids[page.offset: page.offset + page.per_page], now), page)
    query = _body_query(agency_id, filters, now)
    total = db.session.scalar(select(func.count()).select_from(query.with_only_columns(AuditPlan.id).subquery()))
    page = page_of(asked_page, total or 0)
    ids = list(db.session.scalars(query.with_only_columns(AuditPlan.id).order_by(*_order(filters))
                                  .limit(page.per_page).offset(page.offset)))
    return BodyPlanList(body_entries(ids, now), page)


def body_project_tree(agency_id: int) -> ProjectTree:
    """The project levels of the body's plans (the cascading selects' options)."""
    return ProjectTree.of(db.session.scalars(
        select(AuditPlan.project_levels).where(AuditPlan.agency_id == agency_id)))


def body_entries_in_chunks(plan_ids: list[int], now: dt.datetime, size: int = 200):
    """body_entries for many plans, `size` at a time (an export of every page): only one
    chunk is loaded at once (the session's identity map holds its rows weakly)."""
    for start in range(0, len(plan_ids), size):
        yield from body_entries(plan_ids[start: start + size], now)
