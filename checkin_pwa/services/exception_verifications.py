"""The body's verification of exceptions (异常核实, R20): the queue of ended plans with R10
exceptions, each with its deadline (domain.audit_exceptions.review_deadline) and state, the
verifications staff record (append only, in the audit log) and the daily reminder.

No Flask request here: callers pass the staff member or body, the plan (already checked
to be the body's), `now` (aware UTC, the server's clock) and the client's address.

Which plans are in the queue is decided per plan by the R10 functions (plan_status), so the
queue, the plan pages and the auditors' pages say the same thing. Only the plans the
`open_review` marker lists (services.open_reviews: not verified, a record that may give an
exception) whose audit may be over are loaded and judged, in chunks: the cost follows what
needs doing, never the plans with a clean record. Verified plans are counted by the
database, except those whose state or date range their own calendar must decide; only the
page shown is loaded with its explanations and verifications.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Iterable, Iterator, Optional

from sqlalchemy import and_, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..domain import audit_exceptions as rules10, clock
from ..domain.filters import Page, page_of
from ..extensions import db
from ..models import AuditPlan, Explanation, ExceptionVerification, OpenReview, PlanChange, Staff
from . import audit
from . import explanations as explanation_service
from . import open_reviews  # noqa: F401  (keeps the open_review marker in step on every flush)
from .checkin import plan_facts
from .listing import light_facts, load_plans
from .plan_status import PlanStatus, status_of, statuses
from .plans import ExceptionView, exception_views
from .sms import SmsSender

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


def _verified(agency_id: int):
    """The body's plans with a verification, read from the verifications (a few) rather than
    by probing each of the body's plans (many)."""
    return AuditPlan.id.in_(select(ExceptionVerification.plan_id).where(ExceptionVerification.agency_id == agency_id))


def _midnight(day: dt.date, days: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()) + dt.timedelta(days=days)


def _ended_terms(agency_id: Optional[int], now: dt.datetime, wanted: QueueFilter) -> list:
    """The body's plans (every body's: None, the regulator's count), not cancelled, that may
    have ended by `now` within the range (a local day lies within a day of the UTC one; each
    plan is refined on its own calendar after)."""
    terms = [AuditPlan.status != "cancelled", AuditPlan.end_utc < clock.as_utc(now)]
    if agency_id is not None:
        terms.append(AuditPlan.agency_id == agency_id)
    if wanted.ended_from:
        terms.append(AuditPlan.end_utc >= _midnight(wanted.ended_from, -1))
    if wanted.ended_to:
        terms.append(AuditPlan.end_utc < _midnight(wanted.ended_to, 2))
    return terms


def _ended(query, agency_id: Optional[int], now: dt.datetime, wanted: QueueFilter):
    return query.where(*_ended_terms(agency_id, now, wanted))


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

    The candidates are the body's plans the `open_review` marker lists (not verified, a
    record that may give an exception: services.open_reviews) that may have ended: one
    query over the marker's rows, never over the plans with a clean record. They are loaded
    CHUNK at a time and judged by R10's own functions."""
    # Read from the marker's side: the plan's own row is only looked up by its id.
    query = select(OpenReview.plan_id).where(
        exists().where(AuditPlan.id == OpenReview.plan_id, *_ended_terms(agency_id, now, wanted)))
    if agency_id is not None:
        query = query.where(OpenReview.agency_id == agency_id)
    ids = list(db.session.scalars(query.order_by(OpenReview.plan_id)))
    for start in range(0, len(ids), CHUNK):
        plans = list(load_plans(ids[start: start + CHUNK]).values())
        found = statuses(plans, now)
        for plan in plans:
            standing = standing_of(plan, found[plan.id], False, now)
            if standing is not None and _in_range(standing, wanted):
                yield plan, standing


def _verified_rows(query, agency_id: int, now: dt.datetime, wanted: QueueFilter):
    return _ended(query, agency_id, now, wanted).where(_verified(agency_id))


def _edges(now: dt.datetime, wanted: QueueFilter) -> tuple[list, list]:
    """Where the database alone can place an ended plan (its audit over on any calendar: it
    ended two days before now; its last day inside the range on any calendar: a local day
    lies within a day of the UTC one), and the bands of end times where the plan's own
    calendar must decide (a day or two wide each)."""
    moment = clock.as_utc(now)
    sure = [AuditPlan.end_utc < moment - dt.timedelta(days=2)]
    bands = [(moment - dt.timedelta(days=2), moment)]
    if wanted.ended_from:
        sure.append(AuditPlan.end_utc >= _midnight(wanted.ended_from, 1))
        bands.append((_midnight(wanted.ended_from, -1), _midnight(wanted.ended_from, 1)))
    if wanted.ended_to:
        sure.append(AuditPlan.end_utc < _midnight(wanted.ended_to))
        bands.append((_midnight(wanted.ended_to), _midnight(wanted.ended_to, 2)))
    return sure, [and_(AuditPlan.end_utc >= low, AuditPlan.end_utc < high) for low, high in bands]


def verified_count(agency_id: int, now: dt.datetime, wanted: QueueFilter = QueueFilter()) -> int:
    """How many plans verified_standings would list. The database counts those it can place
    alone, from the body's verifications' side (each plan looked up by its id, so the body's
    plans without a verification are never read); the few whose end lies in a band near now
    or the range's ends are placed on their own calendar."""
    sure, bands = _edges(now, wanted)
    plans = select(ExceptionVerification.plan_id).where(ExceptionVerification.agency_id == agency_id).distinct()
    plans = plans.subquery()
    counted = db.session.scalar(select(func.count()).select_from(plans).where(exists().where(
        AuditPlan.id == plans.c.plan_id, *_ended_terms(agency_id, now, wanted), *sure))) or 0
    near = {}
    for band in bands:
        for standing in _verified_standings(agency_id, now, wanted, band):
            near[standing.plan_id] = standing
    return counted + len(near)


def verified_standings(agency_id: int, now: dt.datetime, wanted: QueueFilter = QueueFilter()) -> list[Standing]:
    """The ended plans with a verification (已核实) within the range, from their times alone."""
    return _verified_standings(agency_id, now, wanted)


def _verified_standings(agency_id: int, now: dt.datetime, wanted: QueueFilter, *where) -> list[Standing]:
    query = _verified_rows(select(AuditPlan.id, AuditPlan.start_utc, AuditPlan.end_utc, AuditPlan.timezone,
                                  AuditPlan.status), agency_id, now, wanted).where(*where)
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
    counts = {state: 0 for state in rules10.VERIFICATION_STATES}
    for standing in open_ones:
        counts[standing.state] += 1
    if wanted.view in (rules10.VERIFIED, ALL):
        # The verified plans themselves are asked for: listed from their times.
        verified = verified_standings(agency_id, now, wanted)
        counts[rules10.VERIFIED] = len(verified)
        shown = open_ones + verified if wanted.view == ALL else verified
    else:
        counts[rules10.VERIFIED] = verified_count(agency_id, now, wanted)
        shown = open_ones if wanted.view == TODO else [s for s in open_ones if s.state == wanted.view]
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
    recorded_on = clock.local_date(now, plan.timezone)
    row = ExceptionVerification(
        agency_id=plan.agency_id, plan_id=plan.id, staff_id=staff.id, result=result, text=text.strip(),
        exceptions=[view.code for view in entry.exceptions], deadline=entry.standing.deadline.day,
        late=rules10.verified_late(entry.standing.deadline.day, recorded_on),
        created_at=clock.as_utc(now), form_token=form_token)
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
