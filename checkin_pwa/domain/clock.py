"""The one clock: the server's time of record, and moments on a plan's own wall clock.

Every stored moment is aware UTC (timestamps.UtcDateTime gives rows back aware); a moment is
shown or judged by calendar day on the wall clock of a zone: the plan's (`AuditPlan.timezone`)
or, where no plan is in question (lists, the calendar, notices, the console), DEFAULT_ZONE.

Call `clock.now()` through the module (not `from clock import now`) so a test that sets the
server's clock (monkeypatch.setattr(clock, "now", ...)) moves every reader of it at once.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Optional, Union
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
DEFAULT_ZONE_NAME = "Asia/Shanghai"
DEFAULT_ZONE = ZoneInfo(DEFAULT_ZONE_NAME)


def now() -> dt.datetime:
    """The server's clock: the time of record (aware UTC). The phone's clock is evidence."""
    return dt.datetime.now(UTC)


def as_utc(moment: Optional[dt.datetime]) -> Optional[dt.datetime]:
    """`moment` as aware UTC; a naive one is taken as UTC already (how rows are stored)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@lru_cache(maxsize=64)
def zone(name: Optional[str]) -> ZoneInfo:
    """The zone called `name` (a plan's IANA zone); DEFAULT_ZONE when it is empty or unknown."""
    if not name or not isinstance(name, str):
        return DEFAULT_ZONE
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return DEFAULT_ZONE


def local(moment: dt.datetime, where: Union[ZoneInfo, dt.tzinfo, str, None] = None) -> dt.datetime:
    """`moment` (aware, or naive UTC) on the wall clock of `where`: a zone, a zone's name, or
    None for DEFAULT_ZONE."""
    tz = where if isinstance(where, dt.tzinfo) else zone(where)
    return as_utc(moment).astimezone(tz)


def local_date(moment: dt.datetime, where: Union[ZoneInfo, dt.tzinfo, str, None] = None) -> dt.date:
    """The calendar day `moment` falls on at `where` (as `local`)."""
    return local(moment, where).date()


def at_local(wall: dt.datetime, where: Union[ZoneInfo, dt.tzinfo, str, None] = None) -> dt.datetime:
    """A wall-clock time read at `where` (naive; an aware one keeps its own offset), as aware UTC."""
    if wall.tzinfo is None:
        wall = wall.replace(tzinfo=where if isinstance(where, dt.tzinfo) else zone(where))
    return wall.astimezone(UTC)
