"""The body's verification of exceptions (异常核实, R20): the queue of ended plans with R10
exceptions, each with its deadline (domain.exceptions.review_deadline) and state, the
verifications staff record (append only, in the audit log) and the daily reminder.

No Flask request here: callers pass the staff member or body, the plan (already checked
to be the body's), `now` (aware UTC, the server's clock) and the client's address.

Which plans are in the queue is decided per plan by the R10 functions (plan_status), so the
queue, the plan pages and the auditors' pages say the same thing; only plans not verified
yet that may have an exception (a necessary condition in SQL) are loaded and judged, in
chunks; verified plans are placed from their times alone; only the page shown is loaded
with its explanations and verifications.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

from sqlalchemy import exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..domain import exceptions as rules10
from ..domain.filters import Page, page_of
from ..extensions import db
from ..models import AuditPlan, CheckEvent, Explanation, ExceptionVerification, Photo, PlanChange, Staff
from . import audit
from . import explanations as explanation_service
from .checkin import plan_facts
from .listing import _light_facts as light_facts, _load as load_plans
from .plan_status import PlanStatus, status_of, statuses
from .plans import ExceptionView, exception_views
from .sms import SmsSender

UTC = dt.timezone.utc
CHUNK = 200

# The queue's views: what needs doing (the default), one state, or every plan.
TODO, ALL = "todo", "all"
VIEWS = (TODO, rules10.TO_VERIFY, rules10.OVERDUE, rules10.VERIFIED, ALL)
PER_PAGE = 20


@dataclass(frozen=True)
class QueueFilter:
    view: str = TODO
    ended_from: Optional[dt.date] = None  # the audit's last day, on its own calendar, inclusive
    ended_to: Optional[dt.date] = None

    def query_args(self) -> dict:
        args = {"state": self.view} if self.view != TODO else {}
        if self.ended_from:
            args["from"] = self.ended_from.isoformat()
        if self.ended_to:
            args["to"] = self.ended_to.isoformat()
        return args


@dataclass(frozen=True)
class Standing:
    """Where one plan with exceptions stands: enough to count, sort and page the queue."""

    plan_id: int
    last_day: dt.date
    deadline: rules10.ReviewDeadline
    state: str
    today: dt.date  # the plan's own calendar at `now`


@dataclass(frozen=True)
class Entry:
    """One plan of the queue as a row or the verification page shows it."""

    plan: AuditPlan
    standing: Standing
    status: PlanStatus
    exceptions: list[ExceptionView]
    explanations: list[Explanation]
    verifications: list[ExceptionVerification]  # newest first

    @property
    def current(self) -> Optional[ExceptionVerification]:
        return self.verifications[0] if self.verifications else None


@dataclass(frozen=True)
class Queue:
    entries: list[Entry]
    page: Page
    counts: dict[str, int]  # per state, within the date range


def _team_event(kind: str):
    return exists().where(CheckEvent.plan_id == AuditPlan.id, CheckEvent.kind == kind,
                          CheckEvent.counts_for_team.is_(True))


def _photo(group: str):
    return exists().where(Photo.plan_id == AuditPlan.id, Photo.group == group, Photo.deleted_at.is_(None))


_VERIFIED = exists().where(ExceptionVerification.plan_id == AuditPlan.id)


def _ended(query, agency_id: Optional[int], now: dt.datetime, wanted: QueueFilter):
    """The body's plans (every body's: None, the regulator's count), not cancelled, that may
    have ended by `now` within the range (a local day lies within a day of the UTC one; each
    plan is refined on its own calendar after)."""
    moment = now.astimezone(UTC).replace(tzinfo=None)
    if agency_id is not None:
        query = query.where(AuditPlan.agency_id == agency_id)
    query = query.where(AuditPlan.status != "cancelled", AuditPlan.end_utc < moment)
    if wanted.ended_from:
        query = query.where(AuditPlan.end_utc >= dt.datetime.combine(wanted.ended_from, dt.time()) - dt.timedelta(days=1))
    if wanted.ended_to:
        query = query.where(AuditPlan.end_utc < dt.datetime.combine(wanted.ended_to, dt.time()) + dt.timedelta(days=2))
    return query


def _in_range(standing: Standing, wanted: QueueFilter) -> bool:
    return not ((wanted.ended_from and standing.last_day < wanted.ended_from)
                or (wanted.ended_to and standing.last_day > wanted.ended_to))


def _standing(facts, verified: bool, now: dt.datetime) -> Standing:
    deadline = rules10.review_deadline(facts.last_day)
    today = facts.local_date(now)
    return Standing(facts.plan_id, facts.last_day, deadline,
                    rules10.verification_state(deadline.day, verified, today), today)


def standing_of(plan: AuditPlan, status: PlanStatus, verified: bool, now: dt.datetime) -> Optional[Standing]:
    """The plan's place in the queue, or None when it is not there. A plan is there once its
    audit has ended (R10's own test) with an exception now, or with a verification (a
    verified plan stays 已核实 with its record, even when a record sent later has since
    removed the exception)."""
    facts = plan_facts(plan)
    if not rules10.audit_over(facts, now) or not (status.exceptions or verified):
        return None
    return _standing(facts, verified, now)


def open_standings(agency_id: Optional[int], now: dt.datetime,
                   wanted: QueueFilter = QueueFilter()) -> Iterator[tuple[AuditPlan, Standing]]:
    """The plans not verified yet that are in the queue (待核实, 已逾期) within the range.

    One SQL query keeps the ended plans without a verification that may have an R10
    exception: a team check-in or check-out missing, a meeting's photos missing, or an event
    far from the sites (a necessary condition, so that the many plans with a clean record
    are never loaded). Those are loaded CHUNK at a time and judged by R10's own functions."""
    query = _ended(select(AuditPlan.id), agency_id, now, wanted).where(
        ~_VERIFIED, AuditPlan.mode != "remote",
        or_(~_team_event("in"), ~_team_event("out"), ~_photo("first"), ~_photo("last"),
            exists().where(CheckEvent.plan_id == AuditPlan.id,
                           CheckEvent.nearest_site_distance_m > rules10.DEVIATION_LIMIT_M)))
    ids = list(db.session.scalars(query.order_by(AuditPlan.id)))
    for start in range(0, len(ids), CHUNK):
        plans = list(load_plans(ids[start: start + CHUNK]).values())
        found = statuses(plans, now)
        for plan in plans:
            standing = standing_of(plan, found[plan.id], False, now)
            if standing is not None and _in_range(standing, wanted):
                yield plan, standing


