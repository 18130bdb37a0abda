"""SMS verification codes (R1 §4.1-4.3): send one, check one. The rules are in domain.codes;
here they meet the VerificationCode table and the SmsSender. No Flask request: callers pass
the number, the purpose, the configuration and `now` (naive UTC or aware).

Rows are kept after use: they are the sending record the resend limits count. A code whose
sending failed is not kept (and does not count).
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from sqlalchemy import select, update

from ..domain import clock, codes
from ..extensions import db
from ..models import VerificationCode
from .sms import SmsSender

log = logging.getLogger(__name__)

# Outcome codes the web layer words.
SENT = "sent"
WAIT = "wait"  # with a Wait reason and seconds
SEND_FAILED = "send_failed"
OK = "ok"
NO_CODE = "no_code"
EXPIRED = "expired"
DEAD = "dead"
WRONG = "wrong"

PURPOSE_WORDS = {
    "change_password": "修改密码",
    "reset_password": "找回密码",
    "change_phone": "修改登录手机号",
}


@dataclass(frozen=True)
class Settings:
    secret_key: str
    ttl: dt.timedelta = codes.CODE_TTL
    max_tries: int = codes.MAX_TRIES
    policy: codes.Policy = codes.Policy()
    signature: str = "认证到"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "Settings":
        return cls(
            secret_key=config["SECRET_KEY"],
            ttl=dt.timedelta(seconds=int(config.get("CODE_TTL_S", 300))),
            max_tries=int(config.get("CODE_MAX_TRIES", codes.MAX_TRIES)),
            policy=codes.Policy(
                resend_after=dt.timedelta(seconds=int(config.get("CODE_RESEND_S", 60))),
                per_hour=int(config.get("CODE_MAX_PER_HOUR", 5)),
                per_day=int(config.get("CODE_MAX_PER_DAY", 10)),
            ),
            signature=config.get("SMS_SIGNATURE") or "认证到",
        )


@dataclass(frozen=True)
class Outcome:
    code: str
    wait: codes.Wait = codes.Wait.NONE
    seconds: int = 0
    tries_left: int = 0

    @property
    def ok(self) -> bool:
        return self.code in (SENT, OK)


def message_text(code: str, purpose: str, settings: Settings) -> str:
    """The SMS, in Chinese as every SMS to a mainland number (gateways want the signature)."""
    minutes = max(1, int(settings.ttl.total_seconds() // 60))
    return (f"【{settings.signature}】您的验证码是{code}，用于{PURPOSE_WORDS.get(purpose, '身份验证')}，"
            f"{minutes}分钟内有效。请勿告诉他人；如非本人操作，请忽略本短信。")


def send_code(phone: str, purpose: str, *, sender: Optional[SmsSender], settings: Settings,
              now: dt.datetime, auditor_id: Optional[int] = None) -> Outcome:
    """A new code for `purpose` to `phone`, within the resend limits.

    `sender=None` records the sending without sending anything: forgot-password for a number
    with no account answers exactly as for one with an account (the same limits, the same
    words) and nobody receives a text. A new code replaces the older unused ones of the
    same number and purpose.
    """
    if purpose not in codes.PURPOSES:
        raise ValueError(purpose)
    now = clock.as_utc(now)
    since = now - dt.timedelta(days=1)
    sent = db.session.execute(
        select(VerificationCode.created_at, VerificationCode.purpose)
        .where(VerificationCode.phone == phone, VerificationCode.created_at > since)
    ).all()
    verdict = codes.resend_wait([(row.created_at, row.purpose) for row in sent], purpose, now, settings.policy)
    if not verdict.allowed:
        return Outcome(WAIT, verdict.reason, verdict.seconds)

    code = codes.new_code()
    row = VerificationCode(phone=phone, purpose=purpose, auditor_id=auditor_id,
                           code_hash=codes.hash_code(settings.secret_key, code),
                           created_at=now, expires_at=now + settings.ttl, tries=0)
    if sender is not None:
        try:
            sender.send(phone, message_text(code, purpose, settings))
        except Exception:  # any gateway trouble: no code kept, the auditor tries later
            log.warning("SMS to %s not sent", phone, exc_info=True)
            return Outcome(SEND_FAILED)
    # The older unused codes of this number and purpose stop working ("used": replaced).
    db.session.execute(
        update(VerificationCode)
        .where(VerificationCode.phone == phone, VerificationCode.purpose == purpose,
               VerificationCode.used_at.is_(None))
        .values(used_at=now)
    )
    db.session.add(row)
    db.session.commit()
    return Outcome(SENT, seconds=int(settings.policy.resend_after.total_seconds()))


def _latest(phone: str, purpose: str) -> Optional[VerificationCode]:
    return db.session.scalars(
        select(VerificationCode)
        .where(VerificationCode.phone == phone, VerificationCode.purpose == purpose)
        .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc())
    ).first()


def check_code(phone: str, purpose: str, typed: Optional[str], *, settings: Settings, now: dt.datetime,
               auditor_id: Optional[int] = None, consume: bool = True) -> Outcome:
    """Whether `typed` is the live code last sent to `phone` for `purpose` (and, when
    given, for that auditor). A wrong try counts; the MAX_TRIES-th wrong one kills the code;
    a right one is used up (`consume`), so it never works twice. Committed here."""
    now = clock.as_utc(now)
    row = _latest(phone, purpose)
    if row is None or (auditor_id is not None and row.auditor_id not in (None, auditor_id)):
        return Outcome(NO_CODE)
    found = codes.state(created_at=row.created_at, used_at=row.used_at, tries=row.tries, now=now,
                        ttl=settings.ttl, max_tries=settings.max_tries)
    if found is codes.CodeState.USED:
        return Outcome(NO_CODE)
    if found is codes.CodeState.DEAD:
        return Outcome(DEAD)
    if found is codes.CodeState.EXPIRED:
        return Outcome(EXPIRED)
    right = codes.code_matches(settings.secret_key, row.code_hash, typed)
    if auditor_id is not None and row.auditor_id != auditor_id:
        right = False  # a code recorded without an account (see send_code) proves nothing
    if not right:
        # In the database, not in Python: two wrong tries at once both count.
        db.session.execute(update(VerificationCode).where(VerificationCode.id == row.id)
                           .values(tries=VerificationCode.tries + 1))
        db.session.commit()
        db.session.refresh(row)
        left = settings.max_tries - row.tries
        return Outcome(DEAD) if left <= 0 else Outcome(WRONG, tries_left=left)
    if consume:
        # One use: of two requests with the same code, only the one that marks it wins.
        done = db.session.execute(
            update(VerificationCode)
            .where(VerificationCode.id == row.id, VerificationCode.used_at.is_(None),
                   VerificationCode.tries < settings.max_tries)
            .values(used_at=now)
        )
        db.session.commit()
        if done.rowcount != 1:
            return Outcome(NO_CODE)
    return Outcome(OK)
