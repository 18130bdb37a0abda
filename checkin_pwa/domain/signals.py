"""The signals a check event records beside its position (shared/docs/evidence.md).

None of these refuses an action: they are flags, each with its numbers, for the reviewer
who judges the record. The tolerances live here, named, so the reviewer can be shown them.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from .geo import DEVIATION_LIMIT_M, NearestSite

STALE_POSITION_AFTER = dt.timedelta(minutes=2)  # the fix is older than the action by more
POOR_ACCURACY_M = 500.0  # the phone itself says it may be this far off
CLOCK_SKEW_LIMIT = dt.timedelta(minutes=5)  # phone clock vs server clock
# A pin left where the map put it is sent back unchanged; anything above float noise moved.
PIN_MOVED_MIN_M = 1.0


def position_flags(
    *,
    nearest: NearestSite,
    pin_offset_m: float,
    accuracy_m: Optional[float],
    position_time: Optional[dt.datetime],
    action_time: Optional[dt.datetime],
    clock_skew_s: Optional[float],
) -> list[dict]:
    """Flags for one event's position and clocks; action_time is on the phone's clock,
    like position_time, so their difference is honest even when the clock is wrong."""
    flags: list[dict] = []
    if not nearest.located:
        flags.append({"code": "site_not_located"})
    elif nearest.deviates():
        flags.append({"code": "deviation_over_5km", "distance_m": round(nearest.distance_m, 1),
                      "limit_m": DEVIATION_LIMIT_M})
    if pin_offset_m > PIN_MOVED_MIN_M:
        flags.append({"code": "pin_moved", "offset_m": round(pin_offset_m, 1)})
    if position_time is not None and action_time is not None:
        age = action_time - position_time
        if age > STALE_POSITION_AFTER:
            flags.append({"code": "stale_position", "age_s": round(age.total_seconds()),
                          "limit_s": STALE_POSITION_AFTER.total_seconds()})
    if accuracy_m is not None and accuracy_m > POOR_ACCURACY_M:
        flags.append({"code": "poor_accuracy", "accuracy_m": round(accuracy_m, 1), "limit_m": POOR_ACCURACY_M})
    if clock_skew_s is not None and abs(clock_skew_s) > CLOCK_SKEW_LIMIT.total_seconds():
        flags.append({"code": "clock_skew", "skew_s": round(clock_skew_s),
                      "limit_s": CLOCK_SKEW_LIMIT.total_seconds()})
    return flags
