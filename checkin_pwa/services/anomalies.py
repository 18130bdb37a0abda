"""Cross-audit anomalies of a body (R21): the facts for domain.anomalies, gathered for a
date range with a fixed number of statements whatever the number of plans (one each for
the plans, their sites, their teams, the check events, the sessions' online stretches, the
reused photo bytes and the meeting photos; then the names of the page's rows only), and
another body's rows never read (R16)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import and_, case, distinct, exists, func, null, select, true, tuple_, type_coerce

from ..domain import anomalies as rules, clock
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


def _day_start_utc(day: dt.date) -> dt.datetime:
    return clock.at_local(dt.datetime(day.year, day.month, day.day), CALENDAR_ZONE)


def day_bounds(since: dt.date, until: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[the first day's start, the day after the last's start), UTC, in the body's zone."""
    return _day_start_utc(since), _day_start_utc(until + dt.timedelta(days=1))


_PLAN, _SITE, _TEAM, _EVENT, _PHOTO = (model.__table__ for model in (AuditPlan, PlanSite, TeamMember, CheckEvent, Photo))


def _of_body(agency_id: Optional[int], plan=_PLAN):
    """The clause keeping one body's plans; every body's for None (the regulator's view)."""
    return plan.c.agency_id == agency_id if agency_id is not None else true()


def _judged_plans(plan, agency_id: Optional[int], lo: dt.datetime, hi: dt.datetime) -> tuple:
    """The body's on-site plans that are not cancelled, running at some time in [lo, hi)."""
    return (_of_body(agency_id, plan), plan.c.start_utc < hi, plan.c.end_utc > lo,
            plan.c.status != "cancelled", plan.c.mode != "remote")


def gather(agency_id: Optional[int], start: dt.datetime, end: dt.datetime, plan_id: Optional[int] = None) -> rules.Facts:
    """The facts of the body's plans and events around [start, end) (UTC), every
    body's for None; with `plan_id`, the reused bytes of that plan's photos whenever they were uploaded. Light rows
    (Core, only the columns a rule reads); SQL narrows each kind to its candidates and the
    rules in domain.anomalies decide."""
    lo, hi = start - PAD, end + PAD
    conn = db.session.connection()
    plan_ids = select(_PLAN.c.id).where(*_judged_plans(_PLAN, agency_id, lo, hi)).scalar_subquery()
    events = _events(conn, agency_id, lo, hi)
    positions, sends, claimed = [], [], []
    for row in events:
        acted = offline_action_time(row.flags) if row.queued_offline else None
        at = clock.as_utc(acted) if acted else row.server_time
        positions.append(rules.Position(row.id, row.plan_id, row.signer_id, at, Point(row.device_lat, row.device_lon),
                                        row.device_accuracy_m))
        if row.queued_offline:
            sends.append(rules.QueuedSend(row.id, row.plan_id, row.signer_id, row.session_ref, at, row.server_time))
        if row.counts_for_team:
            claimed.append(rules.ClaimedEvent(row.id, row.plan_id, row.kind, row.signer_id, at, row.queued_offline))

    refs = {send.session_ref for send in sends if send.session_ref}
    stretches = []
    if refs:
        queued_refs = (select(_EVENT.c.session_ref).join(_PLAN, _PLAN.c.id == _EVENT.c.plan_id)
                       .where(_of_body(agency_id), _EVENT.c.queued_offline.is_(True),
                              _EVENT.c.server_time >= lo, _EVENT.c.server_time < hi)
                       .scalar_subquery())
        stretches = [rules.SeenStretch(s.session_ref, s.first_at, s.last_at) for s in db.session.execute(
            db.select(OnlineStretch.session_ref, OnlineStretch.first_at, OnlineStretch.last_at).where(
                OnlineStretch.session_ref.in_(queued_refs), OnlineStretch.last_at >= lo - PAD,
                OnlineStretch.first_at < hi))]

    return rules.Facts(overlap_pairs=overlap_candidates(conn, agency_id, lo, hi), positions=positions,
                       photos=_reused_bytes(conn, agency_id, lo, hi, plan_id), sends=sends, stretches=stretches,
                       meeting_photos=_meeting_photos(conn, plan_ids), events=claimed)


