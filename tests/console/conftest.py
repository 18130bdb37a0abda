"""The management end's tests: helpers that log staff in through the real forms."""
from __future__ import annotations

import pyotp
import pytest

from .. import factories
from ..helpers import csrf_token, in_app_context


def totp_now(secret: str = factories.STAFF_SECRET, offset_steps: int = 0) -> str:
    import time

    return pyotp.TOTP(secret).at(time.time() + 30 * offset_steps)


def post_password(client, phone, password=factories.STAFF_PASSWORD):
    token = csrf_token(client, "/admin/login")
    return client.post("/admin/login", data={"phone": phone, "password": password, "csrf_token": token})


def post_code(client, code):
    token = csrf_token(client, "/admin/login/code")
    return client.post("/admin/login/code", data={"code": code, "csrf_token": token})


def post_new_password(client, path, new_password, current_password=factories.STAFF_PASSWORD):
    """The password form at `path` (the first login's /admin/password or /admin/me/password),
    the new password typed twice."""
    token = csrf_token(client, path)
    return client.post(path, data={"current_password": current_password, "new_password": new_password,
                                   "confirm_password": new_password, "csrf_token": token})


def console_login(client, person, secret: str = factories.STAFF_SECRET, offset_steps: int = 0):
    """Password and second factor; `offset_steps` picks another valid TOTP step (a code is
    good once, so a second login in the same 30 s uses the next step's code)."""
    assert post_password(client, person.phone).status_code == 303
    answer = post_code(client, totp_now(secret, offset_steps))
    assert answer.status_code == 303, answer.get_data(as_text=True)
    return answer


def logged_in(app, person, offset_steps=0):
    """A test client of `person`, logged in on the console."""
    client = app.test_client()
    console_login(client, person, offset_steps=offset_steps)
    return client


@pytest.fixture
def admin(app):
    with in_app_context(app):
        person = factories.staff(role="admin")
    return person


@pytest.fixture
def staff_client(app, admin):
    client = app.test_client()
    console_login(client, admin)
    return client
