"""EXIF as corroborating evidence (R8, R17): PhotoEvidence from a photo's bytes, defensively.

Pure: no Flask, no database. Every field has its own status (read / absent / unreadable);
read_exif never raises. (Stub: the parser is being filled in; the API below is stable.)
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Optional

READ = "read"
ABSENT = "absent"
UNREADABLE = "unreadable"


@dataclass(frozen=True)
class EvidenceField:
    """One EXIF field: status read / absent / unreadable, its value when read, and why not."""

    status: str = ABSENT
    value: Any = None
    why: Optional[str] = None
    source: Optional[str] = None

    @property
    def read(self) -> bool:
        return self.status == READ


@dataclass(frozen=True)
class PhotoEvidence:
    taken_at: EvidenceField = EvidenceField()  # value: naive local datetime
    offset: EvidenceField = EvidenceField()  # value: "+03:00"
    gps: EvidenceField = EvidenceField()  # value: Point-like (lat, lon), signed
    gps_time: EvidenceField = EvidenceField()  # value: naive UTC datetime
    make: EvidenceField = EvidenceField()
    model: EvidenceField = EvidenceField()
    orientation: EvidenceField = EvidenceField()  # value: int 1..8
    raw: dict = field(default_factory=dict)
    status: str = ABSENT  # of the EXIF block as a whole
    why: Optional[str] = None

    def to_json(self) -> dict:
        return {"status": self.status, "why": self.why}

    @classmethod
    def from_json(cls, data: Optional[dict]) -> "PhotoEvidence":
        return cls()


def read_exif(data: bytes, *, time_limit_s: float = 2.0) -> PhotoEvidence:
    """The EXIF evidence of a photo's bytes. Never raises."""
    return PhotoEvidence()
