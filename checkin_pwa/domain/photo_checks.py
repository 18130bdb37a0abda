"""Cross-check of a photo's EXIF with the check-in record (R8, R17). Stub; API stable."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from checkin_pwa.domain.evidence import PhotoEvidence
from checkin_pwa.domain.geo import Point

TIME_TOLERANCE = dt.timedelta(hours=2)
PLACE_CHECKIN_M = 1000.0
PLACE_SITE_M = 5000.0

OK = "ok"
MISMATCH = "mismatch"
CANNOT_CHECK = "cannot_check"


@dataclass(frozen=True)
class Verdict:
    check: str  # time | place | duplicate
    outcome: str  # ok | mismatch | cannot_check
    why: Optional[str] = None
    numbers: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return {"check": self.check, "outcome": self.outcome, "why": self.why, **self.numbers}


@dataclass(frozen=True)
class Verdicts:
    time: Verdict
    place: Verdict
    duplicate: Verdict

    def __iter__(self):
        return iter((self.time, self.place, self.duplicate))

    def to_json(self) -> dict:
        return {v.check: v.to_json() for v in self}


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
) -> Verdicts:
    return Verdicts(
        Verdict("time", CANNOT_CHECK, "no_exif_time"),
        Verdict("place", CANNOT_CHECK, "no_gps"),
        Verdict("duplicate", OK),
    )


def summary(verdict_list) -> dict:
    return {}
