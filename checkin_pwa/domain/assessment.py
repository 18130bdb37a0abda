"""Does the audit look real? The summary of a plan's evidence for a reviewer (R21).

Pure: plain facts in (EvidenceFacts, gathered by services.evidence_review from the team's
record, the photos' stored verdicts and the plan), an Assessment out: a level and the
reasons for it, most serious first. Reason codes and numbers, not sentences: the console
words them. docs/domain.md says why each signal weighs as it does.

The levels:
- credible (可信): nothing in the record needs a second look;
- verify (需核实): something has an honest explanation as often as not (a deviation of a
  few kilometres, a phone clock minutes off, a meeting photo taken hours away from the
  meeting, no check-out) and the body should ask the team;
- doubtful (存疑): the record contradicts an on-site audit (no check-in at all after the
  audit ended, a point tens of kilometres away, a cross-audit anomaly of the team's
  auditors (domain.anomalies: two places at once, impossible travel, sent later though online), a meeting photo taken on another day or
  far away, the same photo bytes in another audit, an offline action timed by a phone
  clock hours off).

The level is that of the most serious reason; notes (signals with common honest causes:
an offline action sent later, a pin moved, a poor fix, a photo without EXIF) and the
corroborating facts are listed after them and never lower the level.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Optional

from .geo import DEVIATION_LIMIT_M
from .photo_checks import TIME_TOLERANCE
from .signals import CLOCK_SKEW_LIMIT, POOR_ACCURACY_M

CREDIBLE = "credible"
VERIFY = "verify"
DOUBTFUL = "doubtful"
NOTE = "note"  # a reason shown, never changing the level
OK = "ok"  # a fact that corroborates the audit
LEVELS = (CREDIBLE, VERIFY, DOUBTFUL)
SEVERITY = (DOUBTFUL, VERIFY, NOTE, OK)  # the order reasons are listed in

# --- The thresholds, named (docs/domain.md, "R21 The evidence review") ---------------------
# A team point farther than this from every planned site is in another town: no large plant,
# no planned address placed a few streets off, no poor fix explains it (R5's 地点偏差 at
# DEVIATION_LIMIT_M only asks for an explanation).
FAR_AWAY_M = 50_000.0
# A fix whose own accuracy is worse than the deviation limit cannot tell on site from a
# deviation: the position corroborates nothing (POOR_ACCURACY_M alone is a note: indoors).
USELESS_ACCURACY_M = DEVIATION_LIMIT_M
# A phone clock off by more than an hour: a wrong zone, or a clock set by hand. Beside an
# action sent later, whose time of action rests on the phone's clocks, it is doubtful
# (CLOCK_SKEW_LIMIT alone asks to verify).
SKEW_DOUBT = dt.timedelta(hours=1)
# An offline action received more than a day after it was done: signal comes back within
# the day in any town; longer is worth asking about.
SENT_LATE_AFTER = dt.timedelta(hours=24)
# A meeting photo taken this far from its meeting (or outside the audit days by this much)
# is from another day: not a photo of that meeting (TIME_TOLERANCE alone asks to verify).
PHOTO_OTHER_DAY = dt.timedelta(hours=24)
# A photo whose GPS is this far from the check-in point or the nearest site (the farther of
# the two the verdict quotes) was taken in another town.
PHOTO_FAR_AWAY_KM = FAR_AWAY_M / 1000

THRESHOLDS = {
    "deviation_km": DEVIATION_LIMIT_M / 1000,
    "far_away_km": FAR_AWAY_M / 1000,
    "poor_accuracy_m": POOR_ACCURACY_M,
    "useless_accuracy_m": USELESS_ACCURACY_M,
    "skew_minutes": CLOCK_SKEW_LIMIT.total_seconds() / 60,
    "skew_doubt_hours": SKEW_DOUBT.total_seconds() / 3600,
    "sent_late_hours": SENT_LATE_AFTER.total_seconds() / 3600,
    "photo_time_hours": TIME_TOLERANCE.total_seconds() / 3600,
    "photo_other_day_hours": PHOTO_OTHER_DAY.total_seconds() / 3600,
    "photo_far_away_km": PHOTO_FAR_AWAY_KM,
}

# Reason codes in the order they are listed within one level; a code's place never changes
# with its numbers, so the same record always reads the same way.
CODES = (
    # doubtful
    "no_check_in", "far_from_site", "cross_audit", "duplicate_photo", "photo_other_day", "photo_far_away", "skew_offline",
    # verify
    "deviation", "no_check_out", "photos_missing", "photo_time_mismatch", "photo_place_mismatch",
    "useless_accuracy", "site_not_located", "clock_skew", "sent_very_late", "offline_clock_doubt",
    # note
    "not_checked_in_yet", "sent_later", "late_copy", "window", "poor_accuracy", "pin_moved", "stale_position",
    "photo_no_exif", "explained", "no_check_in_needed",
    # ok
    "on_site", "photos_time_ok", "photos_place_ok",
)


@dataclass(frozen=True)
class EventFacts:
    """One check event. distance_m: to the nearest planned site (None: none located);
    skew_s: the phone's clock minus the server's at sending; delay_s: for an action sent
    later, its receipt minus its action time; flags: the codes of its stored flags."""

    kind: str  # in | out
    counts_for_team: bool = True
    distance_m: Optional[float] = None
    accuracy_m: Optional[float] = None
    skew_s: Optional[float] = None
    sent_later: bool = False
    delay_s: Optional[float] = None
    pin_offset_m: float = 0.0
    flags: tuple[str, ...] = ()
    window_minutes: Optional[int] = None  # how late or early, for a window flag


@dataclass(frozen=True)
class PhotoFacts:
    """One photo's verdicts (domain.photo_checks) as numbers: outcome, how far off."""

    group: str  # first | last | other
    time: str = "cannot_check"
    time_hours: Optional[float] = None
    place: str = "cannot_check"
    place_km: Optional[float] = None
    duplicates: int = 0  # other plans holding the same bytes
    no_exif: bool = False