def overlap_candidates(conn, agency_id: Optional[int], lo: dt.datetime, hi: dt.datetime
                       ) -> list[tuple[rules.Assignment, rules.Assignment]]:
    """Pairs of one auditor's team rows on two of the body's plans whose periods overlap at
    all (a self-join: only these reach Python), with the plans' sites; rules.overlap_of
    decides (more than half an hour, sites far apart)."""
    team = (select(_TEAM.c.auditor_id, _PLAN.c.agency_id, _PLAN.c.id.label("plan_id"), _PLAN.c.start_utc,
                   _PLAN.c.end_utc)
            .select_from(_TEAM.join(_PLAN, _PLAN.c.id == _TEAM.c.plan_id))
            .where(*_judged_plans(_PLAN, agency_id, lo, hi), _TEAM.c.role != "remote")
            .cte("team").prefix_with("MATERIALIZED"))
    mine, theirs = team.alias("mine"), team.alias("theirs")
    pairs = (select(mine.c.auditor_id, mine.c.plan_id.label("first_id"), mine.c.start_utc.label("first_start"),
                    mine.c.end_utc.label("first_end"), theirs.c.plan_id.label("second_id"),
                    theirs.c.start_utc.label("second_start"), theirs.c.end_utc.label("second_end"))
             .select_from(mine.join(theirs, and_(theirs.c.auditor_id == mine.c.auditor_id,
                                                 theirs.c.agency_id == mine.c.agency_id,  # each body's own
                                                 theirs.c.plan_id > mine.c.plan_id)))
             .where(theirs.c.start_utc < mine.c.end_utc, mine.c.start_utc < theirs.c.end_utc)
             .cte("overlap_pairs").prefix_with("MATERIALIZED"))
    near, far = _SITE.alias("first_site"), _SITE.alias("second_site")
    rows = conn.execute(
        select(pairs, near.c.lat, near.c.lon, far.c.lat.label("lat_2"), far.c.lon.label("lon_2"))
        .join(near, near.c.plan_id == pairs.c.first_id).join(far, far.c.plan_id == pairs.c.second_id)
        .where(near.c.lat.is_not(None), near.c.lon.is_not(None), far.c.lat.is_not(None), far.c.lon.is_not(None)))
    # A plan without a located site has no overlap to judge: only located sites are joined,
    # one row per pair of them.
    found: dict[tuple, tuple[rules.Assignment, rules.Assignment, set, set]] = {}
    for row in rows:
        key = (row.auditor_id, row.first_id, row.second_id)
        if key not in found:
            found[key] = (row, set(), set())
        found[key][1].add(Point(row.lat, row.lon))
        found[key][2].add(Point(row.lat_2, row.lon_2))
    return [(rules.Assignment(row.auditor_id, row.first_id, row.first_start, row.first_end, tuple(near_sites)),
             rules.Assignment(row.auditor_id, row.second_id, row.second_start, row.second_end, tuple(far_sites)))
            for row, near_sites, far_sites in found.values()]


def _events(conn, agency_id: Optional[int], lo: dt.datetime, hi: dt.datetime):
    """The body's check events received in [lo, hi), by signer and receipt (the travel rule's
    walk, up to the corrected times of events sent later); flags (JSON) read only for those."""
    flags = type_coerce(case((_EVENT.c.queued_offline.is_(True), _EVENT.c.flags), else_=null()), _EVENT.c.flags.type)
    return conn.execute(select(
        _EVENT.c.id, _EVENT.c.plan_id, _EVENT.c.kind, _EVENT.c.signer_id, _EVENT.c.server_time,
        _EVENT.c.queued_offline, flags.label("flags"), _EVENT.c.device_lat, _EVENT.c.device_lon,
        _EVENT.c.device_accuracy_m, _EVENT.c.counts_for_team, _EVENT.c.session_ref)
        .join(_PLAN, _PLAN.c.id == _EVENT.c.plan_id)
        .where(_of_body(agency_id), _EVENT.c.server_time >= lo, _EVENT.c.server_time < hi)
        .order_by(_EVENT.c.signer_id, _EVENT.c.server_time, _EVENT.c.id)).all()


# Reused bytes read at most this many groups of photos with the same bytes.
MAX_REUSE_GROUPS = 2500


