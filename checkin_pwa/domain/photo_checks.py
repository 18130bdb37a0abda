"""The cross-check of a photo's EXIF with the team's record (R8, corroborating R4/R17).

Pure: no Flask, no database. Each photo gets three verdicts, each ok / mismatch (with the
numbers) / cannot_check (with why). Missing EXIF is common for honest reasons (phones strip
GPS for privacy, messaging apps strip everything), so it is "cannot_check", never a
mismatch. Reason codes, not sentences: the web layer words them.

judge() is cheap and depends only on stored facts, so the service can run it again from
Photo.exif (PhotoEvidence.from_json) when the team's record changes, e.g. a last-meeting
photo uploaded before the check-out.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence
from zoneinfo import ZoneInfo

import checkin_pwa.domain.clock as clock
from checkin_pwa.domain.evidence import READ, UNREADABLE, PhotoEvidence
from checkin_pwa.domain.geo import Point, distance_m, nearest_site

# --- The tolerances: defaults of the body, in one place, shown to the reviewer with each
# verdict (TOLERANCES and the *_limit numbers in every verdict). -------------------------
# A meeting photo is taken during the meeting, which the check-in opens and the check-out
# closes; two hours covers a long first meeting and a photo taken at its end.
TIME_TOLERANCE = dt.timedelta(hours=2)
# Phone GPS outdoors is good to tens of metres, indoors (a factory meeting room) often to
# several hundred: 1 km of the point the team checked in at.
PLACE_CHECKIN_M = 1000.0
# Or within the 地点偏差 limit of R5 from the nearest planned site (a big plant, or the
# photo uploaded before anyone checked in).
PLACE_SITE_M = 5000.0

TOLERANCES = {
    "time_hours": TIME_TOLERANCE.total_seconds() / 3600,
    "checkin_km": PLACE_CHECKIN_M / 1000,
    "site_km": PLACE_SITE_M / 1000,
}

OK = "ok"
MISMATCH = "mismatch"
CANNOT_CHECK = "cannot_check"
OUTCOMES = (OK, MISMATCH, CANNOT_CHECK)
CHECKS = ("time", "place", "duplicate")
GROUP_EVENT = {"first": "checkin", "last": "checkout", "other": "audit_days"}


@dataclass(frozen=True)
class Verdict:
    """One check of one photo. numbers carries what a reviewer needs to judge the judge:
    the hours or kilometres apart, the tolerance applied, the zone assumed."""

    check: str  # time | place | duplicate
    outcome: str  # ok | mismatch | cannot_check
    why: Optional[str] = None  # a code, for cannot_check (and for a few mismatches)
    numbers: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        out = {"outcome": self.outcome, **self.numbers}
        if self.why:
            out["why"] = self.why
        return out

    @classmethod
    def from_json(cls, check: str, data: Any) -> "Verdict":
        if not isinstance(data, dict) or data.get("outcome") not in OUTCOMES:
            return cls(check, CANNOT_CHECK, "not_judged")
        numbers = {k: v for k, v in data.items() if k not in ("outcome", "why")}
        why = data.get("why") if isinstance(data.get("why"), str) else None
        return cls(check, data["outcome"], why, numbers)


@dataclass(frozen=True)
class Verdicts:
    time: Verdict
    place: Verdict
    duplicate: Verdict

    def __iter__(self):
        return iter((self.time, self.place, self.duplicate))

    def to_json(self) -> dict:
        """For Photo.verdicts: {"time": {...}, "place": {...}, "duplicate": {...}}."""
        return {verdict.check: verdict.to_json() for verdict in self}

    @classmethod
    def from_json(cls, data: Any) -> "Verdicts":
        data = data if isinstance(data, dict) else {}
        return cls(*(Verdict.from_json(check, data.get(check)) for check in CHECKS))


# --- judging ---------------------------------------------------------------------------------


def judge(
    evidence: PhotoEvidence,
    *,
    group: str,
    plan_start: dt.datetime,
    plan_end: dt.datetime,
    plan_zone: str,
    checkin_time: Optional[dt.datetime],
    checkout_time: Optional[dt.datetime],
    checkin_point: Optional[Point],
    sites: Sequence[Optional[Point]],
    duplicate_plan_nos: Iterable[str] = (),
    checkin_device_time: Optional[dt.datetime] = None,
    checkout_device_time: Optional[dt.datetime] = None,
) -> Verdicts:
    """The time, place and duplicate verdicts of one photo.

    Datetimes may be aware, or naive meaning UTC (as the database keeps them).
    group: first (compared with the check-in) | last (check-out) | other (the audit days).
    checkin_time / checkout_time: the team's record (server receipt time), None if none yet.
    checkin_device_time / checkout_device_time: only for an event queued offline (R17): the
    device time of the action; the photo is then compared with the action, when the
    meeting happened, and the gap to the server's receipt is reported beside it.
    sites: the plan's sites, None for one that could not be located.
    duplicate_plan_nos: plan numbers of other plans holding a photo with the same SHA-256.
    """
    zone_name, zone = _zone(plan_zone)
    return Verdicts(
        time=_judge_time(
            evidence, group, clock.as_utc(plan_start), clock.as_utc(plan_end), zone_name, zone,
            clock.as_utc(checkin_time), clock.as_utc(checkout_time),
            clock.as_utc(checkin_device_time), clock.as_utc(checkout_device_time),
        ),
        place=_judge_place(evidence, _point(checkin_point), [_point(s) for s in sites or ()]),
        duplicate=_judge_duplicate(duplicate_plan_nos),
    )


def _judge_time(
    evidence: PhotoEvidence,
    group: str,
    plan_start: dt.datetime,
    plan_end: dt.datetime,
    zone_name: str,
    zone: ZoneInfo,
    checkin_time: Optional[dt.datetime],
    checkout_time: Optional[dt.datetime],
    checkin_device_time: Optional[dt.datetime],
    checkout_device_time: Optional[dt.datetime],
) -> Verdict:
    event = GROUP_EVENT.get(group)
    numbers: dict = {"event": event, "tolerance_hours": TOLERANCES["time_hours"]}
    if event is None:
        return Verdict("time", CANNOT_CHECK, "unknown_group", numbers)
    if group == "other":
        numbers.pop("tolerance_hours")

    moment, basis, cannot = _photo_moment(evidence, zone)
    if moment is None:
        return Verdict("time", CANNOT_CHECK, cannot, numbers)
    numbers["basis"] = basis  # exif_offset | assumed_zone | gps_time
    if basis == "assumed_zone":
        numbers["assumed_zone"] = zone_name
    if evidence.taken_at.read and evidence.taken_at.source != "DateTimeOriginal":
        numbers["source"] = evidence.taken_at.source

    if group == "other":
        window = _audit_days(plan_start, plan_end, zone)
        numbers["audit_days"] = [window[0].date().isoformat(), (window[1] - dt.timedelta(days=1)).date().isoformat()]
        reference: Optional[tuple[dt.datetime, dt.datetime]] = window
    else:
        receipt = checkin_time if group == "first" else checkout_time
        action = checkin_device_time if group == "first" else checkout_device_time
        if receipt is None:
            return Verdict("time", CANNOT_CHECK, "no_checkin_yet" if group == "first" else "no_checkout_yet", numbers)
        at = receipt
        if action is not None:
            # R17: an event sent later happened at its device time; the receipt is reported.
            at = action
            numbers["event_sent_later"] = True
            numbers["receipt_hours_apart"] = _hours(abs(moment - receipt))
        numbers["minutes_apart"] = round((moment - at).total_seconds() / 60)
        reference = (at - TIME_TOLERANCE, at + TIME_TOLERANCE)

    gap = _outside(moment, reference)
    numbers["hours_apart"] = _hours(gap if group == "other" else abs(moment - at))

    # GPS time (UTC, from the satellites) as a second opinion, reported beside the verdict
    # but never deciding it: it stamps the last fix, which indoors (a meeting room) can be
    # minutes to hours older than the photo; yet it does not depend on the phone's clock or
    # zone, so when it disagrees the reviewer should see it.
    if basis != "gps_time" and evidence.gps_time.read:
        gps_moment = evidence.gps_time.value.replace(tzinfo=clock.UTC)
        numbers["gps_time_agrees"] = _outside(gps_moment, reference) == dt.timedelta(0)
        numbers["gps_time_hours_from_taken"] = _hours(abs(gps_moment - moment))

    return Verdict("time", OK if gap == dt.timedelta(0) else MISMATCH, None, numbers)


def _photo_moment(evidence: PhotoEvidence, zone: ZoneInfo) -> tuple[Optional[dt.datetime], str, Optional[str]]:
    """(the photo's instant in UTC, how we know it, why not) from its EXIF."""
    if evidence.taken_at.read:
        local: dt.datetime = evidence.taken_at.value
        minutes = evidence.offset_minutes
        if minutes is not None:
            tz = dt.timezone(dt.timedelta(minutes=minutes))
            return local.replace(tzinfo=tz).astimezone(clock.UTC), "exif_offset", None
        # No offset: the time zone is unknown; the plan's zone is assumed (and said so).
        return local.replace(tzinfo=zone).astimezone(clock.UTC), "assumed_zone", None
    if evidence.gps_time.read:
        return evidence.gps_time.value.replace(tzinfo=clock.UTC), "gps_time", None
    if evidence.status != READ:
        return None, "", "no_exif" if evidence.status != UNREADABLE else "exif_unreadable"
    if evidence.taken_at.status == UNREADABLE:
        return None, "", "time_unreadable"
    return None, "", "no_exif_time"


def taken_moment(evidence: PhotoEvidence, plan_zone: Optional[str]) -> Optional[dt.datetime]:
    """The photo's instant (aware UTC) from its EXIF, read as the time verdict reads it
    (the plan's zone assumed without an offset); None when the EXIF has no time."""
    return _photo_moment(evidence, _zone(plan_zone)[1])[0]


def _judge_place(evidence: PhotoEvidence, checkin_point: Optional[Point], sites: list[Optional[Point]]) -> Verdict:
    numbers: dict = {"checkin_limit_km": TOLERANCES["checkin_km"], "site_limit_km": TOLERANCES["site_km"]}
    if not evidence.gps.read:
        if evidence.status != READ:
            why = "no_exif" if evidence.status != UNREADABLE else "exif_unreadable"
        else:
            why = "gps_unreadable" if evidence.gps.status == UNREADABLE else "no_gps"
        return Verdict("place", CANNOT_CHECK, why, numbers)
    photo: Point = evidence.gps.value
    from_checkin = distance_m(photo, checkin_point) if checkin_point is not None else None
    site = nearest_site(photo, sites)
    if from_checkin is None and not site.located:
        return Verdict("place", CANNOT_CHECK, "no_reference", numbers)  # no check-in, no located site
    if from_checkin is not None:
        numbers["km_from_checkin"] = _km(from_checkin)
    if site.located:
        numbers["km_from_site"] = _km(site.distance_m)
        numbers["site_index"] = site.index
    if from_checkin is not None and from_checkin <= PLACE_CHECKIN_M:
        outcome, reference, metres = OK, "checkin", from_checkin
    elif site.located and site.distance_m <= PLACE_SITE_M:
        outcome, reference, metres = OK, "site", site.distance_m
    elif from_checkin is not None:
        outcome, reference, metres = MISMATCH, "checkin", from_checkin
    else:
        outcome, reference, metres = MISMATCH, "site", site.distance_m
    numbers["reference"] = reference  # which distance the words should quote
    numbers["km"] = _km(metres)
    return Verdict("place", outcome, None, numbers)


def _judge_duplicate(duplicate_plan_nos: Iterable[str]) -> Verdict:
    plan_nos = sorted({str(n) for n in duplicate_plan_nos or () if n is not None and str(n)})
    if not plan_nos:
        return Verdict("duplicate", OK)
    return Verdict("duplicate", MISMATCH, None, {"plan_nos": plan_nos[:20], "count": len(plan_nos)})


# --- summary for the plan page -------------------------------------------------------------------


def summary(verdict_list: Iterable[Any]) -> dict:
    """Counts for the plan page's plain-words line ("3 张照片时间与签到一致；1 张无 GPS").

    Takes Verdicts or their to_json() dicts. Returns
    {"photos": n, "time": {"ok": a, "mismatch": b, "cannot_check": c,
    "reasons": {"no_exif": 1, ...}, "assumed_zone": k}, "place": {...}, "duplicate": {...}}.
    """
    counts: dict = {"photos": 0}
    for check in CHECKS:
        counts[check] = {OK: 0, MISMATCH: 0, CANNOT_CHECK: 0, "reasons": {}}
    counts["time"]["assumed_zone"] = 0
    for item in verdict_list:
        verdicts = item if isinstance(item, Verdicts) else Verdicts.from_json(item)
        counts["photos"] += 1
        for verdict in verdicts:
            bucket = counts[verdict.check]
            bucket[verdict.outcome] += 1
            if verdict.outcome == CANNOT_CHECK and verdict.why:
                bucket["reasons"][verdict.why] = bucket["reasons"].get(verdict.why, 0) + 1
        if verdicts.time.numbers.get("assumed_zone"):
            counts["time"]["assumed_zone"] += 1
    return counts


# --- helpers ---------------------------------------------------------------------------------


def _zone(name: Optional[str]) -> tuple[str, ZoneInfo]:
    zone = clock.zone(name)
    return zone.key, zone


def _point(value: Any) -> Optional[Point]:
    if value is None or isinstance(value, Point):
        return value
    lat, lon = value
    return Point(float(lat), float(lon))


def _audit_days(start: dt.datetime, end: dt.datetime, zone: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """From midnight of the first day to midnight after the last day, in the plan's zone."""
    first = clock.local_date(start, zone)
    last = max(clock.local_date(end, zone), first)
    begin = dt.datetime.combine(first, dt.time(), tzinfo=zone)
    finish = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return begin, finish


def _outside(moment: dt.datetime, window: tuple[dt.datetime, dt.datetime]) -> dt.timedelta:
    """How far the moment lies outside [start, end]; zero inside."""
    start, end = window
    if moment < start:
        return start - moment
    if moment > end:
        return moment - end
    return dt.timedelta(0)


def _hours(delta: dt.timedelta) -> float:
    # Rounded up to a tenth, so a photo 2 h 01 min away reads "2.1", never "2.0" beside a
    # 2-hour tolerance.
    return math.ceil(round(delta.total_seconds() / 360, 6)) / 10


def _km(metres: float) -> float:
    # Up to a hundredth for the same reason: 1001 m is "1.01 km", not "1.0".
    return math.ceil(round(metres / 10, 6)) / 100
