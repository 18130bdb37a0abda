"""Exceptions (R10), the check-in reminder (R11) and the calendar's day type (R12).

Pure functions over plain facts, computed at any moment from the plan and its team's
record; nothing here is stored, so a record that changes (a late offline check-in, a photo
added after the audit, §5.4) changes the answer the next time it is asked.

"After the audit's end date" (§5.9) is read on the plan's own calendar: the exceptions
未签到 and 未上传照片 appear from the day after the last audit day, local time.
"""
from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Iterable, Optional

import chinese_calendar

from . import clock
from .geo import DEVIATION_LIMIT_M
from .rules import PlanFacts

# R10 exception codes, in the order the manual lists them (§5.9).
NOT_SIGNED = "not_signed"  # 未签到: check-in or check-out missing after the audit ended
DEVIATION = "deviation"  # 地点偏差: a team event over 5 km from the nearest planned site
PHOTOS_MISSING = "photos_missing"  # 未上传照片: first- or last-meeting photos missing after the end

# R12 day types.
ALL_DAY = "all_day"  # 全天
MORNING = "morning"  # 上午
AFTERNOON = "afternoon"  # 下午
NOON = dt.time(12, 0)


@dataclass(frozen=True)
class TeamEventFacts:
    """One event that counts for the team: its kind and its distance to the nearest site."""

    kind: str  # in | out
    nearest_site_distance_m: Optional[float]  # None when no site could be located


@dataclass(frozen=True)
class PlanException:
    """One exception with what it is about: `missing` names the missing events or photo
    groups (in/out, first/last); `distance_m` the deviation."""

    code: str
    missing: tuple[str, ...] = ()
    kind: Optional[str] = None
    distance_m: Optional[float] = None


def audit_over(plan: PlanFacts, now: dt.datetime) -> bool:
    """§5.9 任务结束: the current time is past the plan's audit end date (its local day)."""
    return plan.local_date(now) > plan.last_day


NOT_STARTED, UNDER_WAY, ENDED, CANCELLED = "not_started", "under_way", "ended", "cancelled"
PHASES = (NOT_STARTED, UNDER_WAY, ENDED, CANCELLED)


def phase(plan: PlanFacts, now: dt.datetime) -> str:
    """Where a plan stands at `now`: cancelled, not started (before its start), ended (as
    audit_over: its last local day is over, when it leaves the auditor's tasks for the
    history) or under way."""
    if plan.status == "cancelled":
        return CANCELLED
    if now < plan.start:
        return NOT_STARTED
    return ENDED if audit_over(plan, now) else UNDER_WAY


def exceptions(
    plan: PlanFacts,
    events: Iterable[TeamEventFacts],
    photo_counts: dict[str, int],
    now: dt.datetime,
) -> list[PlanException]:
    """R10: the plan's exceptions at `now`. Plans that need no check-in have none."""
    if not plan.needs_check_in:
        return []
    found: list[PlanException] = []
    over = audit_over(plan, now)
    if over:
        missing = tuple(kind for kind, at in (("in", plan.checked_in_at), ("out", plan.checked_out_at)) if at is None)
        if missing:
            found.append(PlanException(NOT_SIGNED, missing=missing))
    for event in events:
        distance = event.nearest_site_distance_m
        if distance is not None and distance > DEVIATION_LIMIT_M:
            found.append(PlanException(DEVIATION, kind=event.kind, distance_m=distance))
    if over:
        missing = tuple(group for group in ("first", "last") if photo_counts.get(group, 0) < 1)
        if missing:
            found.append(PlanException(PHOTOS_MISSING, missing=missing))
    return found


def needs_reminder(plan: PlanFacts, now: dt.datetime) -> bool:
    """R11 签到提醒: the plan has started and not ended, and now is past its start with no
    check-in, or past its end time (on the last day) with no check-out.

    "Not ended" is read by day like §5.9's 任务结束, so the check-out reminder can show on
    the last day after the planned end time, when check-out is still allowed (R6).
    """
    if not plan.needs_check_in:
        return False
    if now < plan.start or audit_over(plan, now):
        return False
    if plan.checked_in_at is None:
        return True
    return now > plan.end and plan.checked_out_at is None


def _day_type(starts: dt.time, ends: Optional[dt.time]) -> str:
    """The part of one day a plan covers: from `starts` to `ends` (None = midnight)."""
    if ends is not None and ends <= NOON:
        return MORNING
    if starts >= NOON:
        return AFTERNOON
    return ALL_DAY


