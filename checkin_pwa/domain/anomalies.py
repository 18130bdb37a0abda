"""Cross-audit anomalies (R21): what one plan's record cannot show, found by setting one
auditor's or one body's records side by side.

Pure: plain dataclasses in, plain dataclasses out; no Flask, no database (the service
services.anomalies gathers the facts). Each kind has its threshold named here, with why
(docs/domain.md says it for the reviewer). Times are aware UTC, as rows come back (timestamps.UtcDateTime).

Kinds (codes; the web layer words them):
- overlap: one auditor on two plans whose periods overlap, at places too far apart to
  attend both;
- travel: "impossible travel" between one auditor's consecutive check events;
- photo_reuse: the same received photo bytes in plans of different enterprises;
- late_send: a check event "sent later" by a session the server saw online after the
  claimed action, well before the event arrived;
- exif_time: a meeting photo's EXIF time contradicting the claimed check-in or check-out.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import Iterable, Optional, Sequence

from .geo import Point, distance_m
from .photo_checks import TIME_TOLERANCE

KINDS = ("overlap", "travel", "photo_reuse", "late_send", "exif_time")

# --- thresholds ----------------------------------------------------------------------------
# overlap: plans are written to the half hour, and a morning plan "until 12:00" beside an
# afternoon one "from 11:30" is a schedule's rounding, not a claim to be in two places.
OVERLAP_MIN = dt.timedelta(minutes=30)
# overlap: within 50 km (an hour by road) a member may split a day between two sites; beyond
# it, being on both teams at the same hours is a claim to be in two places at once.
OVERLAP_FAR_KM = 50.0
# travel: faster than any door-to-door journey in China: high-speed rail runs at 350 km/h,
# and a domestic flight with the trips to and from airports averages well under 500 km/h.
TRAVEL_MAX_KMH = 500.0
# travel: two events closer than a minute are timed as a minute apart (the phones' clocks
# and the server's receipt are good to about that); no division by zero.
TRAVEL_MIN_INTERVAL = dt.timedelta(minutes=1)
# late_send: between the network coming back and the outbox sending, the page and the
# worker wait up to 5 minutes (the outbox's longest back-off) and "last seen" is written at
# most once a minute; 10 minutes leaves room for both.
LATE_SEND_GRACE = dt.timedelta(minutes=10)
# late_send: "last seen" is one row per stretch of requests less than this far apart
# (services.presence): inside a stretch the phone made a request at least this often.
SEEN_STRETCH_GAP = dt.timedelta(minutes=5)
# exif_time: the photo verdicts' own tolerance (domain.photo_checks.TIME_TOLERANCE, 2 h).
EXIF_TOLERANCE = TIME_TOLERANCE


@dataclass(frozen=True)
class Anomaly:
    """One finding: its kind, when (aware UTC: sorts and filters the list), the auditors and
    plans it concerns (first the one it is about), and its numbers for the reviewer."""

    kind: str
    at: dt.datetime
    auditor_ids: tuple[int, ...]
    plan_ids: tuple[int, ...]
    numbers: dict = field(default_factory=dict)
    # What `exact` needs to turn a distance measured on the sphere into the ellipsoid's:
    # (the two plans' sites) for an overlap, (the two positions) for a journey; () once exact.
    basis: tuple = field(default=(), compare=False, repr=False)

    def concerns_plan(self, plan_id: int) -> bool:
        return plan_id in self.plan_ids


# --- facts in ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Assignment:
    """An auditor on a plan's team (on-site plans only; the service leaves out remote ones)."""

    auditor_id: int
    plan_id: int
    start: dt.datetime
    end: dt.datetime
    sites: tuple[Optional[Point], ...]  # None: a site not located


@dataclass(frozen=True)
class Position:
    """Where one auditor's phone said it was at a check event, and when (the judged action
    time: the receipt, or the corrected device time of one sent later)."""

    event_id: int
    plan_id: int
    auditor_id: int
    at: dt.datetime
    point: Point
    accuracy_m: Optional[float]