def _reused_bytes(conn, agency_id: Optional[int], lo: dt.datetime, hi: dt.datetime,
                  plan_id: Optional[int]) -> list[rules.PhotoBytes]:
    """Every photo of the body whose bytes photos of more than one enterprise's plans have
    (GROUP BY the bytes' hash), for the hashes of the photos uploaded in the range (or of one
    plan). Deleted photos are left out: the team took them back."""
    def body_photos(*columns):
        return (select(*columns).select_from(_PHOTO.join(_PLAN, _PLAN.c.id == _PHOTO.c.plan_id))
                .where(_of_body(agency_id), _PHOTO.c.deleted_at.is_(None)))

    other = _PHOTO.alias("other")
    # Only hashes another photo has at all (an index probe each) reach the GROUP BY.
    asked = body_photos(_PHOTO.c.sha256_received).where(
        *((_PHOTO.c.plan_id == plan_id,) if plan_id else (_PHOTO.c.uploaded_at >= lo, _PHOTO.c.uploaded_at < hi)),
        exists().where(other.c.sha256_received == _PHOTO.c.sha256_received, other.c.id != _PHOTO.c.id))
    # Per body and hash (every body's at once for None: a pair is always within one body).
    shared = (body_photos(_PLAN.c.agency_id, _PHOTO.c.sha256_received).where(_PHOTO.c.sha256_received.in_(asked))
              .group_by(_PLAN.c.agency_id, _PHOTO.c.sha256_received)
              .having(func.count(distinct(_PLAN.c.enterprise_id)) > 1)
              .limit(MAX_REUSE_GROUPS))
    return [rules.PhotoBytes(*row) for row in conn.execute(body_photos(
        _PHOTO.c.id, _PHOTO.c.plan_id, _PLAN.c.enterprise_id, _PHOTO.c.sha256_received, _PHOTO.c.uploader_id,
        _PHOTO.c.uploaded_at).where(tuple_(_PLAN.c.agency_id, _PHOTO.c.sha256_received).in_(shared)))]


# The EXIF fields a photo's moment is read from: only these leave the database, not the raw
# tags kept beside them (up to 200 a photo).
_TIME_FIELDS = ("taken_at", "offset", "gps_time")


def _meeting_photos(conn, plan_ids) -> list[rules.MeetingPhoto]:
    rows = conn.execute(select(_PHOTO.c.id, _PHOTO.c.plan_id, _PHOTO.c.uploader_id, _PHOTO.c.group, _PLAN.c.timezone,
                               *(_PHOTO.c.exif[name] for name in _TIME_FIELDS))
                        .join(_PLAN, _PLAN.c.id == _PHOTO.c.plan_id)
                        .where(_PHOTO.c.plan_id.in_(plan_ids), _PHOTO.c.group.in_(("first", "last")),
                               _PHOTO.c.deleted_at.is_(None)))
    found = []
    for photo_id, plan_id, uploader_id, group, zone, *fields in rows:
        exif = {name: value for name, value in zip(_TIME_FIELDS, fields) if value is not None}
        moment = taken_moment(PhotoEvidence.from_json(exif), zone)
        found.append(rules.MeetingPhoto(photo_id, plan_id, uploader_id, group,
                                        clock.as_utc(moment)))
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


def found_between(agency_id: int, since: dt.date, until: dt.date, *, exact: bool = True) -> list[rules.Anomaly]:
    """Every anomaly of the body dated from `since` to `until` (the body's days), newest
    first: the facts of those days (a fixed number of statements) judged in memory; `exact`
    False: distances surely beyond their limits may be the sphere's (rules.exact)."""
    start, end = day_bounds(since, until)
    return _in_range(rules.find_all(gather(agency_id, start, end), exact=exact), start, end)


def body_anomalies(agency_id: int, since: dt.date, until: dt.date, kind: Optional[str],
                   asked_page: object, per_page: Optional[int] = None) -> AnomalyList:
    """One page of the body's anomalies dated from `since` to `until` (the body's days),
    newest first; `kind` None: every kind."""
    found = found_between(agency_id, since, until, exact=False)
    counts = {k: 0 for k in rules.KINDS}
    for anomaly in found:
        counts[anomaly.kind] += 1
    if kind in rules.KINDS:
        found = [anomaly for anomaly in found if anomaly.kind == kind]
    per_page = per_page or PER_PAGE
    page = page_of(asked_page, len(found), per_page)
    return AnomalyList(_rows([rules.exact(a) for a in found[page.offset:page.offset + per_page]], agency_id),
                       page, counts)


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
