"""Staff accounts of the management end (R18): creating them, logging in with a password
and a second factor, and an admin's changes to their body's staff. Every change writes
the audit log in the same transaction. Passwords follow R1 exactly as auditors' do: the
rule of domain.passwords and the hashing and checks of services.accounts."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Optional

from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..domain import clock, staff as rules
from ..domain.passwords import password_problems
from ..extensions import db
from ..models import Agency, Staff, StaffRecoveryCode
from . import accounts, audit
from .audit import Actor


class StaffRefused(Exception):
    """A change refused, with a code the web layer or the CLI words; nothing changed."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def new_initial_password() -> str:
    """A random password that meets R1's rule (the holder must change it at first login)."""
    while True:
        candidate = secrets.token_urlsafe(9) + "#" + str(secrets.randbelow(10))
        if not password_problems(candidate):
            return candidate


def find_agency(code: str) -> Optional[Agency]:
    return db.session.scalar(db.select(Agency).filter_by(code=code.strip()))


def staff_by_phone(phone: str) -> Optional[Staff]:
    number = accounts.normalise_phone(phone)
    if not accounts.is_mobile_number(number):
        return None
    return db.session.scalar(db.select(Staff).filter_by(phone=number))


def _snapshot(person: Staff) -> dict:
    return {"phone": person.phone, "name": person.name, "role": person.role, "disabled": bool(person.disabled)}


def create_staff(agency: Optional[Agency], phone: str, name: str, role: str, *, by: Actor) -> tuple[Staff, str]:
    """A new staff member of `agency` with an initial password (returned, shown once); the
    regulator (role "regulator") with no agency. Refused: "not_a_mobile", "empty_name",
    "name_too_long", "unknown_role", "phone_taken"."""
    number = accounts.normalise_phone(phone)
    name = " ".join((name or "").split())
    if not accounts.is_mobile_number(number):
        raise StaffRefused("not_a_mobile")
    if not name:
        raise StaffRefused("empty_name")
    if len(name) > 100:
        raise StaffRefused("name_too_long")
    if role not in {r.value for r in rules.Role} or (role == rules.Role.REGULATOR.value) != (agency is None):
        raise StaffRefused("unknown_role")
    if db.session.scalar(db.select(Staff.id).filter_by(phone=number)) is not None:
        raise StaffRefused("phone_taken")
    password = new_initial_password()
    person = Staff(agency_id=agency.id if agency else None, phone=number, name=name, role=role,
                   password_hash=generate_password_hash(password), must_change_password=True)
    db.session.add(person)
    try:
        db.session.flush()
        audit.record(by, "staff_created", target=f"staff:{person.id}", after=_snapshot(person))
        db.session.commit()
    except IntegrityError:  # the same number added a moment ago
        db.session.rollback()
        raise StaffRefused("phone_taken") from None
    return person, password


# --- logging in --------------------------------------------------------------------------------

@dataclass(frozen=True)
class PasswordCheck:
    staff: Optional[Staff]
    refused: Optional[str] = None  # "wrong" or "disabled"


def check_password(phone: str, password: str, *, address: str) -> PasswordCheck:
    """Step one of a login. An unknown number costs a password check like a known one
    (accounts' dummy hash) and gets the same answer as a wrong password; a disabled
    account is named only to whoever knows its password. Logged either way."""
    number = accounts.normalise_phone(phone)
    person = staff_by_phone(number)
    if person is None:
        check_password_hash(accounts._dummy_hash(), password)
        audit.record(Actor(None, None, number[:40] or "-", address), "login_failed")
        db.session.commit()
        return PasswordCheck(None, "wrong")
    actor = audit.actor_for(person, address)
    if not check_password_hash(person.password_hash, password):
        audit.record(actor, "login_failed")
        db.session.commit()
        return PasswordCheck(None, "wrong")
    if person.disabled:
        audit.record(actor, "login_refused_disabled")
        db.session.commit()
        return PasswordCheck(None, "disabled")
    return PasswordCheck(person)


def change_password(person: Staff, current: str, new: str, *, address: str) -> accounts.PasswordChange:
    """R1's change (accounts.change_password: same checks, hashing, session version)."""
    actor = audit.actor_for(person, address)
    result = accounts.change_password(person, current, new)
    audit.record(actor, "password_changed" if result.ok else "password_change_failed",
                 after=None if result.ok else {"refused": list(result.errors)})
    db.session.commit()
    return result


def set_up_second_factor(person: Staff, secret: str, code: str, *, now: float, address: str) -> Optional[list[str]]:
    """Keep `secret` as the account's TOTP secret once `code` proves the app has it; returns
    the new recovery codes (shown once), or None with nothing changed."""
    step = rules.accepted_step(secret, code, now=now, last_step=None)
    actor = audit.actor_for(person, address)
    if step is None:
        audit.record(actor, "second_factor_failed", after={"during": "set_up"})
        db.session.commit()
        return None
    person.totp_secret = secret
    person.totp_last_step = step
    codes = _replace_recovery_codes(person)
    audit.record(actor, "second_factor_set_up")
    db.session.commit()
    return codes


