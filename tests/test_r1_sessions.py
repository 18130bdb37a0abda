"""R1 sessions and redirects under hostile use: every `next=` stays on this site.

CSRF stays on: every POST carries the token a browser would have read from the page.
"""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from checkin_pwa.extensions import db
from checkin_pwa.models import Explanation

from . import factories
from .factories import PASSWORD
from .helpers import csrf_token, csrf_token_from, in_app_context


@pytest.fixture
def person(app):
    with in_app_context(app):
        found = factories.auditor()
    return found


def post_login(client, phone, password=PASSWORD, query=""):
    token = csrf_token(client, "/login")
    return client.post("/login" + query, data={"phone": phone, "password": password, "csrf_token": token})


# --- logout ends the session on the server --------------------------------------------------

def copy_of(app, client):
    """Another browser holding a copy of `client`'s session cookie (stolen or kept)."""
    other = app.test_client()
    other.set_cookie("session", client.get_cookie("session").value)
    return other


def explanations() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(Explanation.id)))


def test_r1_a_cookie_copied_before_logout_is_logged_out_too(app_context, app, person):
    plan = factories.plan([person])
    db.session.commit()
    phone = app.test_client()
    post_login(phone, person.phone)
    copy = copy_of(app, phone)
    token = csrf_token_from(copy.get(f"/plans/{plan.id}/explain"))  # the copy works before logout

    logout = phone.post("/logout", data={"csrf_token": csrf_token(phone, "/me")})
    assert logout.status_code == 303

    read = copy.get(f"/plans/{plan.id}")
    assert read.status_code == 302 and read.headers["Location"].startswith("/login")
    write = copy.post(f"/plans/{plan.id}/explanations", data={"csrf_token": token, "text": "冒名写入"})
    assert write.status_code == 302 and write.headers["Location"].startswith("/login")
    outbox = copy.post(f"/plans/{plan.id}/explanations", data={"csrf_token": token, "text": "冒名写入"},
                       headers={"X-Outbox": "1", "HX-Request": "true"})
    assert outbox.status_code == 401
    assert explanations() == 0, "nothing was written with the old cookie"


def test_r1_an_answer_to_the_workers_background_fetch_never_sets_the_session_cookie(app, person):
    # The worker precached /offline with the cookie from before the login; its answer came
    # back after the login's and put the logged-out session back in the browser.
    before = app.test_client()
    before.get("/login")
    late = copy_of(app, before)
    assert late.get("/offline").headers.get("Set-Cookie")  # a plain page load may set one
    late = copy_of(app, before)
    answer = late.get("/offline", headers={"X-Background-Fetch": "1"})
    assert answer.status_code == 200 and answer.headers.get("Set-Cookie") is None
    post_login(before, person.phone)
    kept = before.get("/plans/0/checkin", headers={"X-Background-Fetch": "1"})
    assert kept.headers.get("Set-Cookie") is None  # a logged-in keep refreshes no cookie either


def test_r1_logging_out_on_one_phone_keeps_the_other_phones_logged_in(app, person):
    # Logout ends this session, not the account's others (a password change ends those).
    phone, tablet = app.test_client(), app.test_client()
    post_login(phone, person.phone)
    post_login(tablet, person.phone)
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/me")})
    assert phone.get("/").status_code == 302
    assert tablet.get("/").status_code == 200


def test_r1_logging_in_again_after_logout_works(app_context, app, person):
    phone = app.test_client()
    post_login(phone, person.phone)
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/me")})
    assert post_login(phone, person.phone).status_code == 303
    assert phone.get("/").status_code == 200


# --- every next= parameter ---------------------------------------------------------------
# As they arrive on the wire (percent-encoded): the server decodes them before looking.
NASTY_NEXT = [
    "//evil.example", "///evil.example", "/%5Cevil.example", "%5C%5Cevil.example", "/%5C/evil.example",
    "/%09/evil.example", "/%0a/evil.example", "/%0d/evil.example", "/%0d%0aSet-Cookie:%20x=1",
    "%09//evil.example", "/%00/evil.example", "/%7f/evil.example", "%20//evil.example",
    "%E3%80%80//evil.example", "%2F%2Fevil.example", "https://evil.example/", "https:/evil.example",
    "http:evil.example", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,x",
    "evil.example", "", "/%0a" * 2000,
]


def _lang(client, person, value):
    return client.get("/lang/en?next=" + value)


def _lang_zh(client, person, value):
    return client.get("/lang/zh_CN?next=" + value)


def _login_form(client, person, value):
    return post_login(client, person.phone, query="?next=" + value)


def _login_page_when_logged_in(client, person, value):
    post_login(client, person.phone)
    return client.get("/login?next=" + value)


NEXT_ENDPOINTS = [_lang, _lang_zh, _login_form, _login_page_when_logged_in]


@pytest.mark.parametrize("value", NASTY_NEXT, ids=lambda value: value[:40])
@pytest.mark.parametrize("endpoint", NEXT_ENDPOINTS, ids=lambda endpoint: endpoint.__name__.strip("_"))
def test_r1_every_next_parameter_stays_on_this_site(app_context, app, person, endpoint, value):
    response = endpoint(app.test_client(), person, value)
    assert response.status_code == 303, response.status_code
    assert response.headers["Location"] == "/", "a nasty next= goes to today's page"


@pytest.mark.parametrize("endpoint", NEXT_ENDPOINTS, ids=lambda endpoint: endpoint.__name__.strip("_"))
def test_r1_a_local_next_is_followed(app_context, app, person, endpoint):
    response = endpoint(app.test_client(), person, "/plans%3Ftab%3Dhistory")
    assert response.status_code == 303
    assert response.headers["Location"] == "/plans?tab=history"
