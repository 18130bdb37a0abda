"""The body's auditors on the management end (R18): the list (search, state filter,
server-side pages), disabling and enabling, a reset to an initial password sent by SMS,
lifting a login restriction; each in the audit log, only within the body (R16)."""
from __future__ import annotations

import logging
import re

import pytest

from checkin_pwa.extensions import db
from checkin_pwa.models import AuditLogEntry, Auditor, CheckEvent
from checkin_pwa.services import auditors as auditor_service

from .. import factories
from ..factories import PASSWORD
from ..helpers import csrf_token, in_app_context, log_in
from ..test_r1_account import BrokenSender
from .conftest import logged_in

NEW_PASSWORD = "Fresh#pass2026"


def entries(prefix="auditor_") -> list[AuditLogEntry]:
    db.session.expire_all()
    return [entry for entry in db.session.scalars(db.select(AuditLogEntry).order_by(AuditLogEntry.id))
            if entry.action.startswith(prefix)]


def auditor(**kwargs) -> Auditor:
    person = factories.auditor(**kwargs)
    db.session.commit()
    return person


def post_login(client, phone, password=PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"phone": phone, "password": password, "csrf_token": token})


def fill_login_budget(app, phone):
    """Failed logins until the account's budget is spent (from several addresses)."""
    for attempt in range(5):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"10.9.0.{attempt + 1}"
        assert post_login(client, phone, "Wrong#pass1").status_code == 422
    assert post_login(app.test_client(), phone).status_code == 429


def act(client, person, action):
    token = csrf_token(client, f"/admin/auditors/{person.id}")
    return client.post(f"/admin/auditors/{person.id}/{action}", data={"csrf_token": token})


def fresh(person) -> Auditor:
    db.session.expire_all()
    return db.session.get(Auditor, person.id)


# --- the list ---------------------------------------------------------------------------------

def test_r18_auditor_list_shows_state_masked_id_last_login_and_plans_this_month(app_context, app, admin):
    new = auditor(name="张新人", must_change=True)
    active = auditor(name="李正常")
    stopped = auditor(name="王停用")
    held = auditor(name="赵受限")
    stopped.disabled = True
    other_body = factories.agency(code="CNCA-R-2099-001", name="其他认证机构")
    stranger = auditor(name="外机构审核员")
    stranger.agency_id = other_body.id
    factories.plan([active, new])
    db.session.commit()
    assert post_login(app.test_client(), active.phone).status_code == 303
    fill_login_budget(app, held.phone)

    client = logged_in(app, admin)
    page = client.get("/admin/auditors").get_data(as_text=True)
    assert "外机构审核员" not in page
    rows = {name: re.search(r'<tr data-auditor="\d+">(.*?)</tr>', page[page.index(name) - 200:], re.S).group(1)
            for name in ("张新人", "李正常", "王停用", "赵受限")}
    assert "未完成首次登录" in rows["张新人"] and "正常" in rows["李正常"]
    assert "已停用" in rows["王停用"] and "登录受限" in rows["赵受限"]
    # The ID number is masked; the full number is nowhere on the page.
    assert active.id_number not in page
    assert active.id_number[:3] + "*" * 11 + active.id_number[-4:] in rows["李正常"]
    # Last login (the auditor logged in just now) and today's plan counted this month.
    assert "—" not in rows["李正常"].split("</td>")[4] and "—" in rows["王停用"].split("</td>")[4]
    assert rows["李正常"].split("</td>")[5].strip().endswith(">1") and rows["王停用"].split("</td>")[5].strip().endswith(">0")


