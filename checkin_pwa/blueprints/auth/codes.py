"""The web side of SMS codes (R1): send one from a route, and word every outcome in the
user's language. Shared by the auth pages (forgot password, change phone) and the personal
page (change password)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Optional

from flask import current_app
from flask_babel import gettext as _

from ...domain import clock
from ...domain.codes import Wait, mask_phone
from ...services import verification
from ...services.sms import sender_for


def settings() -> verification.Settings:
    return verification.Settings.from_config(current_app.config)


@dataclass(frozen=True)
class Sending:
    sent: bool
    message: str
    wait: int = 0  # seconds before the button may be used again (the countdown)


def send(phone: str, purpose: str, *, auditor_id: Optional[int], really: bool = True,
         sent_message: Optional[str] = None) -> Sending:
    """Send a code and say what happened. `really=False` records the sending without a text
    (forgot password for a number with no account: the same answer, nobody receives it)."""
    config = settings()
    outcome = verification.send_code(
        phone, purpose, sender=sender_for(current_app) if really else None, settings=config,
        now=clock.now(), auditor_id=auditor_id,
    )
    if outcome.code == verification.SENT:
        minutes = max(1, int(config.ttl.total_seconds() // 60))
        message = sent_message or _("A verification code was sent to %(phone)s; it is valid for %(minutes)s minutes.",
                                    phone=mask_phone(phone), minutes=minutes)
        return Sending(True, message, outcome.seconds)
    if outcome.code == verification.SEND_FAILED:
        return Sending(False, _("The text message could not be sent. Please try again later."))
    if outcome.wait is Wait.HOURLY:
        message = _("Too many codes for this number in the last hour. Try again in %(seconds)s seconds.",
                    seconds=outcome.seconds)
    elif outcome.wait is Wait.DAILY:
        message = _("Too many codes for this number today. Try again in %(seconds)s seconds.",
                    seconds=outcome.seconds)
    else:
        message = _("A code was just sent. You can ask for another in %(seconds)s seconds.",
                    seconds=outcome.seconds)
    return Sending(False, message, outcome.seconds)


def refusal_text(outcome) -> str:
    """Why a typed code was not taken."""
    code = getattr(outcome, "code", None)
    if code == verification.EXPIRED:
        return _("The verification code has expired. Ask for a new one.")
    if code == verification.DEAD:
        return _("Too many wrong codes: this code no longer works. Ask for a new one.")
    if code == verification.WRONG:
        return _("Wrong verification code. %(n)s tries left.", n=outcome.tries_left)
    return _("Ask for a verification code first, then enter it.")


def notify_phone_changed(old_phone: str, new_phone: str) -> None:
    """A text to the old login number after a change (best effort: the number may be gone,
    which is why it was changed; a failure changes nothing)."""
    _tell_old_number(old_phone, f"【{settings().signature}】您的登录手机号已修改为{mask_phone(new_phone)}。"
                                f"如非本人操作，请立即联系所在认证机构。")


def notify_phone_change_requested(old_phone: str, new_phone: str) -> None:
    """A text to the login number when a change of it waits for the body's approval: its
    owner can still stop a change they did not ask for (best effort, as above)."""
    _tell_old_number(old_phone, f"【{settings().signature}】已申请将您的登录手机号修改为{mask_phone(new_phone)}，"
                                f"待所在认证机构批准；批准前请继续使用本号码登录。如非本人操作，请立即联系所在认证机构。")


def _tell_old_number(old_phone: str, text: str) -> None:
    try:
        sender_for(current_app).send(old_phone, text)
    except Exception:
        logging.getLogger(__name__).warning("notice of a phone change to %s not sent", old_phone, exc_info=True)
