"""Accounts (R1): who may log in, and changing a password. No request objects here:
the web layer passes plain values in and words the error codes it gets back."""
from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import bindparam, exists, select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain.passwords import password_problems
from ..extensions import db
from ..models import Auditor, EndedSession, Staff
from . import verification

log = logging.getLogger(__name__)

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


# --- login sessions: logging out ends one on the server -------------------------------------
# The session cookie is signed, not stored: a copy of it stays valid after logout unless the
# server remembers that its session ended. A login gets a random session id (kept in the
# cookie); logout records it as ended, and a cookie whose id has ended logs nobody in.

def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def end_session(sid: str, *, now: dt.datetime, forget_before: dt.datetime) -> None:
    """Record `sid` as ended (committed). Ids ended before `forget_before` are dropped: a
    cookie signed that long ago is refused by its own age (the session lifetime)."""
    db.session.execute(db.delete(EndedSession).where(EndedSession.ended_at < forget_before))
    db.session.merge(EndedSession(sid=sid[:64], ended_at=now))
    db.session.commit()


# One statement per request for "who is this session": the person's row, none if the session
# was ended (logged out). Built once per model, the values as parameters.
_SIGNED_IN = {
    model: select(model).where(model.id == bindparam("person_id"),
                               ~exists().where(EndedSession.sid == bindparam("sid")))
    for model in (Auditor, Staff)
}


def signed_in(model, person_id: int, sid: str):
    """The Auditor or Staff row `person_id` for a session `sid` not ended; None otherwise."""
    return db.session.scalar(_SIGNED_IN[model], {"person_id": person_id, "sid": sid[:64]})


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
    errors = _change_refusals(auditor, current, new)
    if errors:
        return PasswordChange(errors)
    _set_password(auditor, new)
    return PasswordChange()


def _change_refusals(auditor: Auditor, current: str, new: str) -> tuple[str, ...]:
    """Why `current` -> `new` is refused: the current password is wrong, or the rule of R1."""
    if not check_password_hash(auditor.password_hash, current):
        return (WRONG_CURRENT_PASSWORD,)
    return tuple(problem.value for problem in password_problems(new, old=current, phone=auditor.phone))


def _set_password(auditor: Auditor, new: str) -> None:
    """The new password, committed; the initial-password flag cleared, and every session
    of the account ended (the session version)."""
    auditor.password_hash = generate_password_hash(new)
    auditor.must_change_password = False
    auditor.session_version = (auditor.session_version or 0) + 1
    db.session.commit()



# --- R1 §4.1-4.3: with a code sent to the phone -------------------------------------------
# The code checks live in services.verification; these put a checked code and the account
# change together. Codes (the `code` of an Outcome) go back to the web layer to word.

WRONG_CODE = "wrong_code"
PHONE_TAKEN = "phone_taken"
SAME_PHONE = "same_phone"
NOT_A_MOBILE = "not_a_mobile"


@dataclass(frozen=True)
class CodedChange(PasswordChange):
    """The outcome of a change that needed an SMS code: `errors` as in PasswordChange plus
    WRONG_CODE (then `code_outcome` says why), PHONE_TAKEN, SAME_PHONE, NOT_A_MOBILE."""

    code_outcome: object = None  # verification.Outcome when the code was refused
    held: object = None  # phone_changes.Held when a phone change waits for the body's approval


def change_password_with_code(auditor: Auditor, current: str, new: str, code: str, *,
                              settings, now) -> CodedChange:
    """§4.1 from the personal page: the current password, the rule of R1, then the code
    sent to the account's phone (checked last, so a typo in the new password does not
    use the code up). Nothing changes on failure."""
    errors = _change_refusals(auditor, current, new)
    if errors:
        return CodedChange(errors)
    outcome = verification.check_code(auditor.phone, "change_password", code, settings=settings, now=now,
                                      auditor_id=auditor.id)
    if not outcome.ok:
        return CodedChange((WRONG_CODE,), outcome)
    _set_password(auditor, new)
    return CodedChange()


def account_by_phone(phone: str) -> Auditor | None:
    number = normalise_phone(phone)
    if not is_mobile_number(number):
        return None
    return db.session.scalar(db.select(Auditor).filter_by(phone=number))


def reset_password(phone: str, code: str, new: str, *, settings, now) -> CodedChange:
    """§4.2 forgot password: the code sent to `phone`, then the new password. A number with
    no account fails at the code like a wrong code (no account enumeration).

    The reset also clears must_change_password: whoever holds the phone chose this password
    themselves, which is what the first-login change asks for."""
    number = normalise_phone(phone)
    problems = password_problems(new, phone=number)
    if problems:
        return CodedChange(tuple(problem.value for problem in problems))
    auditor = account_by_phone(number)
    outcome = verification.check_code(number, "reset_password", code, settings=settings, now=now,
                                      auditor_id=auditor.id if auditor else -1)
    if not outcome.ok or auditor is None:
        return CodedChange((WRONG_CODE,), outcome)
    _set_password(auditor, new)
    return CodedChange()


