"""R1 accounts over HTTP: login, the forced first change, sessions, CSRF, throttling, logout.

CSRF stays on: every POST carries the token a browser would have read from the page.
"""
from __future__ import annotations

import datetime as dt
import re

import pytest
from werkzeug.security import check_password_hash, generate_password_hash

from checkin_pwa.extensions import db
from checkin_pwa.models import Auditor
from checkin_pwa.services import accounts

from . import factories
from .factories import PASSWORD
from .helpers import csrf_token, csrf_token_from, in_app_context

GENERIC_FAILURE = "手机号或密码错误"
THROTTLED = "失败次数过多"
NEW_PASSWORD = "Audit#2026"


def make_auditor(**kwargs):
    person = factories.auditor(**kwargs)
    db.session.commit()
    return person


def form_error(response) -> str:
    match = re.search(r'<p class="form-error" role="alert">(.*?)</p>', response.get_data(as_text=True))
    return match.group(1) if match else ""


def post_login(client, phone, password, path="/login", **kwargs):
    token = csrf_token(client, path)
    return client.post(path, data={"phone": phone, "password": password, "csrf_token": token}, **kwargs)


def post_password(client, current, new, repeat=None):
    token = csrf_token(client, "/password")
    return client.post("/password", data={
        "current_password": current, "new_password": new,
        "confirm_password": new if repeat is None else repeat, "csrf_token": token,
    })


def is_logged_in(client) -> bool:
    response = client.get("/")
    return not (response.status_code in (302, 303) and "/login" in response.headers["Location"])


# --- login -------------------------------------------------------------------------

def test_r1_login_page_is_made_for_a_phone(app_context, client):
    page = client.get("/login").get_data(as_text=True)
    assert "认证到" in page and "审核签到" in page
    assert re.search(r'<input[^>]*autocomplete="tel"[^>]*inputmode="numeric"[^>]*name="phone"[^>]*type="tel"', page)
    assert re.search(r'<input[^>]*autocomplete="current-password"[^>]*name="password"[^>]*type="password"', page)
    assert '<label for="phone">手机号</label>' in page
    assert '<button type="submit"' in page


