"""Today's tasks, check-in and check-out (R2-R7, R15, R16): where the rules of
domain.rules and domain.geo meet the database. Which plans an auditor may see and how
plans are loaded is services.plan_access's.

No Flask request in here: callers pass the auditor, the posted fields as a mapping and
the server's clock (`clock.now()`), so tests can put "now" anywhere they need.

R16 and signing together (R7). The count "该企业还有其他 X 个审核任务" is the number of
same-enterprise, same-day plans the team would have to sign, whoever is on them: the
manual (§2.4) has the auditor see that a plan they are not on stays unsigned. Such a plan
is shown by its project name and "您不在该审核组" only: no team, address, time, state or
link. Plans the auditor is on are shown in full, with links.
"""
from __future__ import annotations

import datetime as dt
import math
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Iterable, Mapping, Optional, Union

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from ..domain import clock, geo, offline
from ..domain.rules import (
    OPENS_LATER,
    Decision,
    PlanFacts,
    is_today_task,
    may_check_in,
    may_check_out,
    phone_facts,
    same_enterprise_same_day,
    sign_together,
    team_state,
    timeliness,
)
from ..domain.signals import position_flags
from ..extensions import db
from ..models import AuditPlan, Auditor, CheckEvent
from .plan_access import enterprise_plans, on_team, teams_plans_around_today, visible_plan

KINDS = ("in", "out")
TIME_FORMAT = "%Y-%m-%d %H:%M"
# A phone clock outside these years is not a clock reading worth keeping.
_PLAUSIBLE_YEARS = (2000, 2100)

_RULES = {"in": may_check_in, "out": may_check_out}
def team_record(plan: AuditPlan, kind: str) -> Optional[CheckEvent]:
    """The one event of this kind that counts for the whole team (R3), if any."""
    return _team_event(plan.events, kind)


def _team_event(events: Iterable, kind: str):
    for event in events:
        if event.kind == kind and event.counts_for_team:
            return event
    return None


def action_time(event: CheckEvent) -> dt.datetime:
    """When the event's action happened, aware UTC: the receipt, or for an action sent
    later from the phone's outbox its corrected action time (domain.offline, R17)."""
    acted = offline.offline_action_time(event.flags) if event.queued_offline else None
    return acted or clock.as_utc(event.server_time)


def plan_facts(plan: AuditPlan) -> PlanFacts:
    return facts_of(plan, [member.auditor_id for member in plan.team], plan.events)


def facts_of(plan, team: Iterable[int], events: Iterable) -> PlanFacts:
    """The rules' facts from a plan's columns (an AuditPlan, or a row of a query with the
    same names), its team's auditor ids and its events (rows with kind, counts_for_team,
    queued_offline, flags and server_time): lists of many plans read them without loading
    each plan."""
    events = list(events)
    checked_in = _team_event(events, "in")
    checked_out = _team_event(events, "out")
    return PlanFacts(
        plan_id=plan.id,
        enterprise_id=plan.enterprise_id,
        start=clock.as_utc(plan.start_utc),
        end=clock.as_utc(plan.end_utc),
        timezone=plan.timezone or clock.DEFAULT_ZONE_NAME,
        mode=plan.mode,
        status=plan.status,
        team=frozenset(team),
        checked_in_at=action_time(checked_in) if checked_in else None,
        checked_out_at=action_time(checked_out) if checked_out else None,
    )


# --- what a member sees -----------------------------------------------------------------

@dataclass(frozen=True)
class TeamRecord:
    """Who signed for the team, and when on the plan's wall clock (R3). An action sent
    later from the phone's outbox (R17) shows both times: `acted_at` (the corrected
    action time) beside `at` (the receipt, the time of record)."""

    by: str
    at: dt.datetime
    acted_at: Optional[dt.datetime] = None

    @property
    def sent_later(self) -> bool:
        return self.acted_at is not None