@dataclass(frozen=True)
class PhotoBytes:
    photo_id: int
    plan_id: int
    enterprise_id: int
    sha256: str
    uploader_id: int
    uploaded_at: dt.datetime


@dataclass(frozen=True)
class QueuedSend:
    """A check event the phone sent later: the action it claims, when it arrived, and the
    login session it came with (None: made before sessions were remembered)."""

    event_id: int
    plan_id: int
    auditor_id: int
    session_ref: Optional[str]
    action_at: dt.datetime
    receipt_at: dt.datetime


@dataclass(frozen=True)
class SeenStretch:
    """A stretch of one session's own requests (not the outbox's, not the worker's), each
    less than SEEN_STRETCH_GAP after the one before: the phone was online then."""

    session_ref: str
    first_at: dt.datetime
    last_at: dt.datetime


@dataclass(frozen=True)
class MeetingPhoto:
    """A first- or last-meeting photo and the moment its EXIF says it was taken (UTC)."""

    photo_id: int
    plan_id: int
    uploader_id: int
    group: str  # first | last
    taken_at: Optional[dt.datetime]


@dataclass(frozen=True)
class ClaimedEvent:
    """The team's record of a plan's check-in (in) or check-out (out), at its judged time."""

    event_id: int
    plan_id: int
    kind: str  # in | out
    signer_id: int
    at: dt.datetime
    queued: bool


# --- the rules -----------------------------------------------------------------------------

def _km(metres: float) -> float:
    return metres / 1000.0


# A sphere's distance is within 0.6 % of the ellipsoid's (domain.geo.distance_m, about a
# hundred times slower): a pair whose spherical distance, 1 % longer, is still within a limit
# is within it, and the exact distance is computed only for the others.
_SPHERE_MARGIN = 1.01
_EARTH_KM = 6371.0088


def _sphere_km(a: Point, b: Point) -> float:
    lat1, lat2 = math.radians(a.lat), math.radians(b.lat)
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin(math.radians(b.lon - a.lon) / 2) ** 2)
    return 2 * _EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


def nearest_sites_km(a: Sequence[Optional[Point]], b: Sequence[Optional[Point]],
                     beyond_km: float = 0.0, *, exact: bool = True) -> Optional[float]:
    """The shortest distance between a located site of one plan and one of the other; None
    when either has no located site (nothing to judge). With `beyond_km`: a distance within
    it may come back as the spherical one (the caller only asks whether it is beyond); with
    `exact` False, so may one surely beyond it (the sphere's, 1 % shorter, still beyond)."""
    pairs = [(x, y) for x in a if x is not None for y in b if y is not None]
    if not pairs:
        return None
    rough = min(_sphere_km(x, y) for x, y in pairs)
    if rough * _SPHERE_MARGIN <= beyond_km or (not exact and rough / _SPHERE_MARGIN > beyond_km):
        return rough
    return _km(min(distance_m(x, y) for x, y in pairs))


def overlap_of(first: Assignment, second: Assignment, *, exact: bool = True) -> Optional[Anomaly]:
    """One auditor's two plans, `second` starting no earlier than `first`: an overlap when
    they overlap by more than OVERLAP_MIN and their nearest located sites are more than
    OVERLAP_FAR_KM apart. `exact` False: a distance surely beyond the limit is the sphere's
    (the finding says so in its basis; `exact` makes it the ellipsoid's)."""
    if second.plan_id == first.plan_id or first.auditor_id != second.auditor_id:
        return None
    overlap = min(first.end, second.end) - second.start
    if overlap <= OVERLAP_MIN:
        return None
    km = nearest_sites_km(first.sites, second.sites, OVERLAP_FAR_KM, exact=exact)
    if km is None or km <= OVERLAP_FAR_KM:
        return None
    return Anomaly("overlap", second.start, (first.auditor_id,), (first.plan_id, second.plan_id), {
        "distance_km": round(km, 1), "overlap_hours": round(overlap.total_seconds() / 3600, 1),
        "limit_km": OVERLAP_FAR_KM}, basis=() if exact else (first.sites, second.sites))


