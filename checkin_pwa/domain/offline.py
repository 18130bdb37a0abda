"""R4, R17: the time of an action the phone kept offline and sent later, from its clocks.

The phone sends two readings of its own clock: at the action (device_time) and at sending
(device_time_sent). The server's clock at receipt is the time of record. Their skew
(device_time_sent - receipt) says how far the phone's clock is off, so the action happened
at about device_time - skew on the server's clock: the corrected action time the rules
judge. A wrong phone clock cancels out; a clock changed between action and sending (the
phone synced its time when the signal came back) does not, hence the checks below.

Never trusted beyond what the server knows: a corrected time after the receipt is capped
at the receipt; one before the plan's first day is not believed (the action could not have
been offered then) and the receipt is judged instead. Both are flagged for the reviewer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Optional

from . import clock
from .signals import CLOCK_SKEW_LIMIT



@dataclass(frozen=True)
class ActionTime:
    """When an action is judged to have happened, and the flags that explain it."""

    at: dt.datetime  # aware UTC: what the rules judge
    receipt: dt.datetime  # aware UTC: the time of record
    skew_s: Optional[float]
    queued: bool
    flags: list = field(default_factory=list)

    @property
    def sent_later(self) -> bool:
        return self.queued


def _iso(moment: dt.datetime) -> str:
    return clock.as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def clock_skew_s(device_time_sent: Optional[dt.datetime], receipt: dt.datetime) -> Optional[float]:
    """Phone clock minus server clock, in seconds, at sending (None without a reading)."""
    if device_time_sent is None:
        return None
    return (clock.as_utc(device_time_sent) - clock.as_utc(receipt)).total_seconds()


def corrected_action_time(device_time: Optional[dt.datetime], device_time_sent: Optional[dt.datetime],
                          receipt: dt.datetime) -> Optional[dt.datetime]:
    """device_time - skew, on the server's clock; None if the phone sent no action time.
    Without a sending time the skew is unknown and the receipt is all the server knows."""
    if device_time is None:
        return None
    if device_time_sent is None:
        return clock.as_utc(receipt)
    return clock.as_utc(receipt) + (clock.as_utc(device_time) - clock.as_utc(device_time_sent))


def action_time(*, queued: bool, device_time: Optional[dt.datetime], device_time_sent: Optional[dt.datetime],
                receipt: dt.datetime, first_day_start: Optional[dt.datetime] = None) -> ActionTime:
    """The time to judge an action by, and its offline flags.

    Not queued: the receipt (R4: the client's clock is only evidence). Queued: the
    corrected action time, capped at the receipt (flag action_in_future); before the
    plan's first day (`first_day_start`, aware) the receipt is judged (flag
    action_before_plan). Every queued action is flagged offline_sent_later with both
    times; a skew over the limit is flagged by domain.signals (clock_skew)."""
    receipt = clock.as_utc(receipt)
    skew = clock_skew_s(device_time_sent, receipt)
    if not queued:
        return ActionTime(receipt, receipt, skew, False, [])
    flags: list[dict] = []
    corrected = corrected_action_time(device_time, device_time_sent, receipt)
    at = receipt if corrected is None else corrected
    if at > receipt:
        flags.append({"code": "action_in_future", "corrected_time": _iso(at),
                      "ahead_s": round((at - receipt).total_seconds())})
        at = receipt
    elif first_day_start is not None and at < clock.as_utc(first_day_start):
        flags.append({"code": "action_before_plan", "corrected_time": _iso(at), "plan_start": _iso(first_day_start)})
        at = receipt
    sent_later = {"code": "offline_sent_later", "action_time": _iso(at), "receipt_time": _iso(receipt)}
    if device_time is not None:
        sent_later["device_time"] = _iso(device_time)
    if device_time_sent is not None:
        sent_later["device_time_sent"] = _iso(device_time_sent)
    return ActionTime(at, receipt, skew, True, [sent_later, *flags])


def skew_over_limit(skew_s: Optional[float]) -> bool:
    return skew_s is not None and abs(skew_s) > CLOCK_SKEW_LIMIT.total_seconds()


def parse_iso(value) -> Optional[dt.datetime]:
    """A time written by this module back as an aware UTC datetime (None if not one)."""
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=clock.UTC)
    except ValueError:
        return None


def offline_action_time(flags) -> Optional[dt.datetime]:
    """The judged action time of a stored event that was sent later, from its flags."""
    for flag in flags or []:
        if isinstance(flag, dict) and flag.get("code") == "offline_sent_later":
            return parse_iso(flag.get("action_time"))
    return None