class PlanTimes:
    """The plan's audit time range on its own wall clock, for anything that has a `plan`."""

    plan: AuditPlan

    @property
    def start_local(self) -> dt.datetime:
        return clock.local(self.plan.start_utc, self.plan.timezone)

    @property
    def end_local(self) -> dt.datetime:
        return clock.local(self.plan.end_utc, self.plan.timezone)


@dataclass(frozen=True)
class TaskCard(PlanTimes):
    """One plan as its team sees it now: state, and whether each action is allowed."""

    plan: AuditPlan
    state: str  # domain.rules.team_state
    checked_in: Optional[TeamRecord]
    checked_out: Optional[TeamRecord]
    check_in: Decision
    check_out: Decision

    @property
    def needs_check_in(self) -> bool:
        return self.state not in ("remote", "cancelled")

    def decision(self, kind: str) -> Decision:
        return self.check_in if kind == "in" else self.check_out

    def may_open(self, kind: str) -> bool:
        """Allowed now, or refused for now only (domain.rules.OPENS_LATER): the phone may open
        it on its own clock (static/js/plan-rules.js)."""
        decision = self.decision(kind)
        return decision.allowed or decision.reason in OPENS_LATER

    @property
    def phone(self) -> dict:
        """What the phone re-judges R6 from on its own clock (domain.rules.phone_facts)."""
        return phone_facts(plan_facts(self.plan))


def _record(plan: AuditPlan, kind: str) -> Optional[TeamRecord]:
    event = team_record(plan, kind)
    if event is None:
        return None
    acted = clock.local(action_time(event), plan.timezone) if event.queued_offline else None
    return TeamRecord(event.signer.name, clock.local(event.server_time, plan.timezone), acted)


def explain(plan: AuditPlan, decision: Decision) -> Decision:
    """The decision with display-ready, JSON-safe params: local times as text, and who
    signed when the team already has its record."""
    params: dict = {}
    for key, value in decision.params.items():
        if isinstance(value, dt.datetime):
            params[key] = clock.local(value, plan.timezone).strftime(TIME_FORMAT)
        elif isinstance(value, dt.date):
            params[key] = value.isoformat()
        else:
            params[key] = value
    kind = {"already_checked_in": "in", "already_checked_out": "out"}.get(decision.reason)
    record = _record(plan, kind) if kind else None
    if record:
        params.update(by=record.by, at=record.at.strftime(TIME_FORMAT))
    return Decision(decision.allowed, decision.reason, params)


def task_card(auditor: Auditor, plan: AuditPlan, now: dt.datetime) -> TaskCard:
    facts = plan_facts(plan)
    return TaskCard(
        plan=plan,
        state=team_state(facts),
        checked_in=_record(plan, "in"),
        checked_out=_record(plan, "out"),
        check_in=explain(plan, may_check_in(facts, auditor.id, now)),
        check_out=explain(plan, may_check_out(facts, auditor.id, now)),
    )


def today_for(auditor: Auditor, now: dt.datetime, *, cancelled: bool = False) -> list[TaskCard]:
    """R2: the auditor's plans whose audit period includes today in the plan's own zone,
    by start. Cancelled plans are no task (`cancelled=True` gives those alone, for the team
    to see them cancelled); remote ones are shown as needing no check-in."""
    plans = teams_plans_around_today(auditor, now, cancelled=cancelled)
    return [task_card(auditor, plan, now) for plan in plans if is_today_task(plan_facts(plan), now)]


def today_and_tomorrow(auditor: Auditor, plans: Iterable[AuditPlan], now: dt.datetime
                       ) -> tuple[list[TaskCard], list[TaskCard], list[TaskCard]]:
    """today_for(now), today_for(now + 1 day) and today_for(now, cancelled=True), from the
    auditor's plans already loaded (plan_access.plans_around_today), by start."""
    later = now + dt.timedelta(days=1)
    plans = list(plans)
    facts = {plan.id: plan_facts(plan) for plan in plans}

    def cards(moment: dt.datetime, cancelled: bool) -> list[TaskCard]:
        return [task_card(auditor, plan, moment) for plan in plans
                if (plan.status == "cancelled") == cancelled and is_today_task(facts[plan.id], moment)]

    return cards(now, False), cards(later, False), cards(now, True)


