"""Trusted browsers ("device cookies", as OWASP calls them): the lockout of an account
stops strangers, never the auditor's own phone.

A browser that logged in to an account, or reset its password with a code sent to its
phone, keeps a signed cookie naming that account (its login number) and a random id of the
browser. At the login form, a browser trusted for the number typed is exempt from the
limits of the account and of the address, which strangers fill; its own failures count
against its own id instead (LOGIN_LIMIT_PER_DEVICE). The cookie logs nobody in: it only
decides which counter a failed password goes to.
"""
from __future__ import annotations

import secrets

from flask import current_app, request
from itsdangerous import BadSignature, URLSafeSerializer

from ..services import accounts

COOKIE = "device"
MAX_ACCOUNTS = 5  # a phone shared by a team: each one's account, most recent first
# The password forms a trusted browser is counted on its own at: the auditors' and the
# management end's (a staff browser is trusted once its login passed the second factor).
LOGIN_FORMS = ("auth.login", "console.auth.login")


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="login-device")


def _read() -> dict | None:
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) > 1024:
        return None
    try:
        data = _serializer().loads(raw)
    except BadSignature:
        return None
    if (not isinstance(data, dict) or not isinstance(data.get("id"), str)
            or not isinstance(data.get("accounts"), list)):
        return None
    return data


def trusted_for_typed_phone() -> bool:
    """At the login form: this browser has proved the account typed before."""
    if request.endpoint not in LOGIN_FORMS:
        return False
    device = _read()
    return device is not None and accounts.normalise_phone(request.form.get("phone")) in device["accounts"]


def device_key() -> str:
    device = _read()
    return "device:" + (device["id"] if device else "none")


def remember(response, phone: str):
    """Trust this browser for `phone` from now on (after a login or a reset by SMS code)."""
    device = _read() or {"id": secrets.token_urlsafe(16), "accounts": []}
    known = [phone] + [other for other in device["accounts"] if other != phone]
    value = _serializer().dumps({"id": device["id"], "accounts": known[:MAX_ACCOUNTS]})
    app = current_app._get_current_object()
    cookies = app.session_interface
    response.set_cookie(
        COOKIE, value, max_age=app.config["LOGIN_DEVICE_DAYS"] * 24 * 3600, path=cookies.get_cookie_path(app),
        secure=cookies.get_cookie_secure(app), httponly=True, samesite=cookies.get_cookie_samesite(app),
        partitioned=cookies.get_cookie_partitioned(app),
    )
    return response
