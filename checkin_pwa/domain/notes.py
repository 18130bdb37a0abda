"""Notes on a plan's record: what the reviewer should know that is not an exception (R10).

Exceptions (domain.audit_exceptions) are the three of §5.9: 未签到, 地点偏差, 未上传照片. Everything
else the record says about itself is a note: an event sent later from the phone's outbox
(R17), a phone clock off, a moved pin, an old or poor position fix, a site that could not
be located, a late or early sign, a member's late offline copy, and the photos' EXIF
verdicts (time or place not agreeing, a duplicate, no EXIF to check). Notes never mark a
day red and never ask for an explanation; they are shown so the team knows what the body
will see.

Pure: plain facts in (the stored event flags and photo verdicts), codes and numbers out;
the web layer words them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional

# Event flag codes that are notes, in the order they are shown. deviation_over_5km is the
# exception 地点偏差, not a note.
EVENT_NOTE_CODES = (
    "offline_sent_later",
    "action_in_future",
    "action_before_plan",
    "clock_skew",
    "late_check_in",
    "early_check_in",
    "early_check_out",
    "late_check_out",
    "site_not_located",
    "pin_moved",
    "stale_position",
    "poor_accuracy",
    "late_offline_copy",
)

# Photo note codes (from the stored verdicts of domain.photo_checks).
PHOTO_TIME_MISMATCH = "photo_time_mismatch"
PHOTO_PLACE_MISMATCH = "photo_place_mismatch"
PHOTO_DUPLICATE = "photo_duplicate"
PHOTO_NO_EXIF = "photo_no_exif"
PHOTO_NOTE_CODES = (PHOTO_TIME_MISMATCH, PHOTO_PLACE_MISMATCH, PHOTO_DUPLICATE, PHOTO_NO_EXIF)
# cannot_check reasons that mean the photo itself carries no usable EXIF.
_NO_EXIF_WHY = ("no_exif", "exif_unreadable")


@dataclass(frozen=True)
class EventFacts:
    """One stored check event: its kind (in/out), its flags, and whether it is the team's
    record or a member's own kept copy (a late offline action, R3/R17)."""

    kind: str
    flags: tuple = ()
    counts_for_team: bool = True
    signer: str = ""


@dataclass(frozen=True)
class PhotoFacts:
    group: str  # first | last | other
    verdicts: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Note:
    """One note: `code`, what it is about (`kind` in/out for an event, `group` for photos),
    its numbers, and for an event note whether it is on a member's kept copy."""

    code: str
    kind: Optional[str] = None
    group: Optional[str] = None
    params: dict = field(default_factory=dict)
    on_copy: bool = False
    signer: str = ""


def event_notes(events: Iterable[EventFacts]) -> list[Note]:
    """The notes of the events: the team's records first (check-in, then check-out), then
    members' kept copies. A late copy always has at least its late_offline_copy note."""
    found: list[Note] = []
    ordered = sorted(events, key=lambda e: (not e.counts_for_team, e.kind != "in"))
    for event in ordered:
        by_code = {}
        for flag in event.flags or ():
            if isinstance(flag, dict) and flag.get("code") in EVENT_NOTE_CODES:
                by_code.setdefault(flag["code"], flag)
        if not event.counts_for_team and "late_offline_copy" not in by_code:
            by_code["late_offline_copy"] = {"code": "late_offline_copy"}
        for code in EVENT_NOTE_CODES:
            if code in by_code:
                params = {k: v for k, v in by_code[code].items() if k != "code"}
                found.append(Note(code, kind=event.kind, params=params,
                                  on_copy=not event.counts_for_team, signer=event.signer))
    return found


def _verdict(photo: PhotoFacts, check: str) -> dict:
    value = photo.verdicts.get(check) if isinstance(photo.verdicts, dict) else None
    return value if isinstance(value, dict) else {}


def photo_notes(photos: Iterable[PhotoFacts]) -> list[Note]:
    """One note per code and photo group, with how many photos it concerns (`count`)."""
    counts: dict[tuple[str, str], int] = {}
    for photo in photos:
        time, place, duplicate = (_verdict(photo, c) for c in ("time", "place", "duplicate"))
        codes = []
        if time.get("outcome") == "mismatch":
            codes.append(PHOTO_TIME_MISMATCH)
        if place.get("outcome") == "mismatch":
            codes.append(PHOTO_PLACE_MISMATCH)
        if duplicate.get("outcome") == "mismatch":
            codes.append(PHOTO_DUPLICATE)
        if time.get("why") in _NO_EXIF_WHY or place.get("why") in _NO_EXIF_WHY:
            codes.append(PHOTO_NO_EXIF)
        for code in codes:
            counts[(code, photo.group)] = counts.get((code, photo.group), 0) + 1
    order = {"first": 0, "last": 1, "other": 2}
    return [Note(code, group=group, params={"count": n})
            for (code, group), n in sorted(counts.items(),
                                           key=lambda item: (PHOTO_NOTE_CODES.index(item[0][0]),
                                                             order.get(item[0][1], 3)))]


def notes(events: Iterable[EventFacts], photos: Iterable[PhotoFacts]) -> list[Note]:
    """All notes of a plan's record: the events', then the photos'."""
    return [*event_notes(events), *photo_notes(photos)]