def verified_standings(agency_id: int, now: dt.datetime, wanted: QueueFilter = QueueFilter()) -> list[Standing]:
    """The ended plans with a verification (已核实) within the range, from their times alone."""
    query = _ended(select(AuditPlan.id, AuditPlan.start_utc, AuditPlan.end_utc, AuditPlan.timezone,
                          AuditPlan.status), agency_id, now, wanted).where(_VERIFIED)
    found = []
    for plan_id, start_utc, end_utc, zone, status in db.session.execute(query):
        facts = light_facts(plan_id, start_utc, end_utc, zone, status)
        if rules10.audit_over(facts, now):
            standing = _standing(facts, True, now)
            if _in_range(standing, wanted):
                found.append(standing)
    return found


def verifications_for(plan_ids: Iterable[int]) -> dict[int, list[ExceptionVerification]]:
    """Each plan's verifications, newest first, with who recorded them."""
    ids = list(plan_ids)
    found: dict[int, list[ExceptionVerification]] = {plan_id: [] for plan_id in ids}
    if ids:
        rows = db.session.scalars(select(ExceptionVerification).where(ExceptionVerification.plan_id.in_(ids))
                                  .options(selectinload(ExceptionVerification.staff))
                                  .order_by(ExceptionVerification.created_at.desc(), ExceptionVerification.id.desc()))
        for row in rows:
            found[row.plan_id].append(row)
    return found


