"""A body's auditors on the management end (R18): the list its staff search, and their
changes to an account: disable and enable, reset to an initial password (sent by SMS),
lift a login restriction. An auditor belongs to the body of `Auditor.agency_id` (set by
the plan import). Every change writes the audit log in the same transaction."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Optional

from flask import current_app
from limits import parse as parse_limit
from sqlalchemy import and_, exists, func, literal, or_
from werkzeug.security import generate_password_hash

from ..domain.auditors import AuditorState, masked_id_number, state_of
from ..domain.filters import page_within
from ..extensions import db, limiter
from ..models import AuditPlan, Auditor, RateLimitCounter, Staff, TeamMember
from . import audit
from .sms import sender_for
from .staff import new_initial_password

PER_PAGE = 25
_SCOPE = "login-account"  # the login throttle's per-account scope (blueprints.auth.routes)
_PLACEHOLDER = "\x00"


class AuditorRefused(Exception):
    """A change refused, with a code the web layer words; nothing changed."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- the login throttle's per-account counter ------------------------------------------------

def _login_limit():
    return parse_limit(current_app.config["LOGIN_LIMIT_PER_ACCOUNT"])


def _account_key(phone: str) -> str:
    from ..throttling import account_key as key  # one definition of the key

    return key(phone)


def login_restricted(phone: str) -> bool:
    """True while failed logins have filled the account's budget (the login answers 429)."""
    return not limiter.limiter.test(_login_limit(), _account_key(phone), _SCOPE)


def _restricted_clause():
    """SQL: the auditor's counter row in rate_limit_counter is full (RATELIMIT_STORAGE_URI
    database://), for filtering the list in the database."""
    limit = _login_limit()
    before, after = limit.key_for(_account_key(_PLACEHOLDER), _SCOPE).split(_PLACEHOLDER)
    return exists().where(RateLimitCounter.bucket == literal(before) + Auditor.phone + literal(after),
                          RateLimitCounter.hits >= limit.amount, RateLimitCounter.expires_at > time.time())


# --- the list ------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditorFilter:
    q: str = ""
    state: Optional[str] = None  # an AuditorState value


@dataclass(frozen=True)
class AuditorRow:
    auditor: Auditor
    state: AuditorState
    id_masked: str
    plans_this_month: int


@dataclass(frozen=True)
class AuditorPage:
    rows: list[AuditorRow]
    page: int
    pages: int
    total: int


def _query(agency_id: int, wanted: AuditorFilter):
    query = db.select(Auditor).where(Auditor.agency_id == agency_id)
    words = wanted.q.split()[:5]
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Auditor.name.like(pattern, escape="\\"), Auditor.phone.like(pattern, escape="\\"),
                                Auditor.id_number.like(pattern, escape="\\")))
    state = wanted.state
    if state == AuditorState.DISABLED.value:
        query = query.where(Auditor.disabled.is_(True))
    elif state == AuditorState.RESTRICTED.value:
        query = query.where(Auditor.disabled.is_(False), _restricted_clause())
    elif state == AuditorState.FIRST_LOGIN.value:
        query = query.where(Auditor.disabled.is_(False), Auditor.must_change_password.is_(True),
                            ~_restricted_clause())
    elif state == AuditorState.ACTIVE.value:
        query = query.where(Auditor.disabled.is_(False), Auditor.must_change_password.is_(False),
                            ~_restricted_clause())
    return query


def plans_in(auditor_ids: list[int], since_utc: dt.datetime, until_utc: dt.datetime) -> dict[int, int]:
    """How many plans starting in [since, until) each auditor is on the team of."""
    if not auditor_ids:
        return {}
    rows = db.session.execute(
        db.select(TeamMember.auditor_id, func.count(TeamMember.plan_id))
        .join(AuditPlan, AuditPlan.id == TeamMember.plan_id)
        .where(TeamMember.auditor_id.in_(auditor_ids),
               and_(AuditPlan.start_utc >= since_utc, AuditPlan.start_utc < until_utc))
        .group_by(TeamMember.auditor_id))
    return {auditor_id: count for auditor_id, count in rows}


def row_for(person: Auditor, plans_this_month: int = 0) -> AuditorRow:
    restricted = not person.disabled and login_restricted(person.phone)
    return AuditorRow(person, state_of(disabled=bool(person.disabled), restricted=restricted,
                                       must_change_password=bool(person.must_change_password)),
                      masked_id_number(person.id_number), plans_this_month)


def page_of(agency_id: int, wanted: AuditorFilter, page: int, *, month: tuple[dt.datetime, dt.datetime],
            per_page: int = PER_PAGE) -> AuditorPage:
    """One page of the body's auditors by name (paginated in the database); `month` is the
    body's current month as UTC bounds."""
    query = _query(agency_id, wanted)
    total = db.session.scalar(db.select(func.count()).select_from(query.subquery())) or 0
    at = page_within(page, total, per_page)
    people = list(db.session.scalars(query.order_by(Auditor.name, Auditor.id)
                                     .limit(per_page).offset(at.offset)))
    counts = plans_in([person.id for person in people], *month)
    return AuditorPage([row_for(person, counts.get(person.id, 0)) for person in people], at.number, at.pages, total)


# --- a staff member's changes ----------------------------------------------------------------