def _replace_recovery_codes(person: Staff) -> list[str]:
    codes = rules.new_recovery_codes()
    person.recovery_codes.clear()
    person.recovery_codes.extend(StaffRecoveryCode(code_hash=rules.recovery_code_hash(code)) for code in codes)
    return codes


def renew_recovery_codes(person: Staff, *, address: str) -> list[str]:
    codes = _replace_recovery_codes(person)
    audit.record(audit.actor_for(person, address), "recovery_codes_renewed")
    db.session.commit()
    return codes


def check_second_factor(person: Staff, code: str, *, now: float, address: str) -> Optional[str]:
    """Step two of a login: "totp" or "recovery" when `code` is right (the TOTP step or the
    recovery code is used up), None when not (logged; the caller counts the failure)."""
    actor = audit.actor_for(person, address)
    if person.totp_secret:
        step = rules.accepted_step(person.totp_secret, code, now=now, last_step=person.totp_last_step)
        if step is not None:
            person.totp_last_step = step
            _logged_in(person, actor)
            return "totp"
    if rules.looks_like_recovery_code(code):
        wanted = rules.recovery_code_hash(code)
        for item in person.recovery_codes:
            if item.used_at is None and secrets.compare_digest(item.code_hash, wanted):
                item.used_at = clock.now()
                left = sum(1 for other in person.recovery_codes if other.used_at is None)
                audit.record(actor, "recovery_code_used", after={"codes_left": left})
                _logged_in(person, actor)
                return "recovery"
    audit.record(actor, "second_factor_failed", after={"during": "login"})
    db.session.commit()
    return None


def _logged_in(person: Staff, actor: Actor) -> None:
    person.last_login_at = clock.now()
    audit.record(actor, "login")
    db.session.commit()


def recovery_codes_left(person: Staff) -> int:
    return sum(1 for item in person.recovery_codes if item.used_at is None)


def note(person: Staff, action: str, *, address: str) -> None:
    """An entry with no change of its own (logout, a session that expired)."""
    audit.record(audit.actor_for(person, address), action)
    db.session.commit()


# --- an admin's changes to their body's staff ----------------------------------------------------

def _admin_change(admin: Staff, person: Staff, action: str, change, *, address: str) -> None:
    if person.id == admin.id:
        raise StaffRefused("not_yourself")  # nobody locks their own body out of the console
    before = _snapshot(person)
    change()
    person.session_version = (person.session_version or 0) + 1  # their open sessions end
    audit.record(audit.actor_for(admin, address), action, target=f"staff:{person.id}",
                 before=before, after=_snapshot(person))
    db.session.commit()


def change_role(admin: Staff, person: Staff, role: str, *, address: str) -> None:
    if role not in {r.value for r in rules.Role} or role == rules.Role.REGULATOR.value:
        raise StaffRefused("unknown_role")
    if role == person.role:
        return
    _admin_change(admin, person, "staff_role_changed", lambda: setattr(person, "role", role), address=address)


def set_disabled(admin: Staff, person: Staff, disabled: bool, *, address: str) -> None:
    if bool(person.disabled) == disabled:
        return
    _admin_change(admin, person, "staff_disabled" if disabled else "staff_enabled",
                  lambda: setattr(person, "disabled", disabled), address=address)


def reset(admin: Staff, person: Staff, *, address: str) -> str:
    """A new initial password (returned, shown once) and the second factor cleared: the
    holder sets both up again at the next login."""
    password = new_initial_password()

    def change():
        person.password_hash = generate_password_hash(password)
        person.must_change_password = True
        person.totp_secret = None
        person.totp_last_step = None
        person.recovery_codes.clear()

    _admin_change(admin, person, "staff_reset", change, address=address)
    return password


def body_staff(agency_id: int) -> list[Staff]:
    return list(db.session.scalars(db.select(Staff).filter_by(agency_id=agency_id).order_by(Staff.name, Staff.id)))


# --- the body's profile ---------------------------------------------------------------------------

def update_contact(person: Staff, agency: Agency, *, name: str, phone: str, email: str, address: str) -> None:
    """The contact person the regulator asks for (R18). Validated by the form."""
    before = {"contact_name": agency.contact_name, "contact_phone": agency.contact_phone,
              "contact_email": agency.contact_email}
    agency.contact_name, agency.contact_phone, agency.contact_email = name, phone, email
    after = {"contact_name": name, "contact_phone": phone, "contact_email": email}
    if after == before:
        return
    audit.record(audit.actor_for(person, address), "profile_changed", target=f"agency:{agency.id}",
                 before=before, after=after)
    db.session.commit()