def test_r18_auditor_list_searches_filters_and_pages_in_the_database(app_context, app, admin):
    for n in range(30):
        auditor(name=f"甲{n:02d}")
    target = auditor(name="乙特别", phone="13712345678")
    held = auditor(name="丙受限")
    fill_login_budget(app, held.phone)
    client = logged_in(app, admin)
    first = client.get("/admin/auditors").get_data(as_text=True)
    assert "共 32 名审核员" in first or "32" in first
    assert "第 1 / 2 页" in first and first.count("<tr data-auditor") == auditor_service.PER_PAGE
    # The next page's link is a real link, and htmx gets only the list.
    second = client.get("/admin/auditors?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert second.lstrip().startswith('<section id="auditor-list">') and "<html" not in second
    assert second.count("<tr data-auditor") == 32 - auditor_service.PER_PAGE
    # Search by name, by part of the number.
    assert "乙特别" in client.get("/admin/auditors?q=特别").get_data(as_text=True)
    by_phone = client.get("/admin/auditors?q=2345678").get_data(as_text=True)
    assert by_phone.count("<tr data-auditor") == 1 and "乙特别" in by_phone
    # Wildcards typed by a person are plain characters.
    assert client.get("/admin/auditors?q=%25").get_data(as_text=True).count("<tr data-auditor") == 0
    # The state filter, counted in SQL (rate_limit_counter).
    restricted = client.get("/admin/auditors?state=restricted").get_data(as_text=True)
    assert restricted.count("<tr data-auditor") == 1 and "丙受限" in restricted
    active = client.get("/admin/auditors?state=active").get_data(as_text=True)
    assert "丙受限" not in active and "乙特别" in active
    # Nonsense parameters are ignored, never a 500.
    assert client.get("/admin/auditors?state=zzz&page=abc&q=" + "x" * 500).status_code == 200
    assert client.get("/admin/auditors?page=999").status_code == 200


# --- who may: the body's own, and not read-only ---------------------------------------------------

def test_r16_another_bodys_auditor_is_404_and_nothing_is_written(app_context, app, admin, caplog):
    caplog.set_level(logging.INFO, logger="checkin_pwa.sms")
    other_body = factories.agency(code="CNCA-R-2099-001", name="其他认证机构")
    stranger = auditor(name="外机构审核员")
    stranger.agency_id = other_body.id
    db.session.commit()
    fill_login_budget(app, stranger.phone)
    client = logged_in(app, admin)
    token = csrf_token(client, "/admin/auditors")
    assert client.get(f"/admin/auditors/{stranger.id}").status_code == 404
    for action in ("disable", "enable", "reset", "lift"):
        assert client.post(f"/admin/auditors/{stranger.id}/{action}", data={"csrf_token": token}).status_code == 404
    assert client.get("/admin/auditors/999999").status_code == 404
    after = fresh(stranger)
    assert not after.disabled and after.session_version == 0 and after.password_hash == stranger.password_hash
    assert entries() == []
    assert not [r for r in caplog.records if r.name == "checkin_pwa.sms"]
    assert auditor_service.login_restricted(stranger.phone), "the restriction stays"


def test_r18_read_only_staff_read_the_auditors_but_get_403_for_every_change(app_context, app, caplog):
    caplog.set_level(logging.INFO, logger="checkin_pwa.sms")
    reader = factories.staff(role="readonly")
    person = auditor(name="李正常")
    db.session.commit()
    fill_login_budget(app, person.phone)
    client = logged_in(app, reader)
    page = client.get(f"/admin/auditors/{person.id}").get_data(as_text=True)
    assert "李正常" in page and "停用</button>" not in page
    token = csrf_token(client, "/admin/auditors")
    for action in ("disable", "reset", "lift"):
        answer = client.post(f"/admin/auditors/{person.id}/{action}", data={"csrf_token": token})
        assert answer.status_code == 403 and "未做任何更改" in answer.get_data(as_text=True), action
    after = fresh(person)
    assert not after.disabled and after.password_hash == person.password_hash and not after.must_change_password
    assert entries() == [] and not [r for r in caplog.records if r.name == "checkin_pwa.sms"]
    assert auditor_service.login_restricted(person.phone)


# --- disable and enable ------------------------------------------------------------------------------

def test_r18_a_disabled_auditor_cannot_log_in_their_session_ends_and_their_place_stays_marked(app, admin):
    with in_app_context(app):
        person = auditor(name="王停用")
        mate = auditor(name="李同事")
        plan = factories.plan([mate, person])
    phone = app.test_client()
    log_in(phone, person)
    assert phone.get("/").status_code == 200 and "王停用" in phone.get(f"/plans/{plan.id}").get_data(as_text=True)

    with in_app_context(app):
        manager = factories.staff(role="manager", name="周经理")
    client = logged_in(app, manager)
    answer = act(client, person, "disable")
    assert answer.status_code == 303
    assert "已停用" in client.get(f"/admin/auditors/{person.id}").get_data(as_text=True)
    # The open session has ended: the next page asks to log in.
    assert phone.get(f"/plans/{plan.id}").status_code in (302, 303)
    # The right password is refused with the reason; nothing counts as a failed attempt.
    refused = post_login(app.test_client(), person.phone)
    assert refused.status_code == 403 and "该账号已被认证机构停用" in refused.get_data(as_text=True)
    # The team place stays, marked, for the teammate; the plan is theirs as before.
    mate_phone = app.test_client()
    log_in(mate_phone, mate)
    plan_page = mate_phone.get(f"/plans/{plan.id}").get_data(as_text=True)
    team = plan_page[plan_page.index('<dd class="team">'):]
    assert "王停用（已停用）" in team[:team.index("</dd>")]
    assert "王停用（已停用）" in mate_phone.get("/tasks").get_data(as_text=True)
    with app.app_context():
        logged = entries()
        assert [e.action for e in logged] == ["auditor_disabled"]
        assert logged[0].before["disabled"] is False and logged[0].after["disabled"] is True
        assert logged[0].actor.startswith("周经理")
    # Enabled again: the same password logs in.
    assert act(client, person, "enable").status_code == 303
    assert post_login(app.test_client(), person.phone).status_code == 303
    with app.app_context():
        assert [e.action for e in entries()] == ["auditor_disabled", "auditor_enabled"]


# --- reset to an initial password ---------------------------------------------------------------

def test_r1_a_reset_sends_a_new_initial_password_by_sms_that_must_be_changed(app, admin, caplog):
    caplog.set_level(logging.INFO, logger="checkin_pwa.sms")
    with in_app_context(app):
        person = auditor(name="李正常")
    phone = app.test_client()
    log_in(phone, person)
    client = logged_in(app, admin)
    answer = act(client, person, "reset")
    assert answer.status_code == 303
    assert "新的初始密码已通过短信发送至" in client.get(f"/admin/auditors/{person.id}").get_data(as_text=True)
    texts = [r.getMessage() for r in caplog.records if r.name == "checkin_pwa.sms" and person.phone in r.getMessage()]
    assert len(texts) == 1
    password = re.search(r"初始密码：(\S+?)。", texts[0]).group(1)
    # The old session and the old password are gone; the new one forces a change.
    assert phone.get("/").status_code in (302, 303)
    assert post_login(app.test_client(), person.phone).status_code == 422
    fresh_phone = app.test_client()
    login = post_login(fresh_phone, person.phone, password)
    assert login.status_code == 303 and login.headers["Location"].endswith("/password")
    with app.app_context():
        logged = entries()
        assert [e.action for e in logged] == ["auditor_password_reset"]
        assert logged[0].before["must_change_password"] is False and logged[0].after["must_change_password"] is True
        assert password not in str(logged[0].after), "the password is not in the log"
    # The staff page never shows it.
    assert password not in client.get(f"/admin/auditors/{person.id}").get_data(as_text=True)


def test_r1_a_reset_whose_sms_is_not_accepted_changes_nothing(app_context, app, admin):
    app.config["SMS_BACKEND"] = "tests.test_r1_account.BrokenSender"
    person = auditor(name="李正常")
    client = logged_in(app, admin)
    act(client, person, "reset")
    assert "短信未能发送" in client.get(f"/admin/auditors/{person.id}").get_data(as_text=True)
    after = fresh(person)
    assert after.password_hash == person.password_hash and not after.must_change_password
    assert entries() == []
    assert post_login(app.test_client(), person.phone).status_code == 303


# --- lift a login restriction --------------------------------------------------------------------

def test_r18_lifting_a_login_restriction_lets_the_auditor_log_in_at_once(app_context, app, admin):
    person = auditor(name="赵受限")
    fill_login_budget(app, person.phone)
    client = logged_in(app, admin)
    page = client.get(f"/admin/auditors/{person.id}").get_data(as_text=True)
    assert "登录受限" in page and "解除登录限制" in page
    assert act(client, person, "lift").status_code == 303
    assert "正常" in client.get(f"/admin/auditors/{person.id}").get_data(as_text=True)
    assert post_login(app.test_client(), person.phone).status_code == 303
    logged = entries()
    assert [e.action for e in logged] == ["auditor_restriction_lifted"]
    assert logged[0].before == {"login_restricted": True} and logged[0].after == {"login_restricted": False}
    # Lifting again: nothing to lift, nothing logged.
    act(client, person, "lift")
    assert len(entries()) == 1


# --- adding by hand, editing ----------------------------------------------------------------------

def post_form(client, path, **fields):
    token = csrf_token(client, path)
    return client.post(path, data={**fields, "csrf_token": token})


def test_r1_an_auditor_added_by_hand_gets_an_initial_password_by_sms_and_must_change_it(app_context, app, admin, caplog):
    caplog.set_level(logging.INFO, logger="checkin_pwa.sms")
    client = logged_in(app, admin)
    # Full-width digits from a Chinese input method are the same number.
    answer = post_form(client, "/admin/auditors/new", name="  吴 新人 ", phone="１３６００００１２３４",
                       id_type="id_card", id_number="１１０１０１１９９００１０１１２３x")
    assert answer.status_code == 303
    db.session.expire_all()
    person = db.session.scalar(db.select(Auditor).filter_by(phone="13600001234"))
    assert person.name == "吴 新人" and person.id_number == "11010119900101123X"
    assert person.agency_id == admin.agency_id and person.must_change_password
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "已添加该审核员" in page and "未完成首次登录" in page
    text = [r.getMessage() for r in caplog.records if r.name == "checkin_pwa.sms" and "13600001234" in r.getMessage()]
    password = re.search(r"初始密码：(\S+?)。", text[0]).group(1)
    login = post_login(app.test_client(), "13600001234", password)
    assert login.status_code == 303 and login.headers["Location"].endswith("/password")
    logged = entries()
    assert [e.action for e in logged] == ["auditor_created"] and logged[0].after["phone"] == "13600001234"


def test_r18_adding_by_hand_uses_the_imports_checks_and_changes_nothing_on_bad_input(app_context, app, admin, caplog):
    caplog.set_level(logging.INFO, logger="checkin_pwa.sms")
    other_body = factories.agency(code="CNCA-R-2099-001", name="其他认证机构")
    elsewhere = auditor(name="外机构审核员")
    elsewhere.agency_id = other_body.id
    mine = auditor(name="本机构审核员")
    db.session.commit()
    client = logged_in(app, admin)
    bad = post_form(client, "/admin/auditors/new", name=" ", phone="1234", id_type="passport", id_number="9" * 65)
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "必须是以 1 开头的 11 位手机号码" in text and "不能为空" in text
    assert "id_card, other" in text and "64" in text
    for phone, words in ((elsewhere.phone, "已在其他认证机构注册"), (mine.phone, "已是本机构审核员")):
        taken = post_form(client, "/admin/auditors/new", name="某人", phone=phone, id_type="id_card", id_number="")
        assert taken.status_code == 422 and words in taken.get_data(as_text=True), words
    db.session.expire_all()
    assert db.session.scalar(db.select(db.func.count()).select_from(Auditor)) == 2
    assert fresh(elsewhere).agency_id == other_body.id and fresh(elsewhere).name == "外机构审核员"
    assert entries() == [] and not [r for r in caplog.records if r.name == "checkin_pwa.sms"]
    # The gateway refusing the SMS: nobody is added.
    app.config["SMS_BACKEND"] = "tests.test_r1_account.BrokenSender"
    refused = post_form(client, "/admin/auditors/new", name="某人", phone="13600009999", id_type="id_card", id_number="")
    assert refused.status_code == 422 and "短信" in refused.get_data(as_text=True)
    assert db.session.scalar(db.select(Auditor).filter_by(phone="13600009999")) is None


def test_r18_editing_an_auditor_corrects_name_and_id_logged_masked(app_context, app, admin):
    person = auditor(name="错名字")
    old_number = person.id_number
    client = logged_in(app, admin)
    bad = post_form(client, f"/admin/auditors/{person.id}/edit", name="", id_type="id_card", id_number="1")
    assert bad.status_code == 422 and fresh(person).name == "错名字"
    good = post_form(client, f"/admin/auditors/{person.id}/edit", name="对名字", id_type="other", id_number="A1234567")
    assert good.status_code == 303
    after = fresh(person)
    assert (after.name, after.id_type, after.id_number, after.phone) == ("对名字", "other", "A1234567", person.phone)
    logged = entries()
    assert [e.action for e in logged] == ["auditor_changed"]
    assert logged[0].before["name"] == "错名字" and logged[0].after["name"] == "对名字"
    assert old_number not in str(logged[0].before) and "A1234567" not in str(logged[0].after)


def test_r16_editing_another_bodys_auditor_is_404_and_read_only_is_403(app_context, app, admin):
    other_body = factories.agency(code="CNCA-R-2099-001", name="其他认证机构")
    stranger = auditor(name="外机构审核员")
    stranger.agency_id = other_body.id
    reader = factories.staff(role="readonly", name="只读")
    db.session.commit()
    client = logged_in(app, admin)
    token = csrf_token(client, "/admin/auditors")
    assert client.get(f"/admin/auditors/{stranger.id}/edit").status_code == 404
    assert client.post(f"/admin/auditors/{stranger.id}/edit",
                       data={"name": "改掉", "id_type": "id_card", "id_number": "", "csrf_token": token}).status_code == 404
    reading = logged_in(app, reader, offset_steps=1)
    token = csrf_token(reading, "/admin/auditors")
    assert reading.post("/admin/auditors/new", data={"name": "某人", "phone": "13600008888", "id_type": "id_card",
                                                      "csrf_token": token}).status_code == 403
    assert fresh(stranger).name == "外机构审核员"
    assert db.session.scalar(db.select(Auditor).filter_by(phone="13600008888")) is None and entries() == []
