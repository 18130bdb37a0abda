"""Console login (R18): password, then the second factor; the guard in front of every
/admin page; staff and auditor sessions apart; idle expiry; logout on the server."""
from __future__ import annotations

import re
import time


from checkin_pwa.extensions import db
from checkin_pwa.models import AuditLogEntry, Staff

from .. import factories
from ..helpers import csrf_token, in_app_context, log_in
from .conftest import console_login, post_code, post_new_password, post_password, totp_now


def actions() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(AuditLogEntry.action).order_by(AuditLogEntry.id)))


GUARDED_GETS = ["/admin/", "/admin/me"]


def test_r18_first_login_changes_the_password_then_sets_up_totp_and_shows_recovery_codes_once(app_context, app):
    person = factories.staff(must_change=True, totp_secret=None)
    db.session.commit()
    client = app.test_client()
    answer = post_password(client, person.phone)
    assert answer.headers["Location"] == "/admin/password"
    # Nothing but the next step opens.
    for path in GUARDED_GETS + ["/admin/second-factor", "/admin/login/code"]:
        assert client.get(path).headers["Location"] == "/admin/password", path

    weak = post_new_password(client, "/admin/password", "short")
    assert weak.status_code == 422 and "至少 8 个字符" in weak.get_data(as_text=True)
    changed = post_new_password(client, "/admin/password", "New#pass2026")
    assert changed.headers["Location"] == "/admin/second-factor"
    for path in GUARDED_GETS + ["/admin/login/code", "/admin/password"]:
        assert client.get(path).headers["Location"] == "/admin/second-factor", path

    page = client.get("/admin/second-factor").get_data(as_text=True)
    assert "<svg" in page and "otpauth" not in page.split("<svg")[0]
    secret = re.search(r'data-secret>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    token = csrf_token(client, "/admin/second-factor")
    wrong = client.post("/admin/second-factor", data={"code": "000000" if totp_now(secret) != "000000" else "111111",
                                                      "csrf_token": token})
    assert wrong.status_code == 422 and "验证码不正确" in wrong.get_data(as_text=True)
    done = client.post("/admin/second-factor", data={"code": totp_now(secret), "csrf_token": token})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", done.get_data(as_text=True))
    assert len(codes) == 10
    assert client.get("/admin/").status_code == 200
    # The codes are not shown again anywhere.
    assert codes[0] not in client.get("/admin/me").get_data(as_text=True)
    db.session.expire_all()
    stored = db.session.get(Staff, person.id)
    assert stored.totp_secret == secret and not stored.must_change_password
    assert actions() == ["password_change_failed", "password_changed", "second_factor_failed", "second_factor_set_up"]


def test_r18_a_wrong_or_replayed_totp_code_is_refused(app_context, app, admin):
    client = app.test_client()
    post_password(client, admin.phone)
    wrong = post_code(client, "123456" if totp_now() != "123456" else "654321")
    assert wrong.status_code == 422 and "不正确，或已使用过" in wrong.get_data(as_text=True)
    code = totp_now()
    assert post_code(client, code).status_code == 303
    assert client.get("/admin/").status_code == 200
    # The same code again, on another browser within its 30 s: refused.
    other = app.test_client()
    post_password(other, admin.phone)
    replay = post_code(other, code)
    assert replay.status_code == 422
    assert other.get("/admin/").headers["Location"] == "/admin/login/code"
    assert actions() == ["second_factor_failed", "login", "second_factor_failed"]


def test_r18_twenty_wrong_codes_throttle_even_the_right_one(app_context, app, admin):
    client = app.test_client()
    post_password(client, admin.phone)
    right = totp_now()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(20):
        assert post_code(client, wrong).status_code == 422
    throttled = post_code(client, right)
    assert throttled.status_code == 429 and "失败次数过多" in throttled.get_data(as_text=True)
    assert client.get("/admin/").headers["Location"] == "/admin/login/code"
    assert actions().count("second_factor_failed") == 20 and "login" not in actions()


def test_r18_a_recovery_code_logs_in_once(app_context, app, admin):
    from checkin_pwa.services import staff as staff_service

    codes = staff_service.renew_recovery_codes(admin, address="test")
    client = app.test_client()
    post_password(client, admin.phone)
    assert post_code(client, codes[3].upper()).status_code == 303
    assert "还剩 9 个" in client.get("/admin/").get_data(as_text=True)
    other = app.test_client()
    post_password(other, admin.phone)
    assert post_code(other, codes[3]).status_code == 422


def test_r18_staff_without_a_second_factor_reaches_no_admin_page_but_the_setup(app_context, app):
    person = factories.staff(totp_secret=None)
    db.session.commit()
    client = app.test_client()
    post_password(client, person.phone)
    for path in GUARDED_GETS + ["/admin/login/code"]:
        assert client.get(path).headers["Location"] == "/admin/second-factor", path
    token = csrf_token(client, "/admin/second-factor")
    renew = client.post("/admin/me/recovery-codes", data={"csrf_token": token})
    assert renew.status_code == 303 and renew.headers["Location"] == "/admin/second-factor"
    ajax = client.get("/admin/", headers={"HX-Request": "true"})
    assert ajax.status_code == 401 and ajax.headers["HX-Redirect"] == "/admin/second-factor"
    db.session.expire_all()
    assert db.session.get(Staff, person.id).recovery_codes == []


def test_r18_wrong_password_and_unknown_number_read_the_same_and_are_logged(app_context, app, admin):
    client = app.test_client()
    wrong = post_password(client, admin.phone, "Wrong#pass1")
    unknown = post_password(client, "13912345678", "Wrong#pass1")
    assert wrong.status_code == unknown.status_code == 422
    assert "手机号或密码错误" in wrong.get_data(as_text=True) and "手机号或密码错误" in unknown.get_data(as_text=True)
    entries = db.session.scalars(db.select(AuditLogEntry).order_by(AuditLogEntry.id)).all()
    assert [(e.action, e.agency_id) for e in entries] == [("login_failed", admin.agency_id), ("login_failed", None)]
    assert entries[0].address == "127.0.0.1"


def test_r18_password_failures_are_throttled_as_for_auditors(app_context, app, admin):
    client = app.test_client()
    for _ in range(5):
        assert post_password(client, admin.phone, "Wrong#pass1").status_code == 422
    assert post_password(client, admin.phone).status_code == 429


def test_r18_a_disabled_account_cannot_log_in(app_context, app):
    person = factories.staff(disabled=True)
    db.session.commit()
    client = app.test_client()
    answer = post_password(client, person.phone)
    assert answer.status_code == 422 and "账号已停用" in answer.get_data(as_text=True)
    assert client.get("/admin/").status_code == 303


def test_r16_an_auditor_session_opens_no_admin_page_and_a_staff_session_no_auditor_page(app, admin):
    with in_app_context(app):
        auditor = factories.auditor()
    phone = app.test_client()
    log_in(phone, auditor)
    assert phone.get("/").status_code == 200
    for path in GUARDED_GETS:
        assert phone.get(path).headers["Location"].startswith("/admin/login"), path

    desk = app.test_client()
    console_login(desk, admin)
    assert desk.get("/admin/").status_code == 200
    for path in ("/", "/me", "/notices", "/tasks"):
        assert desk.get(path).headers["Location"].startswith("/login"), path
    # An auditor logging in on the same browser ends the staff login (one or the other).
    log_in(desk, auditor)
    assert desk.get("/admin/").headers["Location"].startswith("/admin/login")


def test_r18_a_staff_session_ends_after_inactivity(app_context, app, admin):
    client = app.test_client()
    console_login(client, admin)
    with client.session_transaction() as session:
        session["staff"] = {**session["staff"], "seen": int(time.time()) - 31 * 60}
    answer = client.get("/admin/me")
    assert answer.headers["Location"].startswith("/admin/login")
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "30 分钟无操作" in page
    assert actions()[-1] == "session_expired"
    # Within the limit, every request renews it.
    other = app.test_client()
    console_login(other, admin, offset_steps=1)
    with other.session_transaction() as session:
        session["staff"] = {**session["staff"], "seen": int(time.time()) - 29 * 60}
    assert other.get("/admin/me").status_code == 200


def test_r18_logout_ends_the_staff_session_on_the_server(app_context, app, admin):
    client = app.test_client()
    console_login(client, admin)
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/admin/").status_code == 200
    token = csrf_token(client, "/admin/")
    assert client.post("/admin/logout", data={"csrf_token": token}).headers["Location"] == "/admin/login"
    assert copy.get("/admin/").headers["Location"].startswith("/admin/login")
    assert actions()[-1] == "logout"


def test_console_pages_are_not_cached_and_speak_english_too(app_context, app, admin):
    client = app.test_client()
    page = client.get("/admin/login")
    assert page.headers["Cache-Control"] == "no-store"
    client.get("/lang/en")
    assert "Staff login" in client.get("/admin/login").get_data(as_text=True)


def test_r1_staff_change_their_own_password_later_and_their_other_logins_end(app_context, app):
    reader = factories.staff(role="readonly")
    db.session.commit()
    desk = app.test_client()
    console_login(desk, reader)
    laptop = app.test_client()
    console_login(laptop, reader, offset_steps=1)
    wrong = post_new_password(desk, "/admin/me/password", "Next#pass2026", current_password="Wrong#pass1")
    assert wrong.status_code == 422 and "当前密码不正确" in wrong.get_data(as_text=True)
    done = post_new_password(desk, "/admin/me/password", "Next#pass2026")
    assert done.headers["Location"] == "/admin/me"
    assert desk.get("/admin/me").status_code == 200
    assert laptop.get("/admin/me").headers["Location"].startswith("/admin/login")
    assert actions()[-2:] == ["password_change_failed", "password_changed"]


def test_r18_strangers_filling_a_staff_accounts_budget_do_not_keep_its_own_browser_out(app_context, app, admin):
    """The auditors' trusted-browser cookie holds for staff too, once a login passed the
    second factor in that browser."""
    own = app.test_client()
    console_login(own, admin)
    token = csrf_token(own, "/admin/")
    own.post("/admin/logout", data={"csrf_token": token})
    stranger = app.test_client()
    for _ in range(5):
        assert post_password(stranger, admin.phone, "Guess#pass1").status_code == 422
    assert post_password(stranger, admin.phone).status_code == 429
    assert post_password(app.test_client(), admin.phone).status_code == 429, "a new browser waits too"
    answer = post_password(own, admin.phone)
    assert answer.status_code == 303 and answer.headers["Location"] == "/admin/login/code"