def day_type(plan: PlanFacts, day: dt.date) -> Optional[str]:
    """R12: how a plan covers one calendar day, on the plan's own clock; None if it does not.

    A day covered only before noon is 上午 (morning), only from noon 下午 (afternoon),
    otherwise 全天 (all day). The first day runs from the planned start to midnight, the
    last day from midnight to the planned end, days between are 全天.
    """
    if not plan.first_day <= day <= plan.last_day:
        return None
    start = clock.local(plan.start, plan.zone)
    end = clock.local(plan.end, plan.zone)
    if day == plan.last_day and day > plan.first_day and end.time() == dt.time(0, 0):
        return None  # a plan ending at midnight does not cover the day that midnight opens
    starts = start.time() if day == plan.first_day else dt.time(0, 0)
    ends = end.time() if day == plan.last_day else None
    return _day_type(starts, ends)


def combine_day_types(types: Iterable[Optional[str]]) -> Optional[str]:
    """R12: one colour for a day with several plans: 全天 if any plan is all day or the day
    has both a morning and an afternoon plan, else the one part the plans share."""
    seen = {t for t in types if t}
    if not seen:
        return None
    if ALL_DAY in seen or seen == {MORNING, AFTERNOON}:
        return ALL_DAY
    return seen.pop()


REVIEW_WORKING_DAYS = 5  # R10, R20: the body verifies within 5 working days of the end


@functools.lru_cache(maxsize=8192)
def official_working_day(day: dt.date) -> tuple[bool, bool]:
    """Whether `day` is a working day on China's official calendar (public holidays off,
    the weekend days moved to make up for them on), and whether that is known: for a year
    beyond the `chinesecalendar` package's data (published each year by the State Council)
    the answer is Monday to Friday, and not known. Kept per day: the package reads its whole
    table on every call, and a queue asks about thousands of days."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


@dataclass(frozen=True)
class ReviewDeadline:
    """The last day the body has to verify a plan's exceptions. `estimated`: some day
    counted lies in a year the official calendar does not cover yet, counted Monday to
    Friday; the pages say so beside the date."""

    day: dt.date
    estimated: bool = False


@functools.lru_cache(maxsize=8192)
def review_deadline(last_day: dt.date, working_days: int = REVIEW_WORKING_DAYS) -> ReviewDeadline:
    """R10, R20: `working_days` working days after the audit's last day (the first is the
    first working day after it; the deadline is the last of them), on China's official
    calendar (official_working_day). The one rule the auditors' pages and the management
    end both use."""
    day = last_day
    left = working_days
    estimated = False
    while left:
        day += dt.timedelta(days=1)
        working, known = official_working_day(day)
        estimated = estimated or not known
        if working:
            left -= 1
    return ReviewDeadline(day, estimated)


# R20: where a plan with exceptions stands with the body's verification.
TO_VERIFY, VERIFIED, OVERDUE = "to_verify", "verified", "overdue"  # 待核实 / 已核实 / 已逾期
VERIFICATION_STATES = (TO_VERIFY, OVERDUE, VERIFIED)


def verification_state(deadline: dt.date, verified: bool, today: dt.date) -> str:
    """Verified once any verification is recorded (late or not); otherwise overdue from
    the day after the deadline (`today` on the plan's own calendar), else to verify."""
    if verified:
        return VERIFIED
    return OVERDUE if today > deadline else TO_VERIFY


def verified_late(deadline: dt.date, verified_on: dt.date) -> bool:
    """A verification recorded after the deadline's day (on the plan's calendar) is late."""
    return verified_on > deadline


def needs_reminder_to_verify(deadline: dt.date, verified: bool, today: dt.date) -> bool:
    """The daily reminder to the body's reviewers: not verified and due today or tomorrow,
    or overdue."""
    return not verified and deadline <= today + dt.timedelta(days=1)


# R20 核实结果: what the body found, from a fixed list; 其他 needs the text to say what.
CONFIRMED, PLAN_ADJUSTED, CONFIDENTIAL, OTHER = "confirmed", "plan_adjusted", "confidential", "other"
VERIFICATION_RESULTS = (CONFIRMED, PLAN_ADJUSTED, CONFIDENTIAL, OTHER)  # 情况属实 / 计划临时调整 / 涉密无法拍照 / 其他
VERIFICATION_TEXT_MAX = 2000  # characters after trimming, as an explanation


def verification_problems(result: object, text: object) -> list[str]:
    """Why a verification may not be recorded as given (empty: it may): `result` not one of
    the list, `text` missing for 其他, or longer than VERIFICATION_TEXT_MAX."""
    problems = []
    if result not in VERIFICATION_RESULTS:
        problems.append("result")
    trimmed = text.strip() if isinstance(text, str) else ""
    if result == OTHER and not trimmed:
        problems.append("text_needed")
    if len(trimmed) > VERIFICATION_TEXT_MAX:
        problems.append("text_too_long")
    return problems