def _entries(chosen: list[Standing], now: dt.datetime) -> list[Entry]:
    plans = load_plans([standing.plan_id for standing in chosen])
    found = statuses(plans.values(), now)
    explanations = explanation_service.for_plans(plans)
    verifications = verifications_for(plans)
    return [Entry(plans[s.plan_id], s, found[s.plan_id], exception_views(plans[s.plan_id], found[s.plan_id]),
                  explanations[s.plan_id], verifications[s.plan_id]) for s in chosen if s.plan_id in plans]


def queue(agency_id: int, wanted: QueueFilter, asked_page: object, now: dt.datetime) -> Queue:
    """One page of the body's queue: the view's plans, oldest deadline first (then the
    earliest audit), and the counts per state over the date range."""
    open_ones = [standing for _plan, standing in open_standings(agency_id, now, wanted)]
    verified = verified_standings(agency_id, now, wanted)
    counts = {state: 0 for state in rules10.VERIFICATION_STATES}
    for standing in open_ones + verified:
        counts[standing.state] += 1
    if wanted.view == TODO:
        shown = open_ones
    elif wanted.view == ALL:
        shown = open_ones + verified
    else:
        shown = [standing for standing in open_ones + verified if standing.state == wanted.view]
    shown.sort(key=lambda s: (s.deadline.day, s.last_day, s.plan_id))
    page = page_of(asked_page, len(shown), PER_PAGE)
    return Queue(_entries(shown[page.offset: page.offset + page.per_page], now), page, counts)


def entry_for(plan: AuditPlan, now: dt.datetime) -> Optional[Entry]:
    """The plan's queue entry (the plan checked to be the body's before), or None when it is
    not in the queue."""
    status = status_of(plan, now)
    verifications = verifications_for([plan.id])[plan.id]
    standing = standing_of(plan, status, bool(verifications), now)
    if standing is None:
        return None
    return Entry(plan, standing, status, exception_views(plan, status), explanation_service.for_plan(plan.id),
                 verifications)


def version_of(entry: Entry) -> str:
    """What the staff member saw when the page was made: the plan as the body reported it
    (times, status, mode, remarks, sites, team) and its last recorded change (R19), its
    exceptions, the team's explanations and the current verification. A form carries it; a post whose version is no longer the
    plan's is refused (the page changed under the reader)."""
    plan = entry.plan
    seen = {
        "plan": [plan.plan_no, plan.start_utc.isoformat(), plan.end_utc.isoformat(), plan.timezone, plan.status,
                 plan.mode, plan.remarks, plan.confidential],
        "sites": [[site.address, site.lat, site.lon] for site in plan.sites],
        "team": [[member.auditor_id, member.role] for member in plan.team],
        "change": db.session.scalar(select(func.max(PlanChange.id)).where(PlanChange.plan_id == plan.id)),
        "exceptions": [[e.code, list(e.missing), e.kind] for e in entry.status.exceptions],
        "explanations": [explanation.id for explanation in entry.explanations],
        "verification": entry.current.id if entry.current else None,
    }
    return hashlib.sha256(json.dumps(seen, sort_keys=True, default=str).encode()).hexdigest()[:32]


# --- recording ---------------------------------------------------------------------------

RECORDED, ALREADY, STALE, INVALID = "recorded", "already", "stale", "invalid"


@dataclass(frozen=True)
class Outcome:
    code: str
    problems: tuple[str, ...] = ()
    verification: Optional[ExceptionVerification] = None


def _by_token(plan_id: int, form_token: str) -> Optional[ExceptionVerification]:
    return db.session.scalar(select(ExceptionVerification).where(
        ExceptionVerification.plan_id == plan_id, ExceptionVerification.form_token == form_token))