def _by_start(assignments: Iterable[Assignment]) -> list[Assignment]:
    return sorted(assignments, key=lambda a: (a.auditor_id, a.start, a.plan_id))


def overlapping_plans(assignments: Iterable[Assignment], *, exact: bool = True) -> list[Anomaly]:
    """Per auditor, each pair of plans overlapping by more than OVERLAP_MIN whose nearest
    located sites are more than OVERLAP_FAR_KM apart."""
    found = []
    for _auditor_id, rows in groupby(_by_start(assignments), key=lambda a: a.auditor_id):
        rows = list(rows)
        for i, first in enumerate(rows):
            for second in rows[i + 1:]:
                if second.start >= first.end:
                    break  # sorted by start: no later plan overlaps `first` either
                anomaly = overlap_of(first, second, exact=exact)
                if anomaly is not None:
                    found.append(anomaly)
    return found


def overlapping_pairs(pairs: Iterable[tuple[Assignment, Assignment]], *, exact: bool = True) -> list[Anomaly]:
    """The overlaps among candidate pairs of one auditor's plans (any order within a pair),
    as overlapping_plans finds them among all the plans: each pair is judged once, the
    later-starting plan second."""
    found, seen = [], set()
    for a, b in pairs:
        first, second = _by_start((a, b))
        key = (first.auditor_id, first.plan_id, second.plan_id)
        if key in seen:
            continue
        seen.add(key)
        anomaly = overlap_of(first, second, exact=exact)
        if anomaly is not None:
            found.append(anomaly)
    return found


def travel_speed_kmh(a: Position, b: Position, *, exact: bool = True,
                     lower: bool = False) -> tuple[float, float, float]:
    """(straight-line km, km beyond both positions' accuracy, km/h that takes) from a to b;
    `exact` False: on the sphere, 1 % longer (an upper bound, for a quick "surely possible"),
    or with `lower` 1 % shorter (a lower bound, for a quick "surely impossible")."""
    if exact:
        km = _km(distance_m(a.point, b.point))
    else:
        km = _sphere_km(a.point, b.point) * (1 / _SPHERE_MARGIN if lower else _SPHERE_MARGIN)
    slack = _km((a.accuracy_m or 0.0) + (b.accuracy_m or 0.0))
    beyond = max(0.0, km - slack)
    interval = max(abs(b.at - a.at), TRAVEL_MIN_INTERVAL)
    return km, beyond, beyond / (interval.total_seconds() / 3600)


def journey_of(before: Position, after: Position, *, exact: bool = True) -> Optional[Anomaly]:
    """One auditor's consecutive events: impossible when the distance, less both positions'
    accuracy, needs more than TRAVEL_MAX_KMH. `exact` False: a journey surely too fast on
    the sphere (1 % shorter) is measured there (`exact` makes it the ellipsoid's)."""
    if travel_speed_kmh(before, after, exact=False)[2] <= TRAVEL_MAX_KMH:
        return None
    if exact or travel_speed_kmh(before, after, exact=False, lower=True)[2] <= TRAVEL_MAX_KMH:
        measured, basis = travel_speed_kmh(before, after), ()
    else:
        measured, basis = travel_speed_kmh(before, after, exact=False, lower=True), (before, after)
    km, beyond, speed = measured
    if speed <= TRAVEL_MAX_KMH:
        return None
    return Anomaly("travel", after.at, (after.auditor_id,), (after.plan_id, before.plan_id), {
        "distance_km": round(km, 1), "beyond_accuracy_km": round(beyond, 1),
        "minutes": round((after.at - before.at).total_seconds() / 60, 1),
        "speed_kmh": round(speed), "limit_kmh": TRAVEL_MAX_KMH,
        "events": [before.event_id, after.event_id]}, basis=basis)


def travel_order(positions: Iterable[Position]) -> list[Position]:
    """Positions in the order the travel rule walks them: per auditor, by judged time."""
    return sorted(positions, key=lambda p: (p.auditor_id, p.at, p.event_id))


