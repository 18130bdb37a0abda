"""Throttling with Flask-Limiter, for both ends: whom an attempt counts against (account,
address, trusted browser), the failed-attempt limits of the password forms and the code
sends, and the one sentence a throttled person reads.

Only failed attempts count. A limit with `deduct_when` is *tested* before the view runs (so
once it is full even the right password is refused, with a 429) and *deducted* after the
response only when deduct_when says so; the view marks a failure with note_failed_attempt().
The counts live in the limiter's own storage (shared between workers via
RATELIMIT_STORAGE_URI), with no hand-made counters. The account limit is one shared scope for
/login and /password, so guessing the current password on the change page uses up the same
budget. At the login form, a browser trusted for the typed account (devices.py) is counted
on its own instead: strangers who fill the account's and the address's budgets cannot keep
the auditor's own phone out. A reset by SMS code empties the account's budget.
"""
from __future__ import annotations

import math

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse as parse_limit

from ..extensions import client_address, limiter
from ..services import accounts
from . import devices


def account_key(phone: str | None = None) -> str:
    """The account an attempt is against: the number typed at login, or the logged-in
    auditor's own number on the change-password page. Unknown numbers count too, so a
    refusal never tells whether an account exists."""
    if phone is None and request.endpoint in ("auth.change_password", "account.change_password") \
            and current_user.is_authenticated:
        phone = current_user.phone
    return "account:" + (phone if phone is not None else accounts.normalise_phone(request.form.get("phone")))


def address_key() -> str:
    return "address:" + client_address()


def note_failed_attempt() -> None:
    """This request's attempt failed: the limits with deduct_when=attempt_failed count it."""
    g.failed_attempt = True


def attempt_failed(response) -> bool:
    return g.get("failed_attempt", False)


_per_account = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], scope="login-account",
    key_func=account_key, methods=["POST"], deduct_when=attempt_failed,
    exempt_when=devices.trusted_for_typed_phone,
)
_per_address = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], scope="login-address",
    key_func=address_key, methods=["POST"], deduct_when=attempt_failed,
    exempt_when=devices.trusted_for_typed_phone,
)
_per_device = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_DEVICE"], scope="login-device",
    key_func=devices.device_key, methods=["POST"], deduct_when=attempt_failed,
    exempt_when=lambda: not devices.trusted_for_typed_phone(),
)


def count_failed_attempts(view):
    """Throttle failed POSTs of this view per account and per address, or per trusted
    browser (see above)."""
    return _per_account(_per_address(_per_device(view)))


# Asking for codes from one address, whatever the number (no SMS pumping); every request counts.
code_sends = limiter.shared_limit(
    lambda: current_app.config["CODE_SEND_LIMIT_PER_ADDRESS"], scope="code-send-address",
    key_func=address_key, methods=["POST"],
)


def forget_failures(phone: str) -> None:
    """The account's failed logins are forgotten (a reset proved the phone), and so are
    this browser's own."""
    config = current_app.config
    limiter.limiter.clear(parse_limit(config["LOGIN_LIMIT_PER_ACCOUNT"]), account_key(phone), "login-account")
    limiter.limiter.clear(parse_limit(config["LOGIN_LIMIT_PER_DEVICE"]), devices.device_key(), "login-device")


def throttled_message(limits=("LOGIN_LIMIT_PER_ACCOUNT", "LOGIN_LIMIT_PER_ADDRESS", "LOGIN_LIMIT_PER_DEVICE")) -> str:
    # One message whichever limit was reached: the longest window of `limits` (config names).
    seconds = max(parse_limit(current_app.config[name]).get_expiry() for name in limits)
    return _("Too many failed attempts. For the account's safety, try again in %(minutes)s minutes.",
             minutes=max(1, math.ceil(seconds / 60)))
