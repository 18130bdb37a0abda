"""The evidence review of one plan for the body's staff (R21): the facts of the record
gathered once, judged by domain.assessment (the summary) and domain.photo_checks (each
photo's verdicts, judged again against the record as it stands), for the page to show.

A fixed number of SQL statements whatever the number of events, photos and explanations:
the plan with its team, events and sites; its photos with their uploaders; the other plans
holding the same photo bytes (services.photos.same_photo_plans); the explanations; the
cross-audit anomalies (services.anomalies, its own fixed number). Nothing is written: a read by staff changes no stored verdict.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..domain import assessment, clock
from ..domain import evidence as exif_evidence
from ..domain import geo
from ..domain import audit_exceptions as rules10
from ..domain import rules
from ..domain.offline import skew_over_limit
from ..extensions import db
from ..models import AuditPlan, CheckEvent, Explanation, Photo
from . import anomalies as anomaly_service
from . import explanations as explanation_service
from . import photos as photo_service
from .checkin import plan_facts
from .plan_access import PLAN_LOADING
from .plans import EventRow, _event_row


@dataclass(frozen=True)
class EventLine:
    """One check event on the timeline: the record's row and the phone's own clocks."""

    event: CheckEvent
    row: EventRow
    device_time: Optional[dt.datetime]  # the phone's clock at the action, on the plan's clock
    device_time_sent: Optional[dt.datetime]  # the phone's clock at sending
    skew_s: Optional[float]  # the phone's clock minus the server's

    @property
    def skew_flagged(self) -> bool:
        return skew_over_limit(self.skew_s)


@dataclass(frozen=True)
class TimelineEntry:
    at: dt.datetime  # the server's time, on the plan's clock
    what: str  # event | photo | explanation
    item: object  # EventLine | PhotoItem | Explanation


@dataclass(frozen=True)
class Duplicate:
    plan_id: Optional[int]  # None: another body's plan (R16: only counted)
    plan_no: Optional[str]


@dataclass(frozen=True)
class PhotoItem:
    view: photo_service.PhotoView  # the badges and the evidence rows the team sees too
    duplicates: tuple[Duplicate, ...]

    @property
    def photo(self) -> Photo:
        return self.view.photo

    @property
    def own_duplicates(self) -> list[Duplicate]:
        return [d for d in self.duplicates if d.plan_id is not None]

    @property
    def other_bodies(self) -> int:
        return sum(1 for d in self.duplicates if d.plan_id is None)


@dataclass(frozen=True)
class Review:
    plan: AuditPlan
    assessment: assessment.Assessment
    phase: str
    events: list[EventLine]
    photos: list[tuple[str, list[PhotoItem]]]  # by group, every group
    explanations: list[Explanation]
    timeline: list[TimelineEntry]
    thresholds: dict
    anomalies: list[anomaly_service.Row]  # cross-audit anomalies concerning the plan

    @property
    def map_sites(self) -> list[dict]:
        return geo.map_sites(self.plan.sites)

    @property
    def map_points(self) -> list[dict]:
        return [{"kind": e.row.kind, "lat": e.row.lat, "lon": e.row.lon, "team": e.row.counts_for_team}
                for e in self.events]


def _load(plan: AuditPlan) -> AuditPlan:
    """The plan (already the body's own) with its team, events (and their nearest sites),
    sites and enterprise."""
    return db.session.scalars(
        select(AuditPlan).where(AuditPlan.id == plan.id)
        .options(*PLAN_LOADING, selectinload(AuditPlan.events).selectinload(CheckEvent.nearest_site))
        .execution_options(populate_existing=True)
    ).one()


def _photos(plan_id: int) -> list[Photo]:
    return list(db.session.scalars(
        select(Photo).where(Photo.plan_id == plan_id, Photo.deleted_at.is_(None))
        .options(selectinload(Photo.uploader)).order_by(Photo.uploaded_at, Photo.id)
    ))


def _local(plan: AuditPlan, moment: Optional[dt.datetime]) -> Optional[dt.datetime]:
    return clock.local(moment, plan.timezone) if moment is not None else None


def _event_line(plan: AuditPlan, event: CheckEvent) -> EventLine:
    return EventLine(event, _event_row(plan, event), _local(plan, event.device_time),
                     _local(plan, event.device_time_sent), event.clock_skew_s)


def _event_facts(line: EventLine) -> assessment.EventFacts:
    event, row = line.event, line.row
    flags = tuple(f.get("code") for f in event.flags or () if isinstance(f, dict))
    window = next((f.get("minutes") for f in event.flags or ()
                   if isinstance(f, dict) and f.get("code") in ("late_check_in", "early_check_out", "late_check_out")),
                  None)
    delay = (row.received_at - row.acted_at).total_seconds() if row.acted_at is not None else None
    return assessment.EventFacts(
        kind=event.kind, counts_for_team=event.counts_for_team, distance_m=event.nearest_site_distance_m,
        accuracy_m=event.device_accuracy_m, skew_s=event.clock_skew_s, sent_later=row.sent_later, delay_s=delay,
        pin_offset_m=event.pin_offset_m or 0.0, flags=flags, window_minutes=window)


def _photo_facts(item: PhotoItem) -> assessment.PhotoFacts:
    time, place = item.view.verdict("time"), item.view.verdict("place")
    no_exif = time.get("why") in ("no_exif", "exif_unreadable") or place.get("why") in ("no_exif", "exif_unreadable")
    return assessment.PhotoFacts(
        group=item.photo.group, time=time.get("outcome", "cannot_check"), time_hours=_number(time.get("hours_apart")),
        place=place.get("outcome", "cannot_check"), place_km=_number(place.get("km")),
        duplicates=len(item.duplicates), no_exif=no_exif)


def _number(value) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _photo_items(plan: AuditPlan, facts: rules.PlanFacts) -> list[PhotoItem]:
    """Each photo judged against the record as it stands now; the same bytes in another plan
    of the same combined audit (R7) are the same meeting's photo, not a duplicate."""
    found = _photos(plan.id)
    elsewhere = photo_service.same_photo_plans(
        plan, [(photo.sha256_received, photo.sha256_original, photo.uploader_id) for photo in found])
    items = []
    for photo, others in zip(found, elsewhere):
        others = [other for other in others if not rules.same_audit(facts, plan_facts(other))]
        verdicts = photo_service.judge_photo(plan, photo.group, exif_evidence.PhotoEvidence.from_json(photo.exif),
                                             [other.plan_no for other in others])
        duplicates = tuple(Duplicate(other.id, other.plan_no) if other.agency_id == plan.agency_id
                           else Duplicate(None, None) for other in others)
        items.append(PhotoItem(photo_service.PhotoView(photo, verdicts, photo.exif or {}), duplicates))
    return items


def review(plan: AuditPlan, now: dt.datetime) -> Review:
    """Everything the evidence review shows of a plan already checked to be the body's (R16)."""
    plan = _load(plan)
    facts = plan_facts(plan)
    events = [_event_line(plan, event) for event in plan.events]
    items = _photo_items(plan, facts)
    explanations = explanation_service.for_plan(plan.id)
    anomalies = anomaly_service.anomalies_for_plan(plan.id)
    summary = assessment.assess(assessment.EvidenceFacts(
        needs_check_in=facts.needs_check_in,
        ended=rules10.audit_over(facts, now),
        events=tuple(_event_facts(line) for line in events),
        photos=tuple(_photo_facts(item) for item in items),
        explanations=len(explanations),
        anomalies=tuple(row.anomaly.kind for row in anomalies),
    ))
    timeline = sorted(
        [TimelineEntry(line.row.received_at, "event", line) for line in events]
        + [TimelineEntry(item.view.uploaded_local, "photo", item) for item in items]
        + [TimelineEntry(clock.local(note.created_at, plan.timezone), "explanation", note) for note in explanations],
        key=lambda entry: entry.at)
    return Review(
        plan=plan,
        assessment=summary,
        phase=rules10.phase(facts, now),
        events=events,
        photos=[(group, [item for item in items if item.photo.group == group]) for group in photo_service.GROUPS],
        explanations=explanations,
        timeline=timeline,
        thresholds=dict(assessment.THRESHOLDS),
        anomalies=anomalies,
    )