def impossible_travel(positions: Iterable[Position], *, exact: bool = True) -> list[Anomaly]:
    """Per auditor, consecutive events (by judged time) whose distance, less both positions'
    accuracy, needs more than TRAVEL_MAX_KMH."""
    found = []
    ordered = travel_order(positions)
    for before, after in zip(ordered, ordered[1:]):
        if before.auditor_id != after.auditor_id:
            continue
        anomaly = journey_of(before, after, exact=exact)
        if anomaly is not None:
            found.append(anomaly)
    return found


def exact(anomaly: Anomaly) -> Anomaly:
    """The finding with its distance on the ellipsoid (as the rules measure when `exact`)."""
    if not anomaly.basis:
        return anomaly
    if anomaly.kind == "overlap":
        sites_a, sites_b = anomaly.basis
        km = nearest_sites_km(sites_a, sites_b)
        return replace(anomaly, numbers={**anomaly.numbers, "distance_km": round(km, 1)}, basis=())
    before, after = anomaly.basis
    km, beyond, speed = travel_speed_kmh(before, after)
    return replace(anomaly, numbers={**anomaly.numbers, "distance_km": round(km, 1),
                                     "beyond_accuracy_km": round(beyond, 1), "speed_kmh": round(speed)}, basis=())


def reused_photos(photos: Iterable[PhotoBytes]) -> list[Anomaly]:
    """Each photo whose bytes an earlier photo of another enterprise's plan already had:
    one finding per later photo, against the first such one (n copies give n - 1)."""
    found = []
    ordered = sorted(photos, key=lambda p: (p.sha256, p.uploaded_at, p.photo_id))
    for _sha, rows in groupby(ordered, key=lambda p: p.sha256):
        rows = list(rows)
        for n, later in enumerate(rows):
            earlier = next((p for p in rows[:n] if p.enterprise_id != later.enterprise_id), None)
            if earlier is None:
                continue
            found.append(Anomaly("photo_reuse", later.uploaded_at, (later.uploader_id, earlier.uploader_id),
                                 (later.plan_id, earlier.plan_id),
                                 {"photos": [later.photo_id, earlier.photo_id], "sha256": later.sha256[:12]}))
    return found


def seen_online_after(send: QueuedSend, stretches: Iterable[SeenStretch]) -> Optional[dt.datetime]:
    """The earliest moment after the claimed action that the session is known to have been
    online before the event arrived: a stretch starting after the action, or (a stretch
    running through the action) the action plus at most SEEN_STRETCH_GAP."""
    moments = []
    for stretch in stretches:
        if stretch.session_ref != send.session_ref or stretch.last_at < send.action_at:
            continue
        if stretch.first_at > send.action_at:
            moment = stretch.first_at
        else:
            moment = min(stretch.last_at, send.action_at + SEEN_STRETCH_GAP)
        if moment < send.receipt_at:
            moments.append(moment)
    return min(moments, default=None)


def late_sends(sends: Iterable[QueuedSend], stretches: Sequence[SeenStretch]) -> list[Anomaly]:
    """Events sent later that arrived more than LATE_SEND_GRACE after their session was seen
    online after the claimed action."""
    found = []
    for send in sends:
        if not send.session_ref:
            continue
        seen = seen_online_after(send, stretches)
        if seen is None or send.receipt_at - seen <= LATE_SEND_GRACE:
            continue
        found.append(Anomaly("late_send", send.receipt_at, (send.auditor_id,), (send.plan_id,), {
            "action_at": send.action_at, "seen_at": seen, "receipt_at": send.receipt_at,
            "minutes_online_before": round((send.receipt_at - seen).total_seconds() / 60),
            "limit_minutes": LATE_SEND_GRACE.total_seconds() / 60, "event": send.event_id}))
    return found


