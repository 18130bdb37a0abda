"""The check-in rules R2-R7 as pure functions over plain facts.

Times given to these functions are aware datetimes; "now" is always the server's clock
(R4). Every decision carries a reason code; the web layer turns codes into words.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Optional
from zoneinfo import ZoneInfo

from . import clock

CHECKOUT_MIN_AFTER_CHECKIN = dt.timedelta(hours=1)  # R6
CHECKIN_LATE_AFTER_START = dt.timedelta(minutes=30)  # R6 window (recorded, not blocking)
CHECKOUT_LATE_AFTER_END = dt.timedelta(hours=2)  # R6 window (recorded, not blocking)
# The plan gives only the end of the last meeting; its start is taken as one hour before
# (a typical last meeting). Only used to record "early", never to refuse.
LAST_MEETING_LENGTH = dt.timedelta(hours=1)

# R6 refusals that time alone (or a check-in still waiting on the phone) can lift: the phone
# re-judges them on its own clock (phone_facts, static/js/plan-rules.js).
OPENS_LATER = frozenset({"not_started", "not_last_day", "too_soon_after_check_in", "not_checked_in"})


@dataclass(frozen=True)
class PlanFacts:
    """What the rules need to know of one plan and its team's events."""

    plan_id: int
    enterprise_id: int
    start: dt.datetime
    end: dt.datetime
    timezone: str
    mode: str  # onsite | combined | remote
    status: str  # valid | cancelled | changed
    team: frozenset[int]
    checked_in_at: Optional[dt.datetime] = None
    checked_out_at: Optional[dt.datetime] = None

    @property
    def zone(self) -> ZoneInfo:
        return clock.zone(self.timezone)

    def local_date(self, moment: dt.datetime) -> dt.date:
        return clock.local_date(moment, self.zone)

    @property
    def first_day(self) -> dt.date:
        return self.local_date(self.start)

    @property
    def last_day(self) -> dt.date:
        return self.local_date(self.end)

    @property
    def needs_check_in(self) -> bool:
        """R2: fully remote audits do not sign in; cancelled plans are not audited."""
        return self.mode != "remote" and self.status != "cancelled"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # a code: see web layer's REASONS
    params: dict = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.allowed


def is_today_task(plan: PlanFacts, now: dt.datetime) -> bool:
    """R2: the audit period includes today, in the plan's own time zone."""
    today = plan.local_date(now)
    return plan.first_day <= today <= plan.last_day


def may_check_in(plan: PlanFacts, signer_id: int, now: dt.datetime) -> Decision:
    """R6: check-in on any day of the audit until it ends, at any place, once per team."""
    if signer_id not in plan.team:
        return Decision(False, "not_on_team")
    if plan.mode == "remote":
        return Decision(False, "remote_plan")
    if plan.status == "cancelled":
        return Decision(False, "plan_cancelled")
    if plan.checked_in_at is not None:
        return Decision(False, "already_checked_in")
    if plan.local_date(now) < plan.first_day:
        return Decision(False, "not_started", {"first_day": plan.first_day})
    if now > plan.end:
        return Decision(False, "audit_ended")
    return Decision(True, "ok")