@dataclass(frozen=True)
class EvidenceFacts:
    needs_check_in: bool  # False: remote or cancelled
    ended: bool  # the audit's last local day is over (R10)
    events: tuple[EventFacts, ...] = ()
    photos: tuple[PhotoFacts, ...] = ()
    explanations: int = 0
    # Kinds of the cross-audit anomalies (domain.anomalies) that concern the plan, one per anomaly.
    anomalies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reason:
    code: str
    level: str  # doubtful | verify | note | ok
    params: dict = field(default_factory=dict)
    magnitude: float = 0.0  # orders reasons of one code: the larger first


@dataclass(frozen=True)
class Assessment:
    level: str  # credible | verify | doubtful
    reasons: tuple[Reason, ...]


def assess(facts: EvidenceFacts) -> Assessment:
    """The level of the plan's evidence and its reasons, most serious first."""
    reasons: list[Reason] = []
    if not facts.needs_check_in:
        reasons.append(Reason("no_check_in_needed", NOTE))
    else:
        reasons += _presence(facts)
        for event in facts.events:
            reasons += _event_reasons(event) if event.counts_for_team else _copy_reasons(event)
        reasons += _photo_reasons(facts)
        reasons += _anomaly_reasons(facts.anomalies)
        if facts.explanations:
            reasons.append(Reason("explained", NOTE, {"count": facts.explanations}))
    ranked = tuple(sorted(reasons, key=_rank))
    found = {reason.level for reason in ranked}
    level = DOUBTFUL if DOUBTFUL in found else VERIFY if VERIFY in found else CREDIBLE
    return Assessment(level, ranked)


def _rank(reason: Reason):
    return SEVERITY.index(reason.level), CODES.index(reason.code), -reason.magnitude


def _team(facts: EvidenceFacts, kind: str) -> Optional[EventFacts]:
    return next((e for e in facts.events if e.kind == kind and e.counts_for_team), None)


