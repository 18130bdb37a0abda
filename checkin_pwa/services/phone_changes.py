"""Changes of an auditor's login number held for the body's approval (R18). While the body's
`Agency.phone_change_approval` is on (the default), a change the auditor proved with a code
(R1 §4.3: name and ID, then a code to the new number) becomes a pending request; the
auditor keeps logging in with the old number until a staff member (manager or admin) of
the body approves it. A later request replaces a pending one. Each decision and each
change of the setting is in the audit log, in the same transaction."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Optional

from flask import current_app
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError

from ..domain import clock
from ..domain.codes import mask_phone
from ..domain.filters import page_within
from ..extensions import db
from ..models import Agency, Auditor, PhoneChangeRequest, Staff
from . import audit
from .sms import sender_for

PENDING, APPROVED, REFUSED, REPLACED = "pending", "approved", "refused", "replaced"
PER_PAGE = 25
REASON_MAX = 200


class PhoneChangeRefused(Exception):
    """A decision refused, with a code the console words (console/words.py); nothing changed."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# --- the auditor's side ---------------------------------------------------------------------------

def approval_needed(auditor: Auditor) -> bool:
    """True when a change of this auditor's login number waits for their body (an account
    of no body has nobody to approve it: it applies at once, as before)."""
    return auditor.agency is not None and bool(auditor.agency.phone_change_approval)


def pending_for(auditor: Auditor) -> Optional[PhoneChangeRequest]:
    return db.session.scalar(db.select(PhoneChangeRequest).filter_by(auditor_id=auditor.id, state=PENDING)
                             .order_by(PhoneChangeRequest.id.desc()).limit(1))


def _replace_pending(auditor: Auditor, now) -> Optional[PhoneChangeRequest]:
    """Mark the auditor's pending requests replaced; the latest of them, or None."""
    earlier = list(db.session.scalars(db.select(PhoneChangeRequest)
                                      .filter_by(auditor_id=auditor.id, state=PENDING)
                                      .order_by(PhoneChangeRequest.id)))
    for row in earlier:
        row.state, row.decided_at = REPLACED, now
    return earlier[-1] if earlier else None


@dataclass(frozen=True)
class Held:
    request: PhoneChangeRequest
    replaced: Optional[PhoneChangeRequest]  # the earlier pending request it took the place of


def hold(auditor: Auditor, new_phone: str, *, now) -> Held:
    """A pending request for `new_phone` (already checked and proved); the account itself
    is not touched, so every session and the old login go on. Committed."""
    now = clock.as_utc(now)
    replaced = _replace_pending(auditor, now)
    row = PhoneChangeRequest(agency_id=auditor.agency_id, auditor_id=auditor.id, old_phone=auditor.phone,
                             new_phone=new_phone, requested_at=now, state=PENDING)
    db.session.add(row)
    db.session.commit()
    return Held(row, replaced)


def applied_at_once(auditor: Auditor, *, now) -> None:
    """A change applied without approval makes any pending request moot (the caller commits)."""
    _replace_pending(auditor, clock.as_utc(now))


def outcome_to_show(auditor: Auditor, *, now) -> Optional[PhoneChangeRequest]:
    """The latest decision on the auditor's requests they have not been shown yet (marked
    shown now, committed), or None."""
    unseen = list(db.session.scalars(db.select(PhoneChangeRequest)
                                     .where(PhoneChangeRequest.auditor_id == auditor.id,
                                            PhoneChangeRequest.state.in_((APPROVED, REFUSED)),
                                            PhoneChangeRequest.outcome_seen_at.is_(None))
                                     .order_by(PhoneChangeRequest.decided_at, PhoneChangeRequest.id)))
    if not unseen:
        return None
    for row in unseen:
        row.outcome_seen_at = clock.as_utc(now)
    db.session.commit()
    return unseen[-1]


# --- the console's side ---------------------------------------------------------------------------

def pending_count(agency_id: int) -> int:
    return db.session.scalar(db.select(func.count(PhoneChangeRequest.id))
                             .filter_by(agency_id=agency_id, state=PENDING)) or 0


@dataclass(frozen=True)
class RequestPage:
    rows: list[PhoneChangeRequest]
    page: int
    pages: int
    total: int


def pending_page(agency_id: int, page: int, *, per_page: int = PER_PAGE) -> RequestPage:
    """One page of the body's pending requests, oldest first (paginated in the database)."""
    total = pending_count(agency_id)
    at = page_within(page, total, per_page)
    rows = db.session.scalars(db.select(PhoneChangeRequest).filter_by(agency_id=agency_id, state=PENDING)
                              .order_by(PhoneChangeRequest.requested_at, PhoneChangeRequest.id)
                              .limit(per_page).offset(at.offset)).all()
    return RequestPage(list(rows), at.number, at.pages, total)