def test_login_page_is_chinese_and_offers_english(app_context, client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN" ' in page
    assert ">English</a>" in page
    client.get("/lang/en")
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en" ' in page and ">中文</a>" in page
    assert "Mobile number" in page


def test_r1_login_with_mobile_number_and_password_goes_to_today(app_context, app, client):
    person = make_auditor()
    response = post_login(client, person.phone, PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    assert is_logged_in(client)


def test_r1_login_accepts_the_number_as_people_type_it(app_context, app, client):
    make_auditor(phone="13912345678")
    response = post_login(client, "+86 139-1234-５６７８", PASSWORD)
    assert response.status_code == 303


def test_r1_wrong_password_and_unknown_number_give_the_same_answer(app_context, app, client):
    person = make_auditor()
    wrong_password = post_login(client, person.phone, "Wrong#pass1")
    unknown_number = post_login(client, "13800000000", PASSWORD)
    assert wrong_password.status_code == unknown_number.status_code == 422
    assert GENERIC_FAILURE in form_error(wrong_password)
    assert form_error(wrong_password) == form_error(unknown_number)
    assert not is_logged_in(client)


def test_r1_unknown_number_costs_as_much_as_a_wrong_password(app_context, app, client, monkeypatch):
    # Timing must not reveal which numbers have accounts: an unknown number still pays one
    # password check, against a hash of the same method and cost as a real one. Checked by
    # what is computed, not by a stopwatch (timings on a shared machine are noise).
    person = make_auditor(password_hash=generate_password_hash(PASSWORD))
    checked = []

    def spy(pwhash, password):
        checked.append(pwhash)
        return check_password_hash(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", spy)
    assert accounts.authenticate("13800000000", "Wrong#pass1") is None
    assert accounts.authenticate(person.phone, "Wrong#pass1") is None
    unknown, known = checked
    method = lambda pwhash: pwhash.split("$", 1)[0]  # noqa: E731 e.g. "scrypt:32768:8:1"
    assert method(unknown) == method(known) == method(generate_password_hash("x"))
    assert unknown != known


@pytest.mark.parametrize("phone", ["12345", "23912345678", "139123456789", "1391234567a"])
def test_r1_malformed_mobile_number_gets_a_clear_message(app_context, app, client, phone):
    response = post_login(client, phone, PASSWORD)
    assert response.status_code == 422
    assert "请输入以 1 开头的 11 位手机号" in response.get_data(as_text=True)


def test_r1_empty_fields_are_asked_for(app_context, app, client):
    page = post_login(client, "", "").get_data(as_text=True)
    assert "请输入手机号" in page and "请输入密码" in page


def test_login_renews_the_session_but_keeps_the_language(app_context, app, client):
    person = make_auditor()
    client.get("/lang/en")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    before = client.get_cookie("session").value
    post_login(client, person.phone, PASSWORD)
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["lang"] == "en"
    assert is_logged_in(client)


@pytest.mark.parametrize("target", ["/plans?tab=history", "/calendar"])
def test_login_returns_to_a_local_next_page(app_context, app, client, target):
    person = make_auditor()
    response = post_login(client, person.phone, PASSWORD, path=f"/login?next={target}")
    assert response.headers["Location"] == target


@pytest.mark.parametrize("target", [
    "//evil.example/steal", "https://evil.example/", "/\\evil.example", "javascript:alert(1)",
    "evil.example", "/\r\nSet-Cookie:x", "\\\\evil.example",
])
def test_login_refuses_an_open_redirect(app_context, app, client, target):
    person = make_auditor()
    response = client.post(
        "/login", query_string={"next": target},
        data={"phone": person.phone, "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_unauthenticated_page_sends_to_login_and_back(app_context, app, client):
    person = make_auditor()
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    response = post_login(client, person.phone, PASSWORD, path=response.headers["Location"])
    assert response.headers["Location"] == "/"


# --- the forced first change ---------------------------------------------------------

def test_r1_first_login_must_change_the_initial_password(app_context, app, client):
    person = make_auditor(must_change=True)
    response = post_login(client, person.phone, PASSWORD)
    assert response.headers["Location"] == "/password"
    for path in ("/", "/login", "/plans"):
        response = client.get(path)
        assert response.status_code == 303, path
        assert response.headers["Location"] == "/password"
    htmx = client.get("/", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/password"
    page = client.get("/password").get_data(as_text=True)
    assert "首次登录" in page
    assert 'autocomplete="new-password"' in page

    weak = post_password(client, PASSWORD, "password")
    assert weak.status_code == 422
    assert "密码须包含数字" in weak.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/password"

    done = post_password(client, PASSWORD, NEW_PASSWORD)
    assert done.status_code == 303
    assert done.headers["Location"] == "/"
    follow = client.get("/")
    assert follow.status_code == 200
    assert "密码已修改" in follow.get_data(as_text=True)
    db.session.refresh(person)
    assert person.must_change_password is False
    assert check_password_hash(person.password_hash, NEW_PASSWORD)
    assert person.password_hash.startswith("scrypt:")


@pytest.mark.parametrize("new, message", [
    ("ab#1234", "密码至少需要 8 位"),
    ("Audit#abc", "密码须包含数字"),
    ("2026#2026", "密码须包含字母"),
    ("Audit2026", "密码须包含符号"),
    ("Audit 2026#", "只能使用英文字母、数字和半角符号"),
    (PASSWORD, "新密码不能与当前密码相同"),
    ("a#13912345678", "密码不能包含手机号"),
])
def test_r1_new_password_rule_is_enforced_with_a_clear_message(app_context, app, client, new, message):
    person = make_auditor(phone="13912345678", must_change=True)
    old_hash = person.password_hash
    post_login(client, person.phone, PASSWORD)
    response = post_password(client, PASSWORD, new)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.password_hash == old_hash and person.must_change_password


def test_r1_repeated_password_must_match(app_context, app, client):
    person = make_auditor(must_change=True)
    post_login(client, person.phone, PASSWORD)
    response = post_password(client, PASSWORD, NEW_PASSWORD, repeat=NEW_PASSWORD + "x")
    assert "两次输入的新密码不一致" in response.get_data(as_text=True)
    assert client.get("/").headers["Location"] == "/password"


def test_r1_wrong_current_password_changes_nothing(app_context, app, client):
    person = make_auditor(must_change=True)
    post_login(client, person.phone, PASSWORD)
    response = post_password(client, "Wrong#pass1", NEW_PASSWORD)
    assert response.status_code == 422
    assert "当前密码不正确" in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.must_change_password and check_password_hash(person.password_hash, PASSWORD)


def test_r1_after_a_change_the_old_password_fails_and_other_sessions_end(app):
    # The first-login change: later changes need an SMS code (tests/test_r1_account.py).
    with in_app_context(app):
        person = make_auditor(must_change=True)
    phone_a, phone_b = app.test_client(), app.test_client()
    post_login(phone_a, person.phone, PASSWORD)
    post_login(phone_b, person.phone, PASSWORD)
    assert is_logged_in(phone_a) and is_logged_in(phone_b)

    assert post_password(phone_a, PASSWORD, NEW_PASSWORD).status_code == 303

    assert is_logged_in(phone_a), "the session that changed the password stays in"
    assert not is_logged_in(phone_b), "every other session is ended"
    third = app.test_client()
    assert GENERIC_FAILURE in form_error(post_login(third, person.phone, PASSWORD))
    assert post_login(third, person.phone, NEW_PASSWORD).status_code == 303


def test_r1_password_page_needs_a_login(app_context, client):
    response = client.get("/password")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# --- CSRF ------------------------------------------------------------------------------

def test_login_without_csrf_token_is_refused_in_chinese(app_context, app, client):
    person = make_auditor()
    response = client.post("/login", data={"phone": person.phone, "password": PASSWORD})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "表单已过期" in page
    assert '<html lang="zh-CN"' in page or "认证到" in page
    assert not is_logged_in(client)


def test_password_change_without_csrf_token_changes_nothing(app_context, app, client):
    person = make_auditor(must_change=True)
    post_login(client, person.phone, PASSWORD)
    response = client.post("/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
    })
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    db.session.refresh(person)
    assert person.must_change_password and check_password_hash(person.password_hash, PASSWORD)


def test_logout_without_csrf_token_keeps_the_session(app_context, app, client):
    person = make_auditor()
    post_login(client, person.phone, PASSWORD)
    assert client.post("/logout").status_code == 400
    assert is_logged_in(client)


# --- throttling ------------------------------------------------------------------------

def test_r1_repeated_wrong_passwords_throttle_the_account(app_context, app, client):
    person = make_auditor()
    answers = [post_login(client, person.phone, f"Wrong#{n}abc") for n in range(20)]
    assert [r.status_code for r in answers[:5]] == [422] * 5
    assert {r.status_code for r in answers[5:]} == {429}
    throttled = answers[-1]
    assert THROTTLED in form_error(throttled)
    assert "15 分钟" in form_error(throttled)
    assert 'name="phone"' in throttled.get_data(as_text=True), "the login page, not a bare error"

    right = post_login(client, person.phone, PASSWORD)
    assert right.status_code == 429
    assert form_error(right) == form_error(throttled), "nothing more is revealed"
    assert not is_logged_in(client)

    other = make_auditor()
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert post_login(elsewhere, other.phone, PASSWORD).status_code == 303


def test_r1_unknown_numbers_are_throttled_like_real_ones(app_context, app, client):
    answers = [post_login(client, "13800000000", PASSWORD) for _ in range(6)]
    assert answers[-1].status_code == 429
    assert THROTTLED in form_error(answers[-1])


def test_r1_successful_logins_do_not_count(app_context, app, client):
    person = make_auditor()
    for _ in range(8):
        assert post_login(client, person.phone, PASSWORD).status_code == 303
        auth_logout(client)


def test_r1_many_accounts_from_one_address_throttle_the_address(app_context, app, client):
    for n in range(30):
        assert post_login(client, f"137{n:08d}", "Wrong#pass1").status_code == 422
    person = make_auditor()
    assert post_login(client, person.phone, PASSWORD).status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.1.2.4"
    assert post_login(elsewhere, person.phone, PASSWORD).status_code == 303


def test_r1_guessing_the_current_password_uses_the_same_budget(app, client):
    with in_app_context(app):
        person = make_auditor(must_change=True)
    post_login(client, person.phone, PASSWORD)
    answers = [post_password(client, f"Wrong#{n}abc", NEW_PASSWORD) for n in range(6)]
    assert [r.status_code for r in answers] == [422] * 5 + [429]
    page = answers[-1].get_data(as_text=True)
    assert THROTTLED in form_error(answers[-1])
    assert 'name="current_password"' in page, "the change page, not a bare error"
    # Even the right current password waits now, and so does a login elsewhere.
    assert post_password(client, PASSWORD, NEW_PASSWORD).status_code == 429
    assert post_login(app.test_client(), person.phone, PASSWORD).status_code == 429
    with app.app_context():
        assert db.session.get(Auditor, person.id).must_change_password


# --- logout ----------------------------------------------------------------------------

def auth_logout(client):
    return client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_logout_ends_the_session(app_context, app, client, auth):
    person = make_auditor()
    auth.login(person.phone)
    assert is_logged_in(client)
    response = auth.logout()
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert "已退出登录" in client.get("/login").get_data(as_text=True)
    assert not is_logged_in(client)


def session_cookie(client):
    return client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])


def test_r1_login_survives_the_app_closed_and_reopened_for_the_documented_lifetime(app_context, app, client, auth):
    assert app.config["PERMANENT_SESSION_LIFETIME"] == dt.timedelta(days=30)  # as the README says
    person = make_auditor()
    before = dt.datetime.now(dt.timezone.utc)
    auth.login(person.phone)
    cookie = session_cookie(client)
    # An expiry makes it a persistent cookie: closing the app (the browser process) keeps it.
    assert cookie.expires is not None
    assert before + dt.timedelta(days=30) - dt.timedelta(minutes=1) <= cookie.expires
    assert cookie.expires <= dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=30, minutes=1)
    assert cookie.http_only and cookie.same_site == "Lax"

    # Reopened: a fresh browser holding only the kept cookies is still logged in.
    reopened = app.test_client()
    reopened.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    assert is_logged_in(reopened)

    # Logging out still ends it: the browser is logged out and keeps no lasting cookie.
    assert auth_logout(reopened).status_code == 303
    assert not is_logged_in(reopened)
    after_logout = session_cookie(reopened)
    assert after_logout is None or after_logout.expires is None


def test_logout_is_post_only(app_context, app, client):
    assert client.get("/logout").status_code == 405


def test_r1_first_login_account_can_still_log_out(app_context, app, client, auth):
    person = make_auditor(must_change=True)
    auth.login(person.phone)
    # The personal page is out of reach until the change: its log-out form is on this page.
    page = client.get("/password").get_data(as_text=True)
    assert re.search(r'<form id="logout-form"[^>]*method="post" action="/logout"', page)
    assert auth.logout().headers["Location"] == "/login"
    assert not is_logged_in(client)


def test_helpers_read_the_token_from_any_page(app_context, app, client):
    assert csrf_token_from(client.get("/login"))


def test_r1_a_phone_moving_from_wifi_to_4g_stays_logged_in(app_context, client):
    """The phone's address and network change all day on a factory floor; the session must
    survive that (session protection "basic", not "strong")."""
    person = make_auditor()
    post_login(client, person.phone, PASSWORD, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert client.get("/", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    on_4g = client.get("/", environ_base={"REMOTE_ADDR": "172.20.0.9"})
    assert on_4g.status_code == 200 and "今日审核任务" in on_4g.get_data(as_text=True)