# --- signing together (R7) ----------------------------------------------------------------

@dataclass(frozen=True)
class OtherPlan:
    """Another plan of the same enterprise today. R16: `card` is None when the auditor is
    not on its team, and then only its project is shown."""

    project: str
    required: bool
    card: Optional[TaskCard]

    @property
    def on_team(self) -> bool:
        return self.card is not None


def _same_day_plans(plan: AuditPlan, now: dt.datetime, candidates: Optional[list[AuditPlan]] = None
                    ) -> list[AuditPlan]:
    """R7: the other plans of the plan's enterprise that are today's tasks needing a
    signature, whichever teams they have (among `candidates` if loaded already)."""
    if candidates is None:
        candidates = enterprise_plans([plan.enterprise_id], now, besides=plan.id)
    by_id = {candidate.id: candidate for candidate in candidates}
    chosen = plan_facts(plan)
    return [by_id[f.plan_id] for f in same_enterprise_same_day(chosen, map(plan_facts, candidates), now)]


def others_for_together(auditor: Auditor, plan: AuditPlan, now: dt.datetime,
                        candidates: Optional[list[AuditPlan]] = None) -> list[OtherPlan]:
    """The X of "同时签到，该企业还有其他 X 个审核任务" and its list (see the module doc)."""
    return [
        OtherPlan(other.project_code, other.required,
                  task_card(auditor, other, now) if on_team(auditor, other) else None)
        for other in _same_day_plans(plan, now, candidates)
    ]


def signed_together_with(auditor: Auditor, plan: AuditPlan, now: dt.datetime) -> list[int]:
    """R7: the other plans of the auditor's whose together-action would also sign this one
    (and the other way round): the phone shows such an action, still waiting to be sent, on
    each of them (static/js/plan-rules.js judges each plan's own rule at the action's time)."""
    return signed_together(auditor, [plan], now)[plan.id]


def signed_together(auditor: Auditor, plans: list[AuditPlan], now: dt.datetime) -> dict[int, list[int]]:
    """signed_together_with of each of `plans` (a page's cards), with one query for the
    plans of their enterprises around today."""
    if not plans:
        return {}
    candidates = enterprise_plans({plan.enterprise_id for plan in plans}, now)
    return together_sets(auditor, plans, candidates, now)


def together_sets(auditor: Auditor, plans: Iterable[AuditPlan], candidates: Iterable[AuditPlan],
                  now: dt.datetime) -> dict[int, list[int]]:
    """signed_together_with of each of `plans`, among `candidates` already loaded (any plans
    around today; those of other enterprises and `plans` themselves are passed over)."""
    facts = {candidate.id: plan_facts(candidate) for candidate in candidates}
    mine = {candidate.id for candidate in candidates if on_team(auditor, candidate)}
    return {plan.id: [f.plan_id for f in same_enterprise_same_day(plan_facts(plan), facts.values(), now)
                      if f.plan_id in mine]
            for plan in plans}


@dataclass(frozen=True)
class CheckPage:
    """What the check-in / check-out page shows before anything is posted."""

    kind: str
    card: TaskCard
    others: list[OtherPlan]
    sites: list[dict]  # located sites for the map, WGS-84
    together: list[int]  # signed_together_with the plan

    @property
    def decision(self) -> Decision:
        return self.card.decision(self.kind)

    @property
    def shows_form(self) -> bool:
        """The page (kept on the phone) has the map and the form also when it is refused for
        now only: the phone opens them when its clock says so."""
        return self.card.may_open(self.kind)


def check_page(auditor: Auditor, plan: AuditPlan, kind: str, now: dt.datetime) -> CheckPage:
    """From one load of the enterprise's other plans: the together list and set."""
    card = task_card(auditor, plan, now)
    candidates = enterprise_plans([plan.enterprise_id], now, besides=plan.id)
    others = others_for_together(auditor, plan, now, candidates) if card.may_open(kind) else []
    return CheckPage(kind, card, others, geo.map_sites(plan.sites), together_sets(auditor, [plan], candidates, now)[plan.id])