def _target(row: PhoneChangeRequest) -> str:
    return f"auditor:{row.auditor_id} {row.auditor.name}"


def _decidable(row: PhoneChangeRequest) -> Auditor:
    """The request's auditor if the request can still be decided: pending, and the account
    still of the request's body with the number it was asked from."""
    if row.state != PENDING:
        raise PhoneChangeRefused("not_pending")
    person = row.auditor
    if person.agency_id != row.agency_id or person.phone != row.old_phone:
        raise PhoneChangeRefused("account_changed")
    return person


def _signature() -> str:
    return current_app.config.get("SMS_SIGNATURE") or "认证到"


def approved_text(new_phone: str, signature: str) -> str:
    """The SMS, in Chinese as every SMS to a mainland number."""
    return (f"【{signature}】您的登录手机号变更申请已获所在认证机构批准，"
            f"请使用本号码{mask_phone(new_phone)}登录，原号码不再能登录。")


def refused_text(new_phone: str, reason: str, signature: str) -> str:
    why = f"原因：{reason}。" if reason else ""
    return (f"【{signature}】您将登录手机号修改为{mask_phone(new_phone)}的申请未获所在认证机构批准。{why}"
            f"请继续使用本号码登录；如有疑问请联系您的认证机构。")


def _tell(phone: str, text: str) -> bool:
    """Best effort: the decision stands without the text (the auditor also sees it at the
    next login). False when the gateway did not accept it."""
    try:
        sender_for(current_app).send(phone, text)
    except Exception:  # SmsError or any gateway failure
        current_app.logger.warning("SMS about a phone change decision to %s not accepted", phone, exc_info=True)
        return False
    return True


def _claim(row: PhoneChangeRequest, state: str, by: Staff, reason: Optional[str] = None) -> None:
    """Decide the request in the database only if it is still pending there, so two staff
    deciding at once make one decision (and one log entry); else "not_pending"."""
    claimed = db.session.execute(
        db.update(PhoneChangeRequest)
        .where(PhoneChangeRequest.id == row.id, PhoneChangeRequest.state == PENDING)
        .values(state=state, decided_at=clock.now(), decided_by_id=by.id, reason=reason)).rowcount
    if claimed != 1:
        db.session.rollback()
        raise PhoneChangeRefused("not_pending")


def approve(by: Staff, row: PhoneChangeRequest, *, address: str) -> bool:
    """The auditor's login becomes the new number (every session of the account ends) and
    they are told by SMS at it. Refused, nothing changed: "not_pending", "account_changed",
    "number_taken" (another account has the number since the request). Returns whether the
    SMS was accepted."""
    person = _decidable(row)
    taken = db.session.scalar(db.select(Auditor.id).where(Auditor.phone == row.new_phone, Auditor.id != person.id))
    if taken is not None:
        raise PhoneChangeRefused("number_taken")
    before = {"phone": person.phone, "request": PENDING, "requested_phone": row.new_phone}
    _claim(row, APPROVED, by)
    person.phone = row.new_phone
    person.session_version = (person.session_version or 0) + 1
    audit.record(audit.actor_for(by, address), "phone_change_approved", target=_target(row),
                 before=before, after={"phone": person.phone, "request": APPROVED, "sms_to": person.phone})
    try:
        db.session.commit()
    except IntegrityError:  # the unique login: another account took the number a moment ago
        db.session.rollback()
        raise PhoneChangeRefused("number_taken") from None
    return _tell(person.phone, approved_text(person.phone, _signature()))


def refuse(by: Staff, row: PhoneChangeRequest, reason: str, *, address: str) -> bool:
    """The request is refused (the login stays); the auditor is told by SMS at their
    login number, with the reason if one was given. Refused: "not_pending"."""
    if row.state != PENDING:
        raise PhoneChangeRefused("not_pending")
    reason = " ".join((reason or "").split())[:REASON_MAX]
    person = row.auditor
    _claim(row, REFUSED, by, reason or None)
    audit.record(audit.actor_for(by, address), "phone_change_refused", target=_target(row),
                 before={"phone": person.phone, "request": PENDING, "requested_phone": row.new_phone},
                 after={"phone": person.phone, "request": REFUSED, "reason": reason, "sms_to": person.phone})
    db.session.commit()
    return _tell(person.phone, refused_text(row.new_phone, reason, _signature()))


def set_approval(by: Staff, agency: Agency, on: bool, *, address: str) -> bool:
    """The body's setting (an administrator's); False when it already was so. Pending
    requests stay to be decided when it is turned off."""
    if bool(agency.phone_change_approval) == on:
        return False
    before = {"phone_change_approval": bool(agency.phone_change_approval)}
    agency.phone_change_approval = on
    audit.record(audit.actor_for(by, address), "profile_changed", target=f"agency:{agency.id}",
                 before=before, after={"phone_change_approval": on})
    db.session.commit()
    return True