def _id_number(raw: str | None) -> str:
    text = unicodedata.normalize("NFKC", raw or "")
    return "".join(text.split()).upper()


def _name(raw: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", raw or "").split())


def find_by_identity(name: str, id_type: str, id_number: str) -> Auditor | None:
    """§4.3 step 1: the one account whose name, ID type and ID number are these (ID number
    trimmed and compared case-insensitively: an X at the end of a 身份证 number). None when
    nothing matches, or more than one account does (then the body must sort it out)."""
    wanted_name, wanted_number = _name(name), _id_number(id_number)
    if not wanted_name or not wanted_number or id_type not in ("id_card", "other"):
        return None
    candidates = db.session.scalars(db.select(Auditor).filter_by(id_type=id_type)).all()
    found = [person for person in candidates
             if _name(person.name) == wanted_name and person.id_number
             and _id_number(person.id_number) == wanted_number]
    return found[0] if len(found) == 1 else None


def new_phone_problem(auditor: Auditor, new_phone: str) -> str | None:
    """Why `new_phone` cannot be this auditor's login, or None."""
    number = normalise_phone(new_phone)
    if not is_mobile_number(number):
        return NOT_A_MOBILE
    if number == auditor.phone:
        return SAME_PHONE
    other = db.session.scalar(db.select(Auditor.id).filter_by(phone=number))
    if other is not None and other != auditor.id:
        return PHONE_TAKEN
    return None


def change_phone(auditor: Auditor, new_phone: str, code: str, *, settings, now) -> CodedChange:
    """§4.3 step 2: the new number, proved by the code sent to it. When the auditor's body
    approves changes (services.phone_changes) the change is held as a request (`held`) and
    the account is untouched; otherwise it applies and every session of the account ends
    (the login itself changed)."""
    from . import phone_changes

    number = normalise_phone(new_phone)
    problem = new_phone_problem(auditor, number)
    if problem:
        return CodedChange((problem,))
    outcome = verification.check_code(number, "change_phone", code, settings=settings, now=now,
                                      auditor_id=auditor.id)
    if not outcome.ok:
        return CodedChange((WRONG_CODE,), outcome)
    if phone_changes.approval_needed(auditor):
        return CodedChange(held=phone_changes.hold(auditor, number, now=now))
    phone_changes.applied_at_once(auditor, now=now)
    auditor.phone = number
    auditor.session_version = (auditor.session_version or 0) + 1
    try:
        db.session.commit()
    except IntegrityError:  # another account took the number a moment ago
        db.session.rollback()
        return CodedChange((PHONE_TAKEN,))
    return CodedChange()


# --- R1 personal page: the avatar ------------------------------------------------------------

def set_avatar(auditor: Auditor, data: bytes | None, *, store, limits, size: int, now):
    """The auditor's new avatar: the same checks as a photo (type from the bytes, then
    services.imaging: shape from the header before decoding, a full decode), re-encoded as a
    square JPEG of `size` px without EXIF. Returns the auditor, or a photos.Refusal with
    nothing changed. The old avatar file is removed once the new one is in place."""
    from ..domain.image_format import sniff_format
    from ..storage import new_avatar_key
    from . import imaging, photos

    if data is None:
        return photos.Refusal("no_file")
    if not data:
        return photos.Refusal("empty")
    if len(data) > limits.max_bytes:
        return photos.Refusal("too_large", {"size_mb": round(len(data) / 1024 / 1024, 1),
                                            "limit_mb": round(limits.max_bytes / 1024 / 1024)})
    fmt = sniff_format(data)
    if fmt is None:
        return photos.Refusal("unsupported_type")
    # Upright, cropped to a square, EXIF and XMP gone, made in the bounded decoder.
    made = imaging.make(data, fmt, limits.picture, (("square", size),))
    if isinstance(made, photos.Refusal):
        return made
    (avatar,) = made.copies

    old_key = auditor.avatar_key
    key = new_avatar_key()
    store.save(key, avatar)
    auditor.avatar_key = key
    auditor.avatar_updated_at = now
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        store.delete(key)
        return photos.Refusal("try_again")
    if old_key and old_key != key:
        try:
            store.delete(old_key)
        except (OSError, ValueError):  # the orphan sweep takes it later
            pass
    return auditor