# --- the posted reading ----------------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    """What the phone sent with a check-in or check-out, checked."""

    device: geo.Point
    accuracy_m: Optional[float]
    position_time: Optional[dt.datetime]
    device_time: Optional[dt.datetime]
    device_time_sent: Optional[dt.datetime]
    pin: geo.Point
    confirm: bool
    together: bool
    idempotency_key: Optional[str]

    @property
    def pin_offset_m(self) -> float:
        return geo.distance_m(self.device, self.pin)


class BadReading(ValueError):
    def __init__(self, reason: str, **params):
        super().__init__(reason)
        self.reason = reason
        self.params = params


def _text(form: Mapping, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def device_clock(value) -> Optional[dt.datetime]:
    """A phone clock reading in ms since the epoch, as aware UTC; anything else is None.
    Evidence only (R4): a missing or absurd value never refuses the action."""
    try:
        ms = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(ms):
        return None
    try:
        moment = dt.datetime.fromtimestamp(ms / 1000.0, clock.UTC)
    except (OverflowError, OSError, ValueError):
        return None
    if not _PLAUSIBLE_YEARS[0] <= moment.year < _PLAUSIBLE_YEARS[1]:
        return None
    return moment


def read_form(form: Mapping) -> Reading:
    """Check the posted fields; raises BadReading with a reason code."""
    device_lat, device_lon = _text(form, "device_lat"), _text(form, "device_lon")
    if not device_lat or not device_lon:
        raise BadReading("position_missing")
    try:
        device = geo.parse_point(device_lat, device_lon)
    except geo.InvalidPosition as invalid:
        raise BadReading("position_invalid", problem=invalid.code) from None

    pin_lat, pin_lon = _text(form, "lat"), _text(form, "lon")
    if not pin_lat and not pin_lon:
        pin = device  # the pin was never moved off the device position
    else:
        try:
            pin = geo.parse_point(pin_lat, pin_lon)
        except geo.InvalidPosition as invalid:
            raise BadReading("pin_invalid", problem=invalid.code) from None

    accuracy: Optional[float] = None
    raw_accuracy = _text(form, "device_accuracy")
    if raw_accuracy:
        try:
            accuracy = float(raw_accuracy)
        except ValueError:
            raise BadReading("accuracy_invalid") from None
        if not math.isfinite(accuracy) or accuracy < 0:
            raise BadReading("accuracy_invalid")

    device_time = device_clock(_text(form, "device_time"))
    sent = device_clock(_text(form, "device_time_sent")) or device_time
    key = _text(form, "idempotency_key")
    return Reading(
        device=device,
        accuracy_m=accuracy,
        position_time=device_clock(_text(form, "device_position_time")),
        device_time=device_time,
        device_time_sent=sent,
        pin=pin,
        confirm=_text(form, "confirm") == "1",
        together=_text(form, "together") in ("on", "1", "true"),
        idempotency_key=key if 0 < len(key) <= 64 else None,
    )


def queued_offline(form: Mapping) -> bool:
    """R17: the phone kept this action in its outbox and sends it later."""
    return _text(form, "queued_offline") in ("1", "true", "on")


def timing(form: Mapping, facts: PlanFacts, now: dt.datetime) -> offline.ActionTime:
    """When the posted action is judged to have happened (domain.offline)."""
    device_time = device_clock(_text(form, "device_time"))
    sent = device_clock(_text(form, "device_time_sent")) or device_time
    first_day = dt.datetime.combine(facts.first_day, dt.time(0), tzinfo=facts.zone)
    return offline.action_time(queued=queued_offline(form), device_time=device_time, device_time_sent=sent,
                               receipt=now, first_day_start=first_day)


# --- outcomes ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Skipped:
    """A plan one together-action left unsigned, and why (only the project when the
    signer is not on its team: R16)."""

    project: str
    required: bool
    reason: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    """Nothing was written. `not_found` means the plan is not the auditor's to see."""

    reason: str
    params: dict = field(default_factory=dict)
    result: str = "refused"

    @property
    def not_found(self) -> bool:
        return self.reason == "not_found"


@dataclass(frozen=True)
class SiteWarning:
    project: str
    distance_km: Optional[float]  # None: the plan has no located site

    @property
    def not_located(self) -> bool:
        return self.distance_km is None


@dataclass(frozen=True)
class NeedsConfirmation:
    """R5: far from (or no) planned site; nothing written until posted with confirm=1."""

    kind: str
    warnings: list[SiteWarning]
    result: str = "confirm"


@dataclass(frozen=True)
class Signed:
    """The events written by one action (the chosen plan first), and the plans it skipped."""

    kind: str
    events: list[CheckEvent]
    skipped: list[Skipped]
    result: str = "signed"

    @property
    def server_time(self) -> dt.datetime:
        """The time of record on the chosen plan's wall clock."""
        first = self.events[0]
        return clock.local(first.server_time, first.plan.timezone)

    def summary(self) -> dict:
        """JSON-safe, to show the same outcome after a redirect (see restore_signed)."""
        return {"kind": self.kind, "events": [e.id for e in self.events],
                "skipped": [asdict(s) for s in self.skipped]}


@dataclass(frozen=True)
class KeptAsCopy:
    """R3, R17: an action sent later from the outbox found the team already signed by
    another member; it is kept as this member's own evidence, not as a second record."""

    kind: str
    event: CheckEvent
    by: str
    at: dt.datetime  # the team record's time, on the plan's wall clock
    result: str = "copy"

    @property
    def events(self) -> list[CheckEvent]:
        return [self.event]


CheckOutcome = Union[Signed, NeedsConfirmation, Refused, KeptAsCopy]


def restore_signed(auditor: Auditor, plan: AuditPlan, kind: str, summary) -> Optional[Signed]:
    """The outcome stored by Signed.summary, if it is this auditor's, for this plan and kind."""
    if not isinstance(summary, dict) or summary.get("kind") != kind:
        return None
    ids = [i for i in summary.get("events", []) if isinstance(i, int)]
    events = db.session.scalars(
        select(CheckEvent).where(CheckEvent.id.in_(ids), CheckEvent.signer_id == auditor.id)
    ).all()
    events = sorted(events, key=lambda e: ids.index(e.id))
    if not events or events[0].plan_id != plan.id:
        return None
    try:
        skipped = [Skipped(**item) for item in summary.get("skipped", [])]
    except TypeError:
        skipped = []
    return Signed(kind, events, skipped)


# Built once (every check-in runs it): only the values change, as parameters.
_SAME_KEY = (
    select(CheckEvent)
    .where(CheckEvent.signer_id == bindparam("signer_id"), CheckEvent.kind == bindparam("kind"),
           CheckEvent.idempotency_key == bindparam("key"))
    .order_by(CheckEvent.id)
)


def _earlier_signed(auditor: Auditor, plan: AuditPlan, kind: str, key: str) -> Optional[Signed]:
    """The same action sent twice (a retry) finds what the first one wrote for this plan.
    The plan's own events come loaded with it (plan_access.PLAN_LOADING): only a key found
    among them is looked up again, for the events it also wrote on plans signed together."""
    if not any(event.idempotency_key == key and event.signer_id == auditor.id and event.kind == kind
               for event in plan.events):
        return None
    events = db.session.scalars(_SAME_KEY, {"signer_id": auditor.id, "kind": kind, "key": key}).all()
    events.sort(key=lambda e: e.plan_id != plan.id)
    if not events or events[0].plan_id != plan.id:
        return None
    if not events[0].counts_for_team:
        record = team_record(plan, kind)
        if record is not None:
            return KeptAsCopy(kind, events[0], record.signer.name, clock.local(record.server_time, plan.timezone))
    return Signed(kind, events, [])


def _site_points(plan: AuditPlan) -> list[Optional[geo.Point]]:
    return geo.points((site.lat, site.lon) for site in plan.sites)


def _event(plan: AuditPlan, facts: PlanFacts, auditor: Auditor, kind: str, reading: Reading,
           nearest: geo.NearestSite, when: offline.ActionTime, group_key: Optional[str]) -> CheckEvent:
    """One event with every signal this stage knows (shared/docs/evidence.md): the
    receipt is the time of record; the windows of R6 are judged at the action time."""
    server_time = clock.as_utc(when.receipt)
    skew = when.skew_s
    flags = position_flags(
        nearest=nearest,
        pin_offset_m=reading.pin_offset_m,
        accuracy_m=reading.accuracy_m,
        position_time=reading.position_time,
        action_time=reading.device_time or server_time,
        clock_skew_s=skew,
    )
    flags.extend(when.flags)
    late_or_early = timeliness(facts, kind, when.at)
    if late_or_early:
        flags.append(late_or_early)
    return CheckEvent(
        plan_id=plan.id,
        kind=kind,
        signer_id=auditor.id,
        group_key=group_key,
        counts_for_team=True,
        server_time=server_time,
        device_time=reading.device_time,
        device_time_sent=reading.device_time_sent,
        clock_skew_s=skew,
        queued_offline=when.queued,
        device_lat=reading.device.lat,
        device_lon=reading.device.lon,
        device_accuracy_m=reading.accuracy_m,
        device_position_time=reading.position_time,
        chosen_lat=reading.pin.lat,
        chosen_lon=reading.pin.lon,
        pin_offset_m=reading.pin_offset_m,
        nearest_site_id=plan.sites[nearest.index].id if nearest.located else None,
        nearest_site_distance_m=nearest.distance_m,
        site_not_located=not nearest.located,
        warning_confirmed=reading.confirm and (not nearest.located or nearest.deviates()),
        idempotency_key=reading.idempotency_key,
        flags=flags,
    )


def check(auditor: Auditor, plan_id: int, kind: str, form: Mapping, now: dt.datetime,
          session_ref: Optional[str] = None) -> CheckOutcome:
    """`sign` for the plan with this id if the auditor may see it (R16), committed."""
    plan = visible_plan(auditor, plan_id)
    if plan is None:
        return Refused("not_found")
    outcome = sign(auditor, plan, kind, form, now, session_ref)
    db.session.commit()
    return outcome


def sign(auditor: Auditor, plan: AuditPlan, kind: str, form: Mapping, now: dt.datetime,
         session_ref: Optional[str] = None) -> CheckOutcome:
    """Check in or out (kind "in" / "out") for the auditor's team, from the posted fields,
    on a plan the auditor may see (visible_plan).

    Writes one event per signed plan, all or none; writes nothing on any refusal or
    warning. If another member's event lands first (the partial unique index), the
    action is judged again against it: "already checked in by X", or that plan skipped.
    The events are flushed, not committed: the caller commits them (with the action's
    stored answer: blueprints.idempotency). Each signed plan's `events` then has them, so
    its page shows the team's new state without loading it again.
    `session_ref` names the login session it came with (services.presence).
    """
    if kind not in KINDS:
        return Refused("not_found")
    for _attempt in range(2):
        outcome = _judge(auditor, plan, kind, form, now)
        if not isinstance(outcome, _Pending):
            return outcome
        events = outcome.signed.events
        for event in events:
            event.session_ref = session_ref
        try:
            with db.session.begin_nested():
                db.session.add_all(events)
        except IntegrityError:
            db.session.expire_all()  # judged again on what the other member wrote
            continue
        for event in events:
            signed = db.session.get(AuditPlan, event.plan_id)
            if event not in signed.events:
                set_committed_value(signed, "events", [*signed.events, event])
        return outcome.signed
    return Refused("try_again")


@dataclass(frozen=True)
class _Pending:
    """Events judged and ready, not yet in the session."""

    signed: Union[Signed, "KeptAsCopy"]


def _judge(auditor: Auditor, plan: AuditPlan, kind: str, form: Mapping, now: dt.datetime
           ) -> Union[CheckOutcome, _Pending]:
    """`now` is the receipt; the rules judge the action time (the receipt, or for an
    action sent later from the outbox its corrected time: domain.offline)."""
    key = _text(form, "idempotency_key")
    earlier = _earlier_signed(auditor, plan, kind, key) if key else None
    if earlier:
        return earlier
    facts = plan_facts(plan)
    when = timing(form, facts, now)
    at = when.at
    decision = _RULES[kind](facts, auditor.id, at)
    copy_of = _late_offline_copy_of(plan, facts, auditor, kind, decision, when)
    if not decision and copy_of is None:
        return _refused(plan, decision)
    try:
        reading = read_form(form)
    except BadReading as bad:
        return Refused(bad.reason, bad.params)
    if not geo.pin_within_limit(reading.device, reading.pin):
        return Refused("pin_too_far", {"km": round(reading.pin_offset_m / 1000, 2),
                                       "limit_km": geo.PIN_LIMIT_M / 1000})
    if copy_of is not None:
        return _late_copy(plan, facts, auditor, kind, reading, when, copy_of)

    others = _same_day_plans(plan, at) if reading.together else []
    together = sign_together(facts, map(plan_facts, others), auditor.id, kind, at)
    by_id = {p.id: p for p in [plan, *others]}
    targets = [by_id[i] for i in together.to_sign]
    nearest = {p.id: geo.nearest_site(reading.pin, _site_points(p)) for p in targets}

    warnings = [
        SiteWarning(p.project_code, None if not n.located else round(n.distance_m / 1000, 1))
        for p in targets
        for n in [nearest[p.id]]
        if not n.located or n.deviates()
    ]
    if warnings and not reading.confirm:
        return NeedsConfirmation(kind, warnings)

    group_key = str(uuid.uuid4()) if reading.together else None
    events = [_event(target, plan_facts(target), auditor, kind, reading, nearest[target.id], when, group_key)
              for target in targets]
    skipped = [
        Skipped(by_id[plan_id_].project_code, by_id[plan_id_].required, why.reason,
                explain(by_id[plan_id_], why).params if why.reason != "not_on_team" else {})
        for plan_id_, why in together.skipped
    ]
    return _Pending(Signed(kind, events, skipped))


def _late_offline_copy_of(plan: AuditPlan, facts: PlanFacts, auditor: Auditor, kind: str,
                          decision: Decision, when: offline.ActionTime) -> Optional[CheckEvent]:
    """R3, R17: the team record an action sent later arrived after, when that action was
    itself allowed at its own time had the team not signed yet; None otherwise."""
    if not when.queued or decision.reason not in ("already_checked_in", "already_checked_out"):
        return None
    unsigned = replace(facts, checked_in_at=None) if kind == "in" else replace(facts, checked_out_at=None)
    if not _RULES[kind](unsigned, auditor.id, when.at):
        return None
    return team_record(plan, kind)


def _late_copy(plan: AuditPlan, facts: PlanFacts, auditor: Auditor, kind: str, reading: Reading,
               when: offline.ActionTime, record: CheckEvent) -> _Pending:
    """The member's own evidence beside the team record: never counts for the team."""
    nearest = geo.nearest_site(reading.pin, _site_points(plan))
    event = _event(plan, facts, auditor, kind, reading, nearest, when, None)
    event.counts_for_team = False
    event.flags = [*event.flags, {"code": "late_offline_copy", "team_event_id": record.id,
                                  "team_signer": record.signer.name}]
    copy = KeptAsCopy(kind, event, record.signer.name, clock.local(record.server_time, plan.timezone))
    return _Pending(copy)


def _refused(plan: AuditPlan, decision: Decision) -> Refused:
    explained = explain(plan, decision)
    return Refused(explained.reason, explained.params)