def may_check_out(plan: PlanFacts, signer_id: int, now: dt.datetime) -> Decision:
    """R6: only on the last day of the audit and 1 hour or more after the check-in."""
    if signer_id not in plan.team:
        return Decision(False, "not_on_team")
    if plan.mode == "remote":
        return Decision(False, "remote_plan")
    if plan.status == "cancelled":
        return Decision(False, "plan_cancelled")
    if plan.checked_out_at is not None:
        return Decision(False, "already_checked_out")
    if plan.checked_in_at is None:
        return Decision(False, "not_checked_in")
    today = plan.local_date(now)
    if today < plan.last_day:
        return Decision(False, "not_last_day", {"last_day": plan.last_day})
    if today > plan.last_day:
        return Decision(False, "audit_ended")
    ready_at = plan.checked_in_at + CHECKOUT_MIN_AFTER_CHECKIN
    if now < ready_at:
        wait = ready_at - now
        minutes = int(wait.total_seconds() // 60) + (1 if wait.total_seconds() % 60 else 0)
        return Decision(False, "too_soon_after_check_in", {"minutes": minutes, "ready_at": ready_at})
    return Decision(True, "ok")


def _ms(moment: dt.datetime) -> int:
    return round(moment.timestamp() * 1000)


def phone_constants() -> dict:
    """The constants of may_check_in / may_check_out the phone needs, in ms: written into the
    page, never copied into the script."""
    return {"checkout_min_after_checkin_ms": CHECKOUT_MIN_AFTER_CHECKIN // dt.timedelta(milliseconds=1)}


def phone_facts(plan: PlanFacts) -> dict:
    """What the phone needs to judge may_check_in / may_check_out on its own clock, JSON-safe,
    instants in ms since the epoch: the plan's days as instants ("today < first_day" is
    "now < first_day_start"), so the phone needs no time zone rules."""

    def day_start(day: dt.date) -> int:
        return _ms(dt.datetime.combine(day, dt.time(0), tzinfo=plan.zone))

    return {
        "plan": plan.plan_id,
        "needs_check_in": plan.needs_check_in,
        "first_day": plan.first_day.isoformat(),
        "last_day": plan.last_day.isoformat(),
        "first_day_start": day_start(plan.first_day),
        "last_day_start": day_start(plan.last_day),
        "last_day_end": day_start(plan.last_day + dt.timedelta(days=1)),
        "end": _ms(plan.end),
        "checked_in_at": _ms(plan.checked_in_at) if plan.checked_in_at else None,
        "checked_out_at": _ms(plan.checked_out_at) if plan.checked_out_at else None,
    }


def timeliness(plan: PlanFacts, kind: str, at: dt.datetime) -> Optional[dict]:
    """R6 windows the body asks for: a flag dict when late or early, None when on time."""
    if kind == "in":
        if at > plan.start + CHECKIN_LATE_AFTER_START:
            return {"code": "late_check_in", "minutes": round((at - plan.start).total_seconds() / 60)}
        if plan.local_date(at) < plan.first_day:
            return {"code": "early_check_in"}
        return None
    last_meeting_start = plan.end - LAST_MEETING_LENGTH
    if at < last_meeting_start:
        return {"code": "early_check_out", "minutes": round((last_meeting_start - at).total_seconds() / 60)}
    if at > plan.end + CHECKOUT_LATE_AFTER_END:
        return {"code": "late_check_out", "minutes": round((at - plan.end).total_seconds() / 60)}
    return None


@dataclass(frozen=True)
class TogetherOutcome:
    """R7: which plans one action signs, and which it leaves, each with why."""

    to_sign: tuple[int, ...]
    skipped: tuple[tuple[int, Decision], ...]


def sign_together(
    chosen: PlanFacts,
    others: Iterable[PlanFacts],
    signer_id: int,
    kind: str,
    now: dt.datetime,
) -> TogetherOutcome:
    """Sign the chosen plan and every other plan the signer may sign now; skip the rest.

    The chosen plan must itself be allowed (the caller checked it); an other plan is
    signed only when its team includes the signer and its own rule allows it now.
    """
    rule = may_check_in if kind == "in" else may_check_out
    to_sign = [chosen.plan_id]
    skipped: list[tuple[int, Decision]] = []
    for plan in others:
        if plan.plan_id == chosen.plan_id:
            continue
        decision = rule(plan, signer_id, now)
        if decision:
            to_sign.append(plan.plan_id)
        else:
            skipped.append((plan.plan_id, decision))
    return TogetherOutcome(tuple(to_sign), tuple(skipped))


def same_enterprise_same_day(chosen: PlanFacts, candidates: Iterable[PlanFacts], now: dt.datetime) -> list[PlanFacts]:
    """R7: the other plans of the same enterprise that are today's tasks and need signing."""
    return [
        p
        for p in candidates
        if p.plan_id != chosen.plan_id
        and p.enterprise_id == chosen.enterprise_id
        and p.needs_check_in
        and is_today_task(p, now)
    ]


def same_audit(a: PlanFacts, b: PlanFacts) -> bool:
    """R7, R8: two plans of one combined audit (manual §2.4): the same enterprise, an audit
    day in common (each on its own calendar) and an auditor on both teams. They share their
    first and last meetings, so one photo of a meeting is the photo of both, not a copy."""
    return (
        a.enterprise_id == b.enterprise_id
        and a.first_day <= b.last_day
        and b.first_day <= a.last_day
        and bool(a.team & b.team)
    )


def team_state(plan: PlanFacts) -> str:
    """R3: the state every member sees: not_checked_in, checked_in, checked_out, remote."""
    if not plan.needs_check_in:
        return "remote" if plan.mode == "remote" else "cancelled"
    if plan.checked_out_at is not None:
        return "checked_out"
    if plan.checked_in_at is not None:
        return "checked_in"
    return "not_checked_in"