def _snapshot(person: Auditor) -> dict:
    return {"phone": person.phone, "name": person.name, "disabled": bool(person.disabled),
            "must_change_password": bool(person.must_change_password)}


def _target(person: Auditor) -> str:
    return f"auditor:{person.id} {person.name}"


def set_disabled(by: Staff, person: Auditor, disabled: bool, *, address: str) -> bool:
    """Disable (every session of the account ends; no login until enabled) or enable.
    Their plans, team places and records stay. False when it already was so."""
    if bool(person.disabled) == disabled:
        return False
    before = _snapshot(person)
    person.disabled = disabled
    person.session_version = (person.session_version or 0) + 1
    audit.record(audit.actor_for(by, address), "auditor_disabled" if disabled else "auditor_enabled",
                 target=_target(person), before=before, after=_snapshot(person))
    db.session.commit()
    return True


def reset_text(password: str, signature: str) -> str:
    """The SMS, in Chinese as every SMS to a mainland number."""
    return (f"【{signature}】您的审核员账号密码已由认证机构重置，初始密码：{password}。"
            f"请用手机号和此密码登录，登录后须修改密码。如有疑问请联系您的认证机构。")


def reset_password(by: Staff, person: Auditor, *, address: str) -> str:
    """A new initial password, changed at the next login; the auditor's sessions end and
    the password goes to the auditor's phone by SMS. When the SMS is not accepted, nothing
    changes (AuditorRefused("sms_failed")). Returns the password (shown once to the staff)."""
    if person.disabled:
        raise AuditorRefused("disabled")
    password = new_initial_password()
    before = _snapshot(person)
    person.password_hash = generate_password_hash(password)
    person.must_change_password = True
    person.session_version = (person.session_version or 0) + 1
    audit.record(audit.actor_for(by, address), "auditor_password_reset", target=_target(person),
                 before=before, after={**_snapshot(person), "sms_to": person.phone})
    db.session.flush()
    if not _send(person.phone, reset_text(password, current_app.config.get("SMS_SIGNATURE") or "认证到")):
        db.session.rollback()  # the password is not changed
        raise AuditorRefused("sms_failed")
    db.session.commit()
    return password


def lift_restriction(by: Staff, person: Auditor, *, address: str) -> bool:
    """Empty the login throttle's count for the account: the auditor may try again now.
    False (and nothing logged) when the account was not restricted."""
    if not login_restricted(person.phone):
        return False
    limiter.limiter.clear(_login_limit(), _account_key(person.phone), _SCOPE)
    audit.record(audit.actor_for(by, address), "auditor_restriction_lifted", target=_target(person),
                 before={"login_restricted": True}, after={"login_restricted": False})
    db.session.commit()
    return True


# --- adding by hand, editing -------------------------------------------------------------------

def created_text(password: str, signature: str) -> str:
    return (f"【{signature}】认证机构已为您开通审核员账号，初始密码：{password}。"
            f"请用本手机号和此密码登录，登录后须修改密码。")


def _send(phone: str, text: str) -> bool:
    try:
        sender_for(current_app).send(phone, text)
    except Exception:  # SmsError or any gateway failure
        current_app.logger.exception("SMS to a new or reset auditor account not accepted")
        return False
    return True


def create_auditor(by: Staff, *, phone: str, name: str, id_type: str, id_number: str, address: str) -> Auditor:
    """A new auditor of `by`'s body with an initial password sent to the phone by SMS (the
    fields already passed domain.plan_import.auditor_issues). Refused: "auditor_here",
    "auditor_elsewhere" (one body at a time), "sms_failed_new"; nothing is created then."""
    taken = db.session.scalar(db.select(Auditor).filter_by(phone=phone))
    if taken is not None:
        raise AuditorRefused("auditor_here" if taken.agency_id == by.agency_id else "auditor_elsewhere")
    password = new_initial_password()
    person = Auditor(phone=phone, name=name, id_type=id_type, id_number=id_number or None,
                     agency_id=by.agency_id, password_hash=generate_password_hash(password),
                     must_change_password=True)
    db.session.add(person)
    db.session.flush()
    audit.record(audit.actor_for(by, address), "auditor_created", target=_target(person),
                 after={**_snapshot(person), "id_type": id_type, "sms_to": phone})
    if not _send(phone, created_text(password, current_app.config.get("SMS_SIGNATURE") or "认证到")):
        db.session.rollback()
        raise AuditorRefused("sms_failed_new")
    db.session.commit()
    return person


def update_auditor(by: Staff, person: Auditor, *, name: str, id_type: str, id_number: str, address: str) -> bool:
    """Correct the name and ID (the login number is the auditor's own to change, R1 §4.3)."""
    if (name, id_type, id_number or None) == (person.name, person.id_type, person.id_number):
        return False
    # The log keeps ID numbers masked, as the lists show them.
    before = {"name": person.name, "id_type": person.id_type, "id_number": masked_id_number(person.id_number)}
    person.name, person.id_type, person.id_number = name, id_type, id_number or None
    after = {"name": name, "id_type": id_type, "id_number": masked_id_number(id_number)}
    audit.record(audit.actor_for(by, address), "auditor_changed", target=_target(person),
                 before=before, after=after)
    db.session.commit()
    return True