def record(staff: Staff, entry: Entry, result: str, text: str, *, form_token: str, version: str,
           now: dt.datetime, address: str) -> Outcome:
    """Record the body's verification of `entry`'s plan. The same form (its token) posted
    again with the same content is the verification already stored; then the input is
    checked, then that the plan is still as the form saw it. Appended with its audit log entry in one transaction."""
    plan = entry.plan
    if form_token:
        earlier = _by_token(plan.id, form_token)
        if earlier is not None:
            # The same form again: the same content is the one stored; another content (the
            # form reopened with the browser's back button and changed) is refused as stale.
            same = (earlier.result, earlier.text) == (result, text.strip() if isinstance(text, str) else text)
            return Outcome(ALREADY, verification=earlier) if same else Outcome(STALE)
    problems = rules10.verification_problems(result, text)
    if not form_token or len(form_token) > 64:
        problems.append("form")
    if problems:
        return Outcome(INVALID, tuple(problems))
    if version != version_of(entry):
        return Outcome(STALE)
    recorded_on = now.astimezone(plan_facts(plan).zone).date()
    row = ExceptionVerification(
        agency_id=plan.agency_id, plan_id=plan.id, staff_id=staff.id, result=result, text=text.strip(),
        exceptions=[view.code for view in entry.exceptions], deadline=entry.standing.deadline.day,
        late=rules10.verified_late(entry.standing.deadline.day, recorded_on),
        created_at=now.astimezone(UTC).replace(tzinfo=None), form_token=form_token)
    db.session.add(row)
    before = None
    if entry.current is not None:
        before = {"result": entry.current.result, "text": entry.current.text}
    audit.record(audit.actor_for(staff, address), "exceptions_verified", target=f"{plan.plan_no} {plan.enterprise.name}",
                 before=before, after={"result": result, "text": row.text, "exceptions": row.exceptions,
                                       "deadline": row.deadline.isoformat(), "late": row.late})
    try:
        db.session.commit()
    except IntegrityError:  # the same form at the same moment from another request
        db.session.rollback()
        return Outcome(ALREADY, verification=_by_token(plan.id, form_token))
    return Outcome(RECORDED, verification=row)


# --- the daily reminder ------------------------------------------------------------------

@dataclass(frozen=True)
class Due:
    """What the body's reviewers are reminded of: plans due today or tomorrow, overdue."""

    due_soon: int
    overdue: int

    @property
    def any(self) -> bool:
        return bool(self.due_soon or self.overdue)


def due(agency_id: int, now: dt.datetime) -> Due:
    soon = overdue = 0
    for _plan, standing in open_standings(agency_id, now):
        if not rules10.needs_reminder_to_verify(standing.deadline.day, False, standing.today):
            continue
        if standing.state == rules10.OVERDUE:
            overdue += 1
        else:
            soon += 1
    return Due(soon, overdue)


def reminder_text(body_name: str, waiting: Due) -> str:
    """The SMS, in Chinese like the app's other messages to phones."""
    parts = []
    if waiting.due_soon:
        parts.append(f"{waiting.due_soon} 项今明两天到期")
    if waiting.overdue:
        parts.append(f"{waiting.overdue} 项已逾期")
    return f"【认证到】{body_name}：异常核实{'，'.join(parts)}，请登录管理端处理。"


@dataclass(frozen=True)
class Reminded:
    agency_code: str
    due: Due
    sent: int
    failed: int


def send_reminders(sender: SmsSender, now: dt.datetime) -> list[Reminded]:
    """For each body with anything due today or tomorrow or overdue, one SMS to each of its
    active managers and administrators. A number the gateway refuses is counted, not fatal."""
    from ..models import Agency

    done = []
    for agency in db.session.scalars(select(Agency).order_by(Agency.id)):
        waiting = due(agency.id, now)
        if not waiting.any:
            continue
        reviewers = db.session.scalars(select(Staff).where(
            Staff.agency_id == agency.id, Staff.disabled.is_(False), Staff.role.in_(("manager", "admin")))
            .order_by(Staff.id))
        sent = failed = 0
        text = reminder_text(agency.name, waiting)
        for person in reviewers:
            try:
                sender.send(person.phone, text)
                sent += 1
            except Exception:  # noqa: BLE001 - one refused number does not stop the others
                failed += 1
        done.append(Reminded(agency.code, waiting, sent, failed))
    return done
