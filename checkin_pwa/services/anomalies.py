"""Cross-audit anomalies of a body (R21): the facts for domain.anomalies, gathered for a
date range with a fixed number of statements whatever the number of plans (one each for
the plans, their sites, their teams, the check events, the sessions' online stretches, the
reused photo bytes and the meeting photos; then the names of the page's rows only), and
another body's rows never read (R16)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import true
from sqlalchemy.orm import aliased

from ..domain import anomalies as rules
from ..domain.evidence import PhotoEvidence
from ..domain.filters import Page, page_of
from ..domain.geo import Point
from ..domain.offline import offline_action_time
from ..domain.photo_checks import taken_moment
from ..extensions import db
from ..models import AuditPlan, Auditor, CheckEvent, Enterprise, OnlineStretch, Photo, PlanSite, TeamMember
from .listing import CALENDAR_ZONE

PER_PAGE = 50
# The longest range one list reads (a quarter): the facts of a large body's 92 days fit in
# memory; a longer question is cut to it, and the page says so.
MAX_RANGE_DAYS = 92
DEFAULT_RANGE_DAYS = 30
# Facts read beyond the range's ends: the event before the first one of the range (travel),
# a plan overlapping the range's first day.
PAD = dt.timedelta(days=1)
# Reused bytes read at most this many photo pairs (each side of one).
MAX_REUSE_PAIRS = 5000


@dataclass(frozen=True)
class PlanLabel:
    id: int
    plan_no: str
    enterprise: str


@dataclass(frozen=True)
class Row:
    """One anomaly as the console shows it: the auditors' names and the plans' labels."""

    anomaly: rules.Anomaly
    auditors: list[tuple[int, str]]
    plans: list[PlanLabel]


@dataclass(frozen=True)
class AnomalyList:
    rows: list[Row]
    page: Page
    counts: dict  # kind -> number in the range (before the kind filter)


def _naive_utc(day: dt.date) -> dt.datetime:
    local = dt.datetime(day.year, day.month, day.day, tzinfo=CALENDAR_ZONE)
    return local.astimezone(dt.timezone.utc).replace(tzinfo=None)


def day_bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[the first day's start, the day after the last's start), naive UTC, in the body's zone."""
    return _naive_utc(since), _naive_utc(until + dt.timedelta(days=1))


def _aware_naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _of_body(agency_id: Optional[int]):
    """The clause keeping one body's plans; every body's for None (the regulator's view)."""
    return AuditPlan.agency_id == agency_id if agency_id is not None else true()


