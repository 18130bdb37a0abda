"""Today's board of a body (今日看板): how late a team is, the order of the rows, the counts
at the top, the board's filters and the weeks of its exceptions chart.

Pure functions over domain.rules.PlanFacts: "today" is R2's (the plan's own zone), the
state is R3's team_state, lateness is read with R11's reminder condition and R6's
check-in window, exceptions are R10's. Nothing here re-states those rules.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional

from .audit_exceptions import needs_reminder
from .filters import FilterError
from .row_ids import row_id
from .rules import PlanFacts, team_state, timeliness

# The team states in the order the counts show them (R3's team_state codes).
STATES = ("not_checked_in", "checked_in", "checked_out", "remote", "cancelled")

REGION_MAX = 200
PROJECT_MAX = 64
WEEKS = 12  # the exceptions chart's weeks, this one included


@dataclass(frozen=True)
class Lateness:
    """How late a team is: `minutes` after the planned start. `waiting`: still no check-in
    (R11's reminder shows); otherwise the check-in came that late. `overdue`: beyond R6's
    check-in window (30 minutes after the start)."""

    minutes: int
    waiting: bool
    overdue: bool


def lateness(plan: PlanFacts, now: dt.datetime) -> Optional[Lateness]:
    """None when the team is not late: not started yet, checked in on time, or no check-in
    needed (remote, cancelled)."""
    if not plan.needs_check_in:
        return None
    if plan.checked_in_at is None:
        if not needs_reminder(plan, now):
            return None
        minutes = int((now - plan.start).total_seconds() // 60)
        return Lateness(minutes, waiting=True, overdue=timeliness(plan, "in", now) is not None)
    late = timeliness(plan, "in", plan.checked_in_at)
    if late is None or late["code"] != "late_check_in":
        return None
    return Lateness(late["minutes"], waiting=False, overdue=True)


def sort_key(plan: PlanFacts, late: Optional[Lateness]) -> tuple:
    """The board's order, given the plan's `lateness` now: teams still not checked in after
    their start first, the latest at the top; then those whose start is still to come
    (soonest first); then checked in, checked out, remote and cancelled, each by start."""
    state = team_state(plan)
    start = plan.start.timestamp()
    if state == "not_checked_in":
        if late is not None and late.waiting:
            return (0, -late.minutes, start, plan.plan_id)
        return (1, 0, start, plan.plan_id)
    return (2 + STATES.index(state), 0, start, plan.plan_id)


def counts(states: Iterable[str]) -> dict[str, int]:
    """How many audits in each state, every state present (zero included), and the total."""
    found = Counter(states)
    result = {state: found.get(state, 0) for state in STATES}
    result["total"] = sum(found.values())
    return result


# --- filters ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class BoardFilters:
    """Region (as the plan names it), an auditor on the team (id), the certification
    project (the plan's project code); empty means any."""

    region: str = ""
    auditor: Optional[int] = None
    project: str = ""

    @property
    def active(self) -> bool:
        return bool(self.region or self.auditor or self.project)

    def query_args(self) -> dict[str, str]:
        args = {}
        if self.region:
            args["region"] = self.region
        if self.auditor:
            args["auditor"] = str(self.auditor)
        if self.project:
            args["project"] = self.project
        return args

    def keeps(self, region: Optional[str], team: Iterable[int], project: str) -> bool:
        if self.region and (region or "") != self.region:
            return False
        if self.auditor and self.auditor not in set(team):
            return False
        return not (self.project and project != self.project)


@dataclass(frozen=True)
class ParsedBoardFilters:
    filters: BoardFilters
    errors: tuple[FilterError, ...] = ()
    raw: dict = field(default_factory=dict)


def _text(value: object, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


def parse_filters(args: Mapping[str, object]) -> ParsedBoardFilters:
    """From URL arguments `region`, `auditor` (a row id), `project`. Text is trimmed and
    cut to its column's length; an auditor that is not a row id is refused (`bad_choice`,
    as the lists' filters) and filters nothing."""
    raw = {"region": _text(args.get("region"), REGION_MAX), "project": _text(args.get("project"), PROJECT_MAX),
           "auditor": _text(args.get("auditor"), 20)}
    errors: list[FilterError] = []
    auditor = None
    if raw["auditor"]:
        auditor = row_id(raw["auditor"])
        if auditor is None:
            errors.append(FilterError("bad_choice", value=raw["auditor"]))
            raw["auditor"] = ""
    return ParsedBoardFilters(BoardFilters(raw["region"], auditor, raw["project"]), tuple(errors), raw)


# --- the exceptions chart ----------------------------------------------------------------------

@dataclass(frozen=True)
class WeekCount:
    """One week (Monday `first_day`) of the chart: audits whose last day fell in it, how
    many of them have an exception now (R10), and the cross-audit anomalies (R21) dated in
    it."""

    first_day: dt.date
    audits: int
    with_exceptions: int
    anomalies: int = 0


def week_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def first_week(today: dt.date, weeks: int = WEEKS) -> dt.date:
    """The Monday of the chart's oldest week."""
    return week_of(today) - dt.timedelta(weeks=weeks - 1)


def weekly(last_days: Iterable[tuple[dt.date, bool]], today: dt.date, weeks: int = WEEKS,
           anomaly_days: Iterable[dt.date] = ()) -> list[WeekCount]:
    """Per week, the oldest first and this week last, from (the audit's last day, whether it
    has an exception) pairs and the days of the anomalies; days outside the weeks are left
    out."""
    first = first_week(today, weeks)
    audits: Counter = Counter()
    flagged: Counter = Counter()
    anomalies: Counter = Counter()
    for day, exceptional in last_days:
        monday = week_of(day)
        if first <= monday <= today:
            audits[monday] += 1
            flagged[monday] += bool(exceptional)
    for day in anomaly_days:
        monday = week_of(day)
        if first <= monday <= today:
            anomalies[monday] += 1
    mondays = [first + dt.timedelta(weeks=n) for n in range(weeks)]
    return [WeekCount(monday, audits[monday], flagged[monday], anomalies[monday]) for monday in mondays]


def summed(*series: Iterable[WeekCount]) -> list[WeekCount]:
    """Several bodies' weeks added up week by week (the same Mondays), oldest first."""
    totals: dict[dt.date, list[int]] = {}
    for weeks in series:
        for week in weeks:
            total = totals.setdefault(week.first_day, [0, 0, 0])
            total[0] += week.audits
            total[1] += week.with_exceptions
            total[2] += week.anomalies
    return [WeekCount(day, *totals[day]) for day in sorted(totals)]