def exif_contradictions(photos: Iterable[MeetingPhoto], events: Iterable[ClaimedEvent]) -> list[Anomaly]:
    """First-meeting photos taken more than EXIF_TOLERANCE from the claimed check-in, last-
    meeting ones from the claimed check-out. No EXIF time, or no event yet: nothing to say."""
    claimed = {(e.plan_id, e.kind): e for e in events}
    found = []
    for photo in photos:
        event = claimed.get((photo.plan_id, "in" if photo.group == "first" else "out"))
        if photo.group not in ("first", "last") or event is None or photo.taken_at is None:
            continue
        apart = abs(photo.taken_at - event.at)
        if apart <= EXIF_TOLERANCE:
            continue
        found.append(Anomaly("exif_time", event.at, (event.signer_id,), (photo.plan_id,), {
            "photo": photo.photo_id, "group": photo.group, "kind": event.kind, "taken_at": photo.taken_at,
            "claimed_at": event.at, "sent_later": event.queued,
            "hours_apart": round(apart.total_seconds() / 3600, 1),
            "limit_hours": EXIF_TOLERANCE.total_seconds() / 3600}))
    return found


@dataclass(frozen=True)
class Facts:
    assignments: Sequence[Assignment] = ()
    # Candidate pairs of one auditor's assignments (the service's narrowing): judged as
    # overlapping_plans would judge them among `assignments`.
    overlap_pairs: Sequence[tuple[Assignment, Assignment]] = ()
    positions: Sequence[Position] = ()
    photos: Sequence[PhotoBytes] = ()
    sends: Sequence[QueuedSend] = ()
    stretches: Sequence[SeenStretch] = ()
    meeting_photos: Sequence[MeetingPhoto] = ()
    events: Sequence[ClaimedEvent] = ()


def find_all(facts: Facts, *, exact: bool = True) -> list[Anomaly]:
    """Every kind, newest first. `exact` False: a distance surely beyond its limit may be the
    sphere's (exact() measures it on the ellipsoid for the findings shown)."""
    found = [*overlapping_plans(facts.assignments, exact=exact),
             *overlapping_pairs(facts.overlap_pairs, exact=exact), *impossible_travel(facts.positions, exact=exact),
             *reused_photos(facts.photos), *late_sends(facts.sends, facts.stretches),
             *exif_contradictions(facts.meeting_photos, facts.events)]
    return sorted(found, key=lambda a: (a.at, a.kind, a.plan_ids), reverse=True)


# --- the list's filters --------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    since: dt.date
    until: dt.date
    kind: Optional[str] = None

    def query_args(self) -> dict:
        args = {"since": self.since.isoformat(), "until": self.until.isoformat()}
        return {**args, "kind": self.kind} if self.kind else args


def _date(value: object) -> Optional[dt.date]:
    text = str(value or "").strip()
    if not text:
        return None
    if len(text) != 10 or not text.isascii():
        raise ValueError(text)
    return dt.date.fromisoformat(text)


def parse_filters(args, today: dt.date, *, default_days: int, max_days: int) -> tuple[Filters, list[tuple[str, str]]]:
    """The list's date range and kind from the URL, and what was wrong with them as
    (code, the value as typed, cut short): a bad date is left out (the default range
    applies), an unknown kind shows every kind, a range the wrong way round is turned
    round, one longer than `max_days` keeps its last `max_days` days."""
    problems: list[tuple[str, str]] = []
    dates: dict[str, Optional[dt.date]] = {}
    for name in ("since", "until"):
        try:
            dates[name] = _date(args.get(name))
        except ValueError:
            dates[name] = None
            problems.append(("bad_date", str(args.get(name))[:20]))
    until = dates["until"] or today
    since = dates["since"] or until - dt.timedelta(days=default_days - 1)
    if since > until:
        since, until = until, since
        problems.append(("reversed", ""))
    if (until - since).days + 1 > max_days:
        since = until - dt.timedelta(days=max_days - 1)
        problems.append(("too_long", str(max_days)))
    kind = args.get("kind") or None
    if kind is not None and kind not in KINDS:
        problems.append(("bad_kind", str(kind)[:20]))
        kind = None
    return Filters(since, until, kind), problems
