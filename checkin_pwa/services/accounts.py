"""Accounts (R1): who may log in, and changing a password. No request objects here:
the web layer passes plain values in and words the error codes it gets back."""
from __future__ import annotations

import functools
import re
import secrets
import unicodedata
from dataclasses import dataclass

from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.passwords import password_problems
from ..extensions import db
from ..models import Auditor

WRONG_CURRENT_PASSWORD = "wrong_current_password"

_MOBILE = re.compile(r"1[0-9]{10}")


def normalise_phone(raw: str | None) -> str:
    """The number as stored: full-width digits from a Chinese input method made ASCII,
    spaces and dashes dropped, a +86 / 0086 country prefix removed."""
    text = unicodedata.normalize("NFKC", raw or "")
    digits = re.sub(r"[\s\-()]", "", text)
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11:
            return digits[len(prefix):]
    return digits


def is_mobile_number(phone: str) -> bool:
    """A mainland mobile number: 11 digits starting with 1 (the login of R1)."""
    return bool(_MOBILE.fullmatch(phone))


@functools.cache
def _dummy_hash() -> str:
    # Same algorithm and cost as real hashes, so checking it takes as long as a real check.
    return generate_password_hash(secrets.token_urlsafe(16))


def authenticate(phone: str, password: str) -> Auditor | None:
    """The auditor whose mobile number and password these are, else None.

    An unknown number still costs one password check against a dummy hash, so the time
    taken does not tell which numbers have accounts.
    """
    number = normalise_phone(phone)
    auditor = None
    if is_mobile_number(number):
        auditor = db.session.scalar(db.select(Auditor).filter_by(phone=number))
    if auditor is None:
        check_password_hash(_dummy_hash(), password)
        return None
    if not check_password_hash(auditor.password_hash, password):
        return None
    return auditor


@dataclass(frozen=True)
class PasswordChange:
    """The outcome of change_password: `errors` holds codes (WRONG_CURRENT_PASSWORD or the
    values of domain.passwords.PasswordProblem); empty means the password was changed."""

    errors: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def wrong_current_password(self) -> bool:
        return WRONG_CURRENT_PASSWORD in self.errors


def change_password(auditor: Auditor, current: str, new: str) -> PasswordChange:
    """Set a new password after checking the current one and the rule of R1.

    On success the initial-password flag is cleared and the session version bumped, which
    ends every other session of the account (see auth_loader); the caller logs the current
    session in again. Nothing is changed on failure.
    """
    if not check_password_hash(auditor.password_hash, current):
        return PasswordChange((WRONG_CURRENT_PASSWORD,))
    problems = password_problems(new, old=current, phone=auditor.phone)
    if problems:
        return PasswordChange(tuple(problem.value for problem in problems))
    auditor.password_hash = generate_password_hash(new)
    auditor.must_change_password = False
    auditor.session_version = (auditor.session_version or 0) + 1
    db.session.commit()
    return PasswordChange()