def _presence(facts: EvidenceFacts) -> list[Reason]:
    """R10's 未签到 and 未上传照片, read as evidence: after the audit, no check-in at all
    leaves nothing that puts the team on site; no check-out or no meeting photos ask why."""
    reasons = []
    checked_in, checked_out = _team(facts, "in"), _team(facts, "out")
    if checked_in is None:
        reasons.append(Reason("no_check_in", DOUBTFUL) if facts.ended else Reason("not_checked_in_yet", NOTE))
    if facts.ended and checked_in is not None and checked_out is None:
        reasons.append(Reason("no_check_out", VERIFY))
    if facts.ended:
        have = {photo.group for photo in facts.photos}
        missing = tuple(group for group in ("first", "last") if group not in have)
        if missing:
            reasons.append(Reason("photos_missing", VERIFY, {"groups": missing}))
    return reasons


def _event_reasons(event: EventFacts) -> list[Reason]:
    reasons = []
    kind = {"kind": event.kind}
    if event.distance_m is None:
        reasons.append(Reason("site_not_located", VERIFY, kind))
    elif event.distance_m > FAR_AWAY_M:
        reasons.append(Reason("far_from_site", DOUBTFUL, {**kind, "km": _km(event.distance_m),
                                                         "limit_km": THRESHOLDS["far_away_km"]}, event.distance_m))
    elif event.distance_m > DEVIATION_LIMIT_M:
        reasons.append(Reason("deviation", VERIFY, {**kind, "km": _km(event.distance_m),
                                                    "limit_km": THRESHOLDS["deviation_km"]}, event.distance_m))
    elif event.accuracy_m is None or event.accuracy_m <= USELESS_ACCURACY_M:
        reasons.append(Reason("on_site", OK, {**kind, "km": _km(event.distance_m),
                                              "accuracy_m": _round(event.accuracy_m)}, float(event.kind == "in")))

    if event.accuracy_m is not None and event.accuracy_m > USELESS_ACCURACY_M:
        reasons.append(Reason("useless_accuracy", VERIFY, {**kind, "accuracy_m": _round(event.accuracy_m),
                                                           "limit_m": USELESS_ACCURACY_M}, event.accuracy_m))
    elif event.accuracy_m is not None and event.accuracy_m > POOR_ACCURACY_M:
        reasons.append(Reason("poor_accuracy", NOTE, {**kind, "accuracy_m": _round(event.accuracy_m),
                                                      "limit_m": POOR_ACCURACY_M}, event.accuracy_m))

    skew = abs(event.skew_s) if event.skew_s is not None else None
    if skew is not None and skew > SKEW_DOUBT.total_seconds() and event.sent_later:
        reasons.append(Reason("skew_offline", DOUBTFUL, {**kind, "minutes": _minutes(event.skew_s),
                                                         "limit_hours": THRESHOLDS["skew_doubt_hours"]}, skew))
    elif skew is not None and skew > CLOCK_SKEW_LIMIT.total_seconds():
        reasons.append(Reason("clock_skew", VERIFY, {**kind, "minutes": _minutes(event.skew_s),
                                                     "limit_minutes": THRESHOLDS["skew_minutes"]}, skew))

    if event.sent_later:
        delay = event.delay_s or 0.0
        if delay > SENT_LATE_AFTER.total_seconds():
            reasons.append(Reason("sent_very_late", VERIFY, {**kind, "hours": _hours(delay),
                                                             "limit_hours": THRESHOLDS["sent_late_hours"]}, delay))
        else:
            reasons.append(Reason("sent_later", NOTE, {**kind, "minutes": _minutes(delay)}, delay))
    if {"action_in_future", "action_before_plan"} & set(event.flags):
        reasons.append(Reason("offline_clock_doubt", VERIFY, kind))
    for code in ("late_check_in", "early_check_in", "early_check_out", "late_check_out"):
        if code in event.flags:
            reasons.append(Reason("window", NOTE, {**kind, "window": code, "minutes": event.window_minutes}))
    if event.pin_offset_m > 1.0:
        reasons.append(Reason("pin_moved", NOTE, {**kind, "m": _round(event.pin_offset_m)}, event.pin_offset_m))
    if "stale_position" in event.flags:
        reasons.append(Reason("stale_position", NOTE, kind))
    return reasons