def gather(agency_id: Optional[int], start: dt.datetime, end: dt.datetime, plan_id: Optional[int] = None) -> rules.Facts:
    """The facts of the body's plans and events around [start, end) (naive UTC), every
    body's for None; with `plan_id`, the reused bytes of that plan's photos whenever they
    were uploaded."""
    lo, hi = start - PAD, end + PAD
    plans = (db.select(AuditPlan.id).where(
        _of_body(agency_id), AuditPlan.start_utc < hi, AuditPlan.end_utc > lo,
        AuditPlan.status != "cancelled", AuditPlan.mode != "remote"))
    plan_ids = plans.scalar_subquery()

    periods = {pid: (s, e) for pid, s, e in db.session.execute(db.select(
        AuditPlan.id, AuditPlan.start_utc, AuditPlan.end_utc).where(AuditPlan.id.in_(plan_ids)))}
    sites: dict[int, list[Optional[Point]]] = {}
    for pid, lat, lon in db.session.execute(db.select(PlanSite.plan_id, PlanSite.lat, PlanSite.lon)
                                            .where(PlanSite.plan_id.in_(plan_ids))):
        sites.setdefault(pid, []).append(Point(lat, lon) if lat is not None and lon is not None else None)
    assignments = [
        rules.Assignment(auditor_id, pid, *periods[pid], tuple(sites.get(pid, ())))
        for pid, auditor_id in db.session.execute(db.select(TeamMember.plan_id, TeamMember.auditor_id).where(
            TeamMember.plan_id.in_(plan_ids), TeamMember.role != "remote"))
        if pid in periods]

    events = db.session.execute(db.select(
        CheckEvent.id, CheckEvent.plan_id, CheckEvent.kind, CheckEvent.signer_id, CheckEvent.server_time,
        CheckEvent.queued_offline, CheckEvent.flags, CheckEvent.device_lat, CheckEvent.device_lon,
        CheckEvent.device_accuracy_m, CheckEvent.counts_for_team, CheckEvent.session_ref)
        .join(AuditPlan, AuditPlan.id == CheckEvent.plan_id)
        .where(_of_body(agency_id), CheckEvent.server_time >= lo, CheckEvent.server_time < hi)).all()
    positions, sends, claimed = [], [], []
    for row in events:
        acted = offline_action_time(row.flags) if row.queued_offline else None
        at = _aware_naive(acted) if acted else row.server_time
        positions.append(rules.Position(row.id, row.plan_id, row.signer_id, at, Point(row.device_lat, row.device_lon),
                                        row.device_accuracy_m))
        if row.queued_offline:
            sends.append(rules.QueuedSend(row.id, row.plan_id, row.signer_id, row.session_ref, at, row.server_time))
        if row.counts_for_team:
            claimed.append(rules.ClaimedEvent(row.id, row.plan_id, row.kind, row.signer_id, at, row.queued_offline))

    refs = {send.session_ref for send in sends if send.session_ref}
    stretches = []
    if refs:
        queued_refs = (db.select(CheckEvent.session_ref).join(AuditPlan, AuditPlan.id == CheckEvent.plan_id)
                       .where(_of_body(agency_id), CheckEvent.queued_offline.is_(True),
                              CheckEvent.server_time >= lo, CheckEvent.server_time < hi)
                       .scalar_subquery())
        stretches = [rules.SeenStretch(s.session_ref, s.first_at, s.last_at) for s in db.session.execute(
            db.select(OnlineStretch.session_ref, OnlineStretch.first_at, OnlineStretch.last_at).where(
                OnlineStretch.session_ref.in_(queued_refs), OnlineStretch.last_at >= lo - PAD,
                OnlineStretch.first_at < hi))]

    return rules.Facts(assignments=assignments, positions=positions, photos=_reused_bytes(agency_id, lo, hi, plan_id),
                       sends=sends, stretches=stretches, meeting_photos=_meeting_photos(plan_ids), events=claimed)


def _reused_bytes(agency_id: Optional[int], lo: dt.datetime, hi: dt.datetime, plan_id: Optional[int]) -> list[rules.PhotoBytes]:
    """Photos uploaded in the range (or of one plan) whose bytes a photo of another enterprise's plan of the
    same body has (at any time), with that photo (for None: of any body, the pair within one
    body). Deleted photos are left out: the team took them back."""
    mine, theirs = aliased(Photo), aliased(Photo)
    my_plan, their_plan = aliased(AuditPlan), aliased(AuditPlan)
    pairs = db.session.execute(
        db.select(mine.id, mine.plan_id, my_plan.enterprise_id, mine.sha256_received, mine.uploader_id,
                  mine.uploaded_at, theirs.id, theirs.plan_id, their_plan.enterprise_id, theirs.uploader_id,
                  theirs.uploaded_at)
        .join(my_plan, my_plan.id == mine.plan_id)
        .join(theirs, theirs.sha256_received == mine.sha256_received)
        .join(their_plan, their_plan.id == theirs.plan_id)
        .where(their_plan.agency_id == my_plan.agency_id,
               *((my_plan.agency_id == agency_id,) if agency_id is not None else ()),
               my_plan.enterprise_id != their_plan.enterprise_id,
               mine.deleted_at.is_(None), theirs.deleted_at.is_(None),
               *((mine.plan_id == plan_id,) if plan_id else (mine.uploaded_at >= lo, mine.uploaded_at < hi)))
        .limit(MAX_REUSE_PAIRS)).all()
    found = {}
    for row in pairs:
        sha = row[3]
        found[row[0]] = rules.PhotoBytes(row[0], row[1], row[2], sha, row[4], row[5])
        found[row[6]] = rules.PhotoBytes(row[6], row[7], row[8], sha, row[9], row[10])
    return list(found.values())


