"""What the plan page shows (R9, R10) and what today's page asks to do now (R11).

No Flask request in here: callers pass the auditor, the plan (already checked for R16 by
plan_access.visible_plan) and `now` (aware UTC, the server's clock).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional


from ..domain import audit_exceptions as rules10, clock, geo
from ..domain import notes as notes_rules
from ..domain import offline
from ..domain.auditors import in_team_order
from ..extensions import db
from ..models import AuditPlan, Auditor, CheckEvent, Explanation, Photo, Staff, TeamMember
from . import audit
from . import explanations as explanation_service
from . import photos as photo_service
from .checkin import (
    PlanTimes,
    TaskCard,
    
    plan_facts,
    
    task_card,
    team_record,
    today_and_tomorrow,
    together_sets,
)
from .plan_access import plans_around_today
from .plan_status import PlanStatus, status_of, statuses

# R11 / today: how long after its end a plan with an unexplained exception stays on the list.
EXPLAIN_WITHIN_DAYS = 30


@dataclass(frozen=True)
class EventRow:
    """One check event as the plan page lists it (R9 签到信息)."""

    kind: str  # in | out
    signer: str
    received_at: dt.datetime  # the server's receipt, on the plan's clock: the time of record
    acted_at: Optional[dt.datetime]  # sent later from the outbox (R17): when it was done
    counts_for_team: bool  # False: a member's late offline copy, kept as their evidence
    lat: float  # the signed point (the pin), WGS-84
    lon: float
    device_lat: float
    device_lon: float
    pin_moved: bool
    site_address: Optional[str]  # the nearest planned site
    site_lat: Optional[float]
    site_lon: Optional[float]
    distance_m: Optional[float]  # to the nearest planned site; None: no site located

    @property
    def sent_later(self) -> bool:
        return self.acted_at is not None

    @property
    def distance_km(self) -> Optional[float]:
        return None if self.distance_m is None else self.distance_m / 1000

    @property
    def deviates(self) -> bool:
        return self.distance_m is not None and self.distance_m > rules10.DEVIATION_LIMIT_M


@dataclass(frozen=True)
class ExceptionView:
    """One R10 exception with what the page says about it (the nearest site for 地点偏差)."""

    exception: rules10.PlanException
    site_address: Optional[str] = None

    @property
    def code(self) -> str:
        return self.exception.code


@dataclass(frozen=True)
class PlanPage:
    plan: AuditPlan
    card: TaskCard
    status: PlanStatus
    events: list[EventRow]
    sites: list[dict]  # located sites for the map
    exceptions: list[ExceptionView]
    notes: list[notes_rules.Note]
    explanations: list[Explanation]
    photos: photo_service.PhotoSection
    review_deadline: rules10.ReviewDeadline

    @property
    def map_points(self) -> list[dict]:
        return [{"kind": e.kind, "lat": e.lat, "lon": e.lon, "team": e.counts_for_team} for e in self.events]


def _event_row(plan: AuditPlan, event: CheckEvent) -> EventRow:
    acted = None
    if event.queued_offline:
        when = offline.offline_action_time(event.flags)
        acted = clock.local(when, plan.timezone) if when else None
    site = event.nearest_site
    return EventRow(
        kind=event.kind,
        signer=event.signer.name,
        received_at=clock.local(event.server_time, plan.timezone),
        acted_at=acted,
        counts_for_team=event.counts_for_team,
        lat=event.chosen_lat,
        lon=event.chosen_lon,
        device_lat=event.device_lat,
        device_lon=event.device_lon,
        pin_moved=(event.pin_offset_m or 0) > 1.0,
        site_address=site.address if site else None,
        site_lat=site.lat if site else None,
        site_lon=site.lon if site else None,
        distance_m=event.nearest_site_distance_m,
    )


def exception_views(plan: AuditPlan, status: PlanStatus) -> list[ExceptionView]:
    views = []
    for exception in status.exceptions:
        address = None
        if exception.code == rules10.DEVIATION and exception.kind:
            event = team_record(plan, exception.kind)
            address = event.nearest_site.address if event is not None and event.nearest_site else None
        views.append(ExceptionView(exception, address))
    return views


def plan_notes(plan: AuditPlan, section: photo_service.PhotoSection) -> list[notes_rules.Note]:
    events = [notes_rules.EventFacts(e.kind, tuple(e.flags or ()), e.counts_for_team, e.signer.name)
              for e in plan.events]
    photos = [notes_rules.PhotoFacts(view.photo.group, view.verdicts) for view in section.views]
    return notes_rules.notes(events, photos)


def plan_page(auditor: Auditor, plan: AuditPlan, now: dt.datetime) -> PlanPage:
    """Everything the plan page shows, for a plan the auditor may see (R16 checked before)."""
    section = photo_service.plan_photos(auditor, plan)
    # The section has the plan's photos (not deleted): count them there, not again in the database.
    status = status_of(plan, now, {group.key: len(group.photos) for group in section.groups if group.photos})
    return PlanPage(
        plan=plan,
        card=task_card(auditor, plan, now),
        status=status,
        events=[_event_row(plan, event) for event in plan.events],
        sites=geo.map_sites(plan.sites),
        exceptions=exception_views(plan, status),
        notes=plan_notes(plan, section),
        explanations=explanation_service.for_plan(plan.id),
        photos=section,
        review_deadline=rules10.review_deadline(plan_facts(plan).last_day),
    )


# --- the body's plan page on the management end ------------------------------------------------

@dataclass(frozen=True)
class MemberRow:
    """A team member as the body's staff see them: their role and their own check-in and
    check-out (the team's record if they signed it, else their own copy sent later)."""

    role: str
    auditor: Auditor
    check_in: Optional[EventRow]
    check_out: Optional[EventRow]


@dataclass(frozen=True)
class BodyPlanPage(PlanTimes):
    plan: AuditPlan
    status: PlanStatus
    phase: str  # domain.audit_exceptions.phase
    members: list[MemberRow]
    photos: list[tuple[str, list[Photo]]]  # (group, photos not deleted), every group
    explanations: list[Explanation]


def _member_row(plan: AuditPlan, member: TeamMember) -> MemberRow:
    signed = {}
    for event in plan.events:  # by server time: the team's record before a late copy
        if event.signer_id == member.auditor_id and (event.kind not in signed or event.counts_for_team):
            signed[event.kind] = event
    rows = {kind: _event_row(plan, event) for kind, event in signed.items()}
    return MemberRow(member.role, member.auditor, rows.get("in"), rows.get("out"))


def body_plan_page(plan: AuditPlan, now: dt.datetime) -> BodyPlanPage:
    """Everything the body's plan page shows (the plan checked to be the body's before)."""
    photos = photo_service.live_photos(plan.id)
    by_group = {group: [photo for photo in photos if photo.group == group] for group in photo_service.GROUPS}
    status = status_of(plan, now, {group: len(items) for group, items in by_group.items() if items})
    return BodyPlanPage(
        plan=plan,
        status=status,
        phase=rules10.phase(plan_facts(plan), now),
        members=[_member_row(plan, member) for member in in_team_order(plan.team)],
        photos=list(by_group.items()),
        explanations=explanation_service.for_plan(plan.id),
    )


def record_export(staff: Staff, filters: dict, count: int, *, address: str) -> None:
    """An export of the body's plan list goes into the audit log (its reads do not)."""
    audit.record(audit.actor_for(staff, address), "plans_exported", target=f"plans: {count}",
                 after={"filters": filters, "plans": count})
    db.session.commit()


@dataclass(frozen=True)
class ExplainPage:
    plan: AuditPlan
    card: TaskCard
    exceptions: list[ExceptionView]
    explanations: list[Explanation]
    review_deadline: rules10.ReviewDeadline
    audit_over: bool


def explain_page(auditor: Auditor, plan: AuditPlan, now: dt.datetime) -> ExplainPage:
    status = status_of(plan, now)
    facts = plan_facts(plan)
    return ExplainPage(
        plan=plan,
        card=task_card(auditor, plan, now),
        exceptions=exception_views(plan, status),
        explanations=explanation_service.for_plan(plan.id),
        review_deadline=rules10.review_deadline(facts.last_day),
        audit_over=rules10.audit_over(facts, now),
    )


# --- today: reminders and what to do now (R11) ------------------------------------------------

# What a "to do now" item asks, in the order of an audit.
CHECK_IN = "check_in"
FIRST_PHOTOS = "first_photos"
CHECK_OUT = "check_out"
LAST_PHOTOS = "last_photos"
EXPLAIN = "explain"


@dataclass(frozen=True)
class TodoItem:
    what: str  # CHECK_IN | FIRST_PHOTOS | CHECK_OUT | LAST_PHOTOS | EXPLAIN
    plan: AuditPlan
    # Not allowed now, but may open later today on the phone's clock (domain.rules.OPENS_LATER):
    # the page carries it hidden and static/js/plan-rules.js shows it when the rule allows.
    later: bool = False


@dataclass(frozen=True)
class TodayPage:
    cards: list[TaskCard]
    statuses: dict[int, PlanStatus]
    todo: list[TodoItem] = field(default_factory=list)
    tomorrow: list[TaskCard] = field(default_factory=list)  # kept on the phone for use offline
    cancelled: list[TaskCard] = field(default_factory=list)  # today's, shown with the reason (R19)
    together: dict[int, list[int]] = field(default_factory=dict)  # checkin.signed_together of the cards

    @property
    def shown(self) -> list[AuditPlan]:
        return [card.plan for card in [*self.cards, *self.cancelled]]


def todo_for_card(card: TaskCard, status: PlanStatus) -> list[TodoItem]:
    """R11: what one of today's plans needs now (no explanation item: see todo), and the
    actions that may open later on the phone's clock (`later`)."""
    if not card.needs_check_in:
        return []
    items = []
    counts = status.photo_counts
    plan = card.plan
    if card.may_open("in"):
        items.append(TodoItem(CHECK_IN, plan, later=not card.check_in.allowed))
    if card.state in ("checked_in", "checked_out") and counts.get("first", 0) < 1:
        items.append(TodoItem(FIRST_PHOTOS, plan))
    if card.may_open("out"):
        items.append(TodoItem(CHECK_OUT, plan, later=not card.check_out.allowed))
    if card.state == "checked_out" and counts.get("last", 0) < 1:
        items.append(TodoItem(LAST_PHOTOS, plan))
    return items


def _explain_candidates(plans: list[AuditPlan], now: dt.datetime) -> list[AuditPlan]:
    """Those of the auditor's `plans` that are today's or ended in the last 30 days (their
    own calendar): those an exception with no explanation yet puts on today's list, the
    latest ended first."""
    candidates = []
    for plan in sorted(plans, key=lambda plan: (-clock.as_utc(plan.end_utc).timestamp(), plan.id)):
        facts = plan_facts(plan)
        today = facts.local_date(now)
        if facts.first_day <= today and (today - facts.last_day).days <= EXPLAIN_WITHIN_DAYS:
            candidates.append(plan)
    return candidates


def today_page(auditor: Auditor, now: dt.datetime) -> TodayPage:
    """Today's cards with their status (签到提醒) and the "现在要做" list, tomorrow's cards,
    today's cancelled ones and the cards' R7 together-sets, from one load of the auditor's
    plans (plan_access.plans_around_today). Today's plans are usually among the candidates for
    an explanation: one status each, one photo count."""
    mine, loaded = plans_around_today(auditor, now, since=dt.timedelta(days=EXPLAIN_WITHIN_DAYS + 1))
    cards, tomorrow, cancelled = today_and_tomorrow(auditor, mine, now)
    candidates = _explain_candidates(mine, now)
    plans = {plan.id: plan for plan in [card.plan for card in cards] + candidates}
    found = statuses(plans.values(), now)
    todo = [item for card in cards for item in todo_for_card(card, found[card.plan.id])]
    explained = explanation_service.plans_with_explanations(plan.id for plan in candidates)
    todo.extend(TodoItem(EXPLAIN, plan) for plan in candidates
                if found[plan.id].has_exceptions and plan.id not in explained)
    together = together_sets(auditor, [card.plan for card in [*cards, *cancelled]], loaded, now)
    return TodayPage(cards, found, todo, tomorrow, cancelled, together)