def _copy_reasons(event: EventFacts) -> list[Reason]:
    """A member's own copy sent later after the team had signed (R3, R17): their evidence,
    not the team's record; noted with its distance."""
    km = _km(event.distance_m) if event.distance_m is not None else None
    return [Reason("late_copy", NOTE, {"kind": event.kind, "km": km})]


def _photo_reasons(facts: EvidenceFacts) -> list[Reason]:
    """One reason per code over all photos: how many, and the largest number among them."""
    buckets: dict[str, list[PhotoFacts]] = {}

    def add(code: str, photo: PhotoFacts) -> None:
        buckets.setdefault(code, []).append(photo)

    for photo in facts.photos:
        hours = photo.time_hours or 0.0
        if photo.time == "mismatch":
            add("photo_other_day" if hours >= THRESHOLDS["photo_other_day_hours"] else "photo_time_mismatch", photo)
        elif photo.time == "ok":
            add("photos_time_ok", photo)
        km = photo.place_km or 0.0
        if photo.place == "mismatch":
            add("photo_far_away" if km > PHOTO_FAR_AWAY_KM else "photo_place_mismatch", photo)
        elif photo.place == "ok":
            add("photos_place_ok", photo)
        if photo.duplicates:
            add("duplicate_photo", photo)
        if photo.no_exif:
            add("photo_no_exif", photo)

    levels = {"photo_other_day": DOUBTFUL, "photo_far_away": DOUBTFUL, "duplicate_photo": DOUBTFUL,
              "photo_time_mismatch": VERIFY, "photo_place_mismatch": VERIFY, "photo_no_exif": NOTE,
              "photos_time_ok": OK, "photos_place_ok": OK}
    reasons = []
    for code, photos in buckets.items():
        params: dict = {"count": len(photos), "groups": tuple(sorted({p.group for p in photos}, key=_group_order))}
        magnitude = float(len(photos))
        if code in ("photo_other_day", "photo_time_mismatch"):
            params["hours"] = max(p.time_hours or 0.0 for p in photos)
            params["limit_hours"] = THRESHOLDS["photo_other_day_hours" if code == "photo_other_day" else "photo_time_hours"]
            magnitude = params["hours"]
        elif code in ("photo_far_away", "photo_place_mismatch"):
            params["km"] = max(p.place_km or 0.0 for p in photos)
            magnitude = params["km"]
        elif code == "duplicate_photo":
            params["plans"] = max(p.duplicates for p in photos)
        reasons.append(Reason(code, levels[code], params, magnitude))
    return reasons


# Cross-audit anomalies that no honest record produces: two places at once, a journey faster
# than any transport, an action "sent later" by a phone the server saw online meanwhile. The
# other kinds (photo_reuse, exif_time) are the photos' duplicate and time verdicts seen across
# plans: the photo reasons above weigh them already, and they are not counted twice.
WEIGHED_ANOMALIES = ("overlap", "travel", "late_send")


def _anomaly_reasons(kinds: tuple[str, ...]) -> list[Reason]:
    counts: dict[str, int] = {}
    for kind in kinds:
        if kind in WEIGHED_ANOMALIES:
            counts[kind] = counts.get(kind, 0) + 1
    return [Reason("cross_audit", DOUBTFUL, {"anomaly": kind, "count": n}, float(len(WEIGHED_ANOMALIES) - i))
            for i, kind in enumerate(WEIGHED_ANOMALIES) if (n := counts.get(kind))]


def _group_order(group: str) -> int:
    return {"first": 0, "last": 1, "other": 2}.get(group, 3)


def _km(metres: float) -> float:
    # Rounded up, as domain.photo_checks does: 5001 m reads "5.01", never "5.0" beside 5 km.
    digits = 100 if metres < 10_000 else 10
    return math.ceil(round(metres / 1000 * digits, 6)) / digits


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value)


def _minutes(seconds: float) -> int:
    return round(seconds / 60)


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 1)