# The EXIF fields a photo's moment is read from: only these leave the database, not the raw
# tags kept beside them (up to 200 a photo).
_TIME_FIELDS = ("taken_at", "offset", "gps_time")


def _meeting_photos(plan_ids) -> list[rules.MeetingPhoto]:
    rows = db.session.execute(db.select(Photo.id, Photo.plan_id, Photo.uploader_id, Photo.group, AuditPlan.timezone,
                                        *(Photo.exif[name] for name in _TIME_FIELDS))
                              .join(AuditPlan, AuditPlan.id == Photo.plan_id)
                              .where(Photo.plan_id.in_(plan_ids), Photo.group.in_(("first", "last")),
                                     Photo.deleted_at.is_(None)))
    found = []
    for photo_id, plan_id, uploader_id, group, zone, *fields in rows:
        exif = {name: value for name, value in zip(_TIME_FIELDS, fields) if value is not None}
        moment = taken_moment(PhotoEvidence.from_json(exif), zone)
        found.append(rules.MeetingPhoto(photo_id, plan_id, uploader_id, group,
                                        moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment else None))
    return found


def _in_range(found: list[rules.Anomaly], start: dt.datetime, end: dt.datetime) -> list[rules.Anomaly]:
    return [anomaly for anomaly in found if start <= anomaly.at < end]


def _rows(found: list[rules.Anomaly], agency_id: int) -> list[Row]:
    """Names and labels for these anomalies only (two statements), of the body's own rows."""
    auditor_ids = {a for anomaly in found for a in anomaly.auditor_ids}
    plan_ids = {p for anomaly in found for p in anomaly.plan_ids}
    names = dict(db.session.execute(db.select(Auditor.id, Auditor.name).where(Auditor.id.in_(auditor_ids))).all()) \
        if auditor_ids else {}
    labels = {pid: PlanLabel(pid, no, name) for pid, no, name in db.session.execute(
        db.select(AuditPlan.id, AuditPlan.plan_no, Enterprise.name).join(Enterprise, Enterprise.id == AuditPlan.enterprise_id)
        .where(AuditPlan.id.in_(plan_ids), AuditPlan.agency_id == agency_id))} if plan_ids else {}
    rows = []
    for anomaly in found:
        people = list(dict.fromkeys((a, names.get(a, "")) for a in anomaly.auditor_ids))
        rows.append(Row(anomaly, people, [labels[p] for p in dict.fromkeys(anomaly.plan_ids) if p in labels]))
    return rows


def found_between(agency_id: int, since: dt.date, until: dt.date) -> list[rules.Anomaly]:
    """Every anomaly of the body dated from `since` to `until` (the body's days), newest
    first: the facts of those days (a fixed number of statements) judged in memory."""
    start, end = day_bounds(since, until)
    return _in_range(rules.find_all(gather(agency_id, start, end)), start, end)


def body_anomalies(agency_id: int, since: dt.date, until: dt.date, kind: Optional[str],
                   asked_page: object, per_page: Optional[int] = None) -> AnomalyList:
    """One page of the body's anomalies dated from `since` to `until` (the body's days),
    newest first; `kind` None: every kind."""
    found = found_between(agency_id, since, until)
    counts = {k: 0 for k in rules.KINDS}
    for anomaly in found:
        counts[anomaly.kind] += 1
    if kind in rules.KINDS:
        found = [anomaly for anomaly in found if anomaly.kind == kind]
    per_page = per_page or PER_PAGE
    page = page_of(asked_page, len(found), per_page)
    return AnomalyList(_rows(found[page.offset:page.offset + per_page], agency_id), page, counts)


def anomalies_for_plan(plan_id: int) -> list[Row]:
    """Every anomaly that concerns one plan, newest first: the facts of its body around the
    plan's own days. The caller has checked that the plan is the staff member's body's."""
    plan = db.session.get(AuditPlan, plan_id)
    if plan is None:
        return []
    start, end = plan.start_utc - PAD, plan.end_utc + PAD
    found = [anomaly for anomaly in rules.find_all(gather(plan.agency_id, start, end, plan_id))
             if anomaly.concerns_plan(plan_id)]
    return _rows(found, plan.agency_id)
