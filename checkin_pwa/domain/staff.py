"""The management end's staff (R18): roles, the second factor's codes. Pure: no Flask,
no database; pyotp computes the codes (RFC 6238)."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from enum import Enum

import pyotp


class Role(str, Enum):
    """What a staff member may do within their own body (R16 holds for every role)."""

    ADMIN = "admin"        # 机构管理员: everything of their body, staff included
    MANAGER = "manager"    # 审核管理: plans, records, notices; not staff or tokens
    READONLY = "readonly"  # 只读: reads and exports
    # 监管端: the regulator, of no body; reads every body's figures and, page by page, their
    # plans; writes nothing. Outside the ranking: no body's role allows it anything.
    REGULATOR = "regulator"


_RANK = {Role.READONLY: 0, Role.MANAGER: 1, Role.ADMIN: 2}


def role_allows(held: str, needed: str) -> bool:
    """A role allows what it and every role below it may do; an unknown role (and the
    regulator's, which is no body's) nothing."""
    try:
        return _RANK[Role(held)] >= _RANK[Role(needed)]
    except (ValueError, KeyError):
        return False


# --- TOTP ------------------------------------------------------------------------------------
STEP_SECONDS = 30
# One step either side: a phone clock a little off, or a code typed as it turned over.
DRIFT_STEPS = 1


def new_totp_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, account: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=issuer)


def normalise_code(raw: str | None) -> str:
    """Digits and letters only, lower case: spaces and dashes an app or a person adds are
    dropped, full-width digits from a Chinese input method made ASCII."""
    import unicodedata

    text = unicodedata.normalize("NFKC", raw or "")
    return "".join(ch for ch in text if ch.isascii() and ch.isalnum()).lower()[:32]


def accepted_step(secret: str, code: str, *, now: float, last_step: int | None) -> int | None:
    """The time step `code` belongs to if it is right for `secret` at `now` (± DRIFT_STEPS)
    and later than `last_step` (a code already used, or an older one, is refused: no
    replay); None otherwise. The caller stores the step it gets back."""
    code = normalise_code(code)
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int(now) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            if last_step is not None and step <= last_step:
                return None
            return step
    return None


def current_code(secret: str, *, now: float) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS).at(int(now))


# --- recovery codes --------------------------------------------------------------------------
RECOVERY_CODE_COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Codes shown once, as xxxxx-xxxxx (about 50 bits each)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    return codes


def recovery_code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def looks_like_recovery_code(code: str) -> bool:
    return len(normalise_code(code)) == 10
