"""R1: one-time verification codes sent by SMS (§4.1-4.3). Pure: no Flask, no database.

A code is 6 digits from `secrets`, valid CODE_TTL (5 minutes), dead after MAX_TRIES
(5) wrong tries, good for one use. Only a keyed hash is kept: HMAC-SHA256 under the
app's secret key over a random per-code salt and the code, stored as "salt$hex". Without
the secret key a stolen table cannot be brute-forced offline (a million codes).

Resending is limited per phone number (`resend_wait`): not again within RESEND_AFTER for
the same purpose, at most PER_HOUR in any rolling hour and PER_DAY in any rolling 24 hours
across purposes. The limits are a `Policy`, so configuration can change them.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from enum import Enum
from typing import Iterable, Optional

DIGITS = 6
CODE_TTL = dt.timedelta(minutes=5)
MAX_TRIES = 5

PURPOSES = ("change_password", "reset_password", "change_phone")


def new_code() -> str:
    """Six random digits, leading zeros kept (000042 is a code)."""
    return f"{secrets.randbelow(10 ** DIGITS):0{DIGITS}d}"


def normalise_code(typed: Optional[str]) -> str:
    """What the auditor typed, as comparable digits: full-width digits (a Chinese input
    method) made ASCII, spaces dropped."""
    text = typed or ""
    text = text.translate({0xFF10 + i: ord("0") + i for i in range(10)})
    return "".join(text.split())


def _mac(secret_key: str | bytes, salt: str, code: str) -> str:
    key = secret_key.encode() if isinstance(secret_key, str) else secret_key
    return hmac.new(key, f"{salt}:{code}".encode(), hashlib.sha256).hexdigest()


def hash_code(secret_key: str | bytes, code: str, salt: Optional[str] = None) -> str:
    """"salt$hmac": what is stored instead of the code (97 characters)."""
    salt = salt or secrets.token_hex(16)
    return f"{salt}${_mac(secret_key, salt, code)}"


def code_matches(secret_key: str | bytes, stored: str, typed: Optional[str]) -> bool:
    """Whether `typed` is the code behind `stored`, compared in constant time."""
    salt, sep, expected = (stored or "").partition("$")
    candidate = normalise_code(typed)
    if not sep or not salt:
        return False
    # Always compute the MAC, also for a malformed entry, so the time taken says nothing.
    actual = _mac(secret_key, salt, candidate if len(candidate) == DIGITS and candidate.isdigit() else "x")
    return hmac.compare_digest(actual, expected) and len(candidate) == DIGITS and candidate.isdigit()


class CodeState(str, Enum):
    LIVE = "live"
    EXPIRED = "expired"
    DEAD = "dead"  # MAX_TRIES wrong tries: a new code must be asked for
    USED = "used"  # used once, or replaced by a newer code


def state(*, created_at: dt.datetime, used_at: Optional[dt.datetime], tries: int, now: dt.datetime,
          ttl: dt.timedelta = CODE_TTL, max_tries: int = MAX_TRIES) -> CodeState:
    """What a stored code is at `now`. Valid for exactly `ttl`: at created_at + ttl it has expired."""
    if used_at is not None:
        return CodeState.USED
    if (tries or 0) >= max_tries:
        return CodeState.DEAD
    if now >= created_at + ttl:
        return CodeState.EXPIRED
    return CodeState.LIVE


@dataclass(frozen=True)
class Policy:
    """How often a code may be sent to one number."""

    resend_after: dt.timedelta = dt.timedelta(seconds=60)
    per_hour: int = 5
    per_day: int = 10


class Wait(str, Enum):
    NONE = "none"
    RESEND = "resend"  # the same purpose within resend_after
    HOURLY = "hourly"
    DAILY = "daily"


@dataclass(frozen=True)
class ResendVerdict:
    reason: Wait
    seconds: int = 0

    @property
    def allowed(self) -> bool:
        return self.reason is Wait.NONE


def _seconds_until(moment: dt.datetime, now: dt.datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))


def resend_wait(sent: Iterable[tuple[dt.datetime, str]], purpose: str, now: dt.datetime,
                policy: Policy = Policy()) -> ResendVerdict:
    """Whether a code for `purpose` may be sent to a number now, given what was sent to it
    before as (sent at, purpose) pairs; if not, why and how many seconds to wait.
    The longest wait wins (a daily cap is not hidden behind a 60 s one)."""
    sent = [(at, what) for at, what in sent if at <= now]
    verdicts: list[ResendVerdict] = []

    same = [at for at, what in sent if what == purpose and now - at < policy.resend_after]
    if same:
        verdicts.append(ResendVerdict(Wait.RESEND, _seconds_until(max(same) + policy.resend_after, now)))

    for reason, window, cap in ((Wait.HOURLY, dt.timedelta(hours=1), policy.per_hour),
                                (Wait.DAILY, dt.timedelta(days=1), policy.per_day)):
        inside = sorted(at for at, _ in sent if now - at < window)
        if cap >= 0 and len(inside) >= cap:
            # Free again when enough of the oldest ones have left the window.
            leaves = inside[len(inside) - cap] if cap > 0 else now + window
            verdicts.append(ResendVerdict(reason, _seconds_until(leaves + window, now)))

    if not verdicts:
        return ResendVerdict(Wait.NONE)
    return max(verdicts, key=lambda verdict: verdict.seconds)


def mask_phone(phone: str) -> str:
    """138****0001: enough for the owner to recognise the number, not to read it off a screen."""
    if len(phone) == 11 and phone.isdigit():
        return f"{phone[:3]}****{phone[7:]}"
    if len(phone) > 4:
        return "*" * (len(phone) - 4) + phone[-4:]
    return "*" * len(phone)
