"""Changes of an auditor's login number held for the body's approval (R18): by default the
change the auditor proves (name and ID, then a code to the new number) waits as a request
and the old number goes on logging in; a manager or an administrator of the body approves
it (the new number checked again) or refuses it; the auditor hears by SMS and at the next
login. With the body's setting off the change applies at once. Only within the body (R16);
read-only staff read, never decide; every decision and the setting in the audit log."""
from __future__ import annotations

import datetime as dt
import html
import logging
import re
from zoneinfo import ZoneInfo

import pytest

from checkin_pwa.extensions import db
from checkin_pwa.models import Agency, AuditLogEntry, Auditor, PhoneChangeRequest

from .. import factories
from ..factories import PASSWORD
from ..helpers import csrf_token, in_app_context, log_in
from ..test_r1_account import identity, is_logged_in, last_code, page_text, post
from .conftest import console_login

NEW_PHONE = "13700000009"


@pytest.fixture
def sms_log(caplog):
    caplog.set_level(logging.INFO, logger="checkin_pwa.sms")
    return caplog


def texts_to(caplog, phone: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "checkin_pwa.sms" and f"SMS to {phone}:" in r.getMessage()]


@pytest.fixture
def person(app):
    with in_app_context(app):
        someone = factories.auditor(name="张三", phone="13800000001")
    return someone


def ask_for(app, person, new_phone, sms_log, client=None):
    """The auditor's own change of login number from the login page (R1 §4.3), on a phone
    without a session: name and ID, a code to the new number, the code. The phone's client."""
    client = client or app.test_client()
    assert post(client, "/phone/change", identity(person)).status_code == 303
    sent = post(client, "/phone/change/code", {"new_phone": new_phone}, page="/phone/change/new")
    assert sent.status_code == 200, page_text(sent)
    done = post(client, "/phone/change/new", {"new_phone": new_phone, "code": last_code(sms_log, new_phone)})
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    return client


def staff_client(app, role="manager", agency_row=None, offset_steps=0):
    with in_app_context(app):
        member = factories.staff(role=role, agency_row=agency_row, name=f"{role}员")
    client = app.test_client()
    console_login(client, member, offset_steps=offset_steps)
    return client


def decide(client, row_id, action, **data):
    token = csrf_token(client, "/admin/phone-changes")
    return client.post(f"/admin/phone-changes/{row_id}/{action}", data={"csrf_token": token, **data})


def fresh(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def requests_of(person) -> list[PhoneChangeRequest]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(PhoneChangeRequest).filter_by(auditor_id=person.id)
                                   .order_by(PhoneChangeRequest.id)))


def log_entries(prefix="phone_change_") -> list[AuditLogEntry]:
    db.session.expire_all()
    return [entry for entry in db.session.scalars(db.select(AuditLogEntry).order_by(AuditLogEntry.id))
            if entry.action.startswith(prefix)]


def login_answer(client, phone, password=PASSWORD):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"phone": phone, "password": password, "csrf_token": token})


# --- held by default ----------------------------------------------------------------------------------

def test_r18_a_change_of_login_number_is_held_by_default_and_the_old_number_keeps_working(app, person, sms_log):
    with app.app_context():
        assert db.session.get(Agency, person.agency_id).phone_change_approval is True
    on_the_phone = app.test_client()
    log_in(on_the_phone, person)

    client = app.test_client()
    post(client, "/phone/change", identity(person))
    step_two = page_text(client.get("/phone/change/new"))
    assert "所在认证机构须批准每一次登录手机号的修改" in step_two and "提交申请" in step_two
    client = ask_for(app, person, NEW_PHONE, sms_log)
    told = page_text(client.get("/login"))
    assert "将登录手机号修改为 13700000009 的申请已提交，正等待所在认证机构审批" in told
    assert "请继续使用原手机号 138****0001 登录" in told

    # Nothing of the account changed: the number, the open session, the old login.
    with app.app_context():
        assert fresh(Auditor, person.id).phone == "13800000001"
    assert is_logged_in(on_the_phone)
    assert login_answer(app.test_client(), NEW_PHONE).status_code == 422
    back = app.test_client()
    assert login_answer(back, "13800000001").status_code == 303
    assert "仍在等待所在认证机构审批" in page_text(back.get("/"))
    with app.app_context():
        (held,) = requests_of(person)
        assert (held.state, held.old_phone, held.new_phone) == ("pending", "13800000001", NEW_PHONE)
    # The login number hears of the request while it can still be stopped.
    assert any("待所在认证机构批准" in text for text in texts_to(sms_log, "13800000001"))


def test_r18_a_second_request_replaces_the_first_and_says_so(app_context, app, person, sms_log):
    ask_for(app, person, NEW_PHONE, sms_log)
    client = app.test_client()
    post(client, "/phone/change", identity(person))
    assert "您于" in page_text(client.get("/phone/change/new")) and "137****0009" in page_text(client.get("/phone/change/new"))
    client = ask_for(app, person, "13700000010", sms_log)
    assert "本次申请已取代您之前的申请（改为 137****0009）" in page_text(client.get("/login"))
    first, second = requests_of(person)
    assert (first.state, second.state) == ("replaced", "pending")
    listing = page_text(staff_client(app).get("/admin/phone-changes"))
    assert "13700000010" in listing and NEW_PHONE not in listing


def test_r18_with_the_setting_off_the_change_applies_at_once_and_the_setting_is_logged(app_context, app, person, sms_log):
    admin = staff_client(app, role="admin")
    page = page_text(admin.get("/admin/profile"))
    assert "审核员修改登录手机号须经审核管理员或机构管理员批准后生效" in page
    token = csrf_token(admin, "/admin/profile")
    answer = admin.post("/admin/profile/phone-changes", data={"csrf_token": token})  # the box unticked
    assert answer.status_code == 303
    assert "修改登录手机号现在无需批准，立即生效" in page_text(admin.get("/admin/profile"))
    assert fresh(Agency, person.agency_id).phone_change_approval is False
    (entry,) = log_entries("profile_changed")
    assert entry.before == {"phone_change_approval": True} and entry.after == {"phone_change_approval": False}

    client = ask_for(app, person, NEW_PHONE, sms_log)
    assert "修改成功，请使用新手机号登录" in page_text(client.get("/login"))
    assert fresh(Auditor, person.id).phone == NEW_PHONE and requests_of(person) == []
    assert login_answer(app.test_client(), NEW_PHONE).status_code == 303

    # Ticked again: held again.
    token = csrf_token(admin, "/admin/profile")
    admin.post("/admin/profile/phone-changes", data={"csrf_token": token, "phone_change_approval": "y"})
    assert fresh(Agency, person.agency_id).phone_change_approval is True
    assert [e.after for e in log_entries("profile_changed")][-1] == {"phone_change_approval": True}


# --- the console's list and decisions -------------------------------------------------------------------

def test_r18_the_console_lists_pending_changes_with_local_time_and_counts_them(app_context, app, person, sms_log):
    ask_for(app, person, NEW_PHONE, sms_log)
    (held,) = requests_of(person)
    client = staff_client(app)
    page = page_text(client.get("/admin/phone-changes"))
    local = held.requested_at.replace(tzinfo=dt.timezone.utc).astimezone(ZoneInfo("Asia/Shanghai"))
    local = local.strftime("%Y-%m-%d %H:%M")
    for shown in ("张三", "13800000001", NEW_PHONE, local, "批准", "驳回", "原因（选填）"):
        assert shown in page, shown
    home = page_text(client.get("/admin/"))
    assert "1 条登录手机号修改待审批" in home and 'data-count="1"' in home
    on_the_auditor = page_text(client.get(f"/admin/auditors/{person.id}"))
    assert f"改为 {NEW_PHONE}，申请于 {local}，待审批" in on_the_auditor


def test_r18_approving_moves_the_login_tells_the_auditor_and_is_logged(app, person, sms_log):
    on_the_phone = app.test_client()
    log_in(on_the_phone, person)
    ask_for(app, person, NEW_PHONE, sms_log)
    with in_app_context(app):
        (held,) = requests_of(person)
    client = staff_client(app)
    answer = decide(client, held.id, "approve")
    assert answer.status_code == 303
    assert "已批准：张三 今后使用 13700000009 登录" in page_text(client.get("/admin/phone-changes"))

    with app.app_context():
        assert fresh(Auditor, person.id).phone == NEW_PHONE
    assert not is_logged_in(on_the_phone), "the sessions of the old login end"
    assert any("已获所在认证机构批准" in text for text in texts_to(sms_log, NEW_PHONE))
    with app.app_context():
        (entry,) = log_entries()
        assert entry.action == "phone_change_approved" and entry.target == f"auditor:{person.id} 张三"
        assert entry.before["phone"] == "13800000001" and entry.after["phone"] == NEW_PHONE

    assert login_answer(app.test_client(), "13800000001").status_code == 422
    phone = app.test_client()
    assert login_answer(phone, NEW_PHONE).status_code == 303
    assert "所在认证机构已批准将您的登录手机号修改为 137****0009" in page_text(phone.get("/"))
    again = app.test_client()
    login_answer(again, NEW_PHONE)
    assert "已批准" not in page_text(again.get("/")), "the outcome is shown once"
    # Decided once: a second approval changes nothing.
    assert decide(client, held.id, "approve").status_code == 303
    assert "该申请已处理过" in page_text(client.get("/admin/phone-changes"))
    with app.app_context():
        assert len(log_entries()) == 1


def test_r18_refusing_keeps_the_old_number_and_tells_the_auditor_the_reason(app_context, app, person, sms_log):
    ask_for(app, person, NEW_PHONE, sms_log)
    (held,) = requests_of(person)
    client = staff_client(app)
    assert decide(client, held.id, "refuse", reason="  未提供  新号码证明 ").status_code == 303
    assert "已驳回：张三 继续使用 13800000001 登录" in page_text(client.get("/admin/phone-changes"))
    assert fresh(Auditor, person.id).phone == "13800000001"
    assert fresh(PhoneChangeRequest, held.id).state == "refused"
    assert any("未获所在认证机构批准。原因：未提供 新号码证明。" in text for text in texts_to(sms_log, "13800000001"))
    (entry,) = log_entries()
    assert entry.action == "phone_change_refused"
    assert entry.before["requested_phone"] == NEW_PHONE and entry.after["reason"] == "未提供 新号码证明"

    phone = app.test_client()
    assert login_answer(phone, "13800000001").status_code == 303
    shown = page_text(phone.get("/"))
    assert "所在认证机构未批准将您的登录手机号修改为 137****0009" in shown and "原因：未提供 新号码证明" in shown
    assert login_answer(app.test_client(), NEW_PHONE).status_code == 422


def test_r18_a_reason_too_long_is_refused_with_words_and_changes_nothing(app_context, app, person, sms_log):
    ask_for(app, person, NEW_PHONE, sms_log)
    (held,) = requests_of(person)
    client = staff_client(app)
    decide(client, held.id, "refuse", reason="长" * 201)
    assert "原因过长：最多 200 个字符" in page_text(client.get("/admin/phone-changes"))
    assert fresh(PhoneChangeRequest, held.id).state == "pending" and log_entries() == []


def test_r18_approving_a_number_taken_meanwhile_says_so_and_changes_nothing(app_context, app, person, sms_log):
    ask_for(app, person, NEW_PHONE, sms_log)
    (held,) = requests_of(person)
    factories.auditor(name="后来者", phone=NEW_PHONE)  # e.g. a plan import gave it to another auditor
    db.session.commit()
    sent_before = len(texts_to(sms_log, NEW_PHONE))
    client = staff_client(app)
    assert decide(client, held.id, "approve").status_code == 303
    assert "新手机号已成为其他账号的登录手机号，因此未修改" in page_text(client.get("/admin/phone-changes"))
    assert fresh(Auditor, person.id).phone == "13800000001"
    assert fresh(PhoneChangeRequest, held.id).state == "pending"
    assert log_entries() == [] and len(texts_to(sms_log, NEW_PHONE)) == sent_before
    assert login_answer(app.test_client(), "13800000001").status_code == 303


def test_r18_two_staff_deciding_at_once_make_one_decision(app_context, app, person, sms_log):
    from sqlalchemy.orm.attributes import set_committed_value

    from checkin_pwa.services import phone_changes

    ask_for(app, person, NEW_PHONE, sms_log)
    (held,) = requests_of(person)
    manager = factories.staff(role="manager", name="甲经理")
    db.session.commit()
    # Another staff member's refusal lands after this approval read the request as pending.
    db.session.execute(db.update(PhoneChangeRequest).where(PhoneChangeRequest.id == held.id)
                       .values(state="refused"), execution_options={"synchronize_session": False})
    db.session.commit()
    set_committed_value(held, "state", "pending")  # as this request read it a moment before
    with pytest.raises(phone_changes.PhoneChangeRefused, match="not_pending"):
        phone_changes.approve(manager, held, address="10.0.0.1")
    assert fresh(Auditor, person.id).phone == "13800000001" and log_entries() == []


def test_r18_a_decision_stands_when_the_sms_is_not_accepted(app_context, app, person, sms_log):
    ask_for(app, person, NEW_PHONE, sms_log)
    (held,) = requests_of(person)
    client = staff_client(app)
    app.config["SMS_BACKEND"] = "tests.test_r1_account.BrokenSender"
    decide(client, held.id, "approve")
    assert "短信未能发送；审核员下次登录时会看到处理结果" in page_text(client.get("/admin/phone-changes"))
    assert fresh(Auditor, person.id).phone == NEW_PHONE and len(log_entries()) == 1


def test_r16_another_bodys_phone_change_is_404_and_nothing_is_written(app_context, app, person, sms_log):
    ask_for(app, person, NEW_PHONE, sms_log)
    (held,) = requests_of(person)
    other_body = factories.agency(code="CNCA-R-2099-001", name="其他认证机构")
    stranger = staff_client(app, role="admin", agency_row=other_body)
    listing = page_text(stranger.get("/admin/phone-changes"))
    assert NEW_PHONE not in listing and "没有待审批的修改" in listing
    assert "没有待审批的登录手机号修改" in page_text(stranger.get("/admin/"))
    assert decide(stranger, held.id, "approve").status_code == 404
    assert decide(stranger, held.id, "refuse", reason="x").status_code == 404
    assert decide(stranger, 999999, "approve").status_code == 404
    assert fresh(PhoneChangeRequest, held.id).state == "pending"
    assert fresh(Auditor, person.id).phone == "13800000001" and log_entries() == []


def test_r18_read_only_staff_see_the_changes_but_get_403_for_a_decision_or_the_setting(app_context, app, person, sms_log):
    ask_for(app, person, NEW_PHONE, sms_log)
    (held,) = requests_of(person)
    reader = staff_client(app, role="readonly")
    listing = page_text(reader.get("/admin/phone-changes"))
    assert NEW_PHONE in listing and "批准</button>" not in listing
    for action in ("approve", "refuse"):
        answer = decide(reader, held.id, action)
        assert answer.status_code == 403 and "未做任何更改" in page_text(answer), action
    assert "修改登录手机号须审批：已开启" in page_text(reader.get("/admin/profile"))
    token = csrf_token(reader, "/admin/profile")
    assert reader.post("/admin/profile/phone-changes", data={"csrf_token": token}).status_code == 403
    manager = staff_client(app, role="manager")
    token = csrf_token(manager, "/admin/profile")
    assert manager.post("/admin/profile/phone-changes", data={"csrf_token": token}).status_code == 403
    assert fresh(Agency, person.agency_id).phone_change_approval is True
    assert fresh(PhoneChangeRequest, held.id).state == "pending"
    assert log_entries() == [] and log_entries("profile_changed") == []


def test_r18_phone_change_pages_in_english_carry_no_chinese_outside_the_data(app_context, app, person, sms_log):
    def english(text, *data):
        text = html.unescape(re.sub(r"<[^>]+>", " ", text)).replace("中文", "")
        for value in data:
            text = text.replace(value, "")
        assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", text), re.findall(
            r".{0,20}[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+.{0,20}", text)[:3]
        return text

    phone = app.test_client()
    phone.get("/lang/en")
    post(phone, "/phone/change", identity(person))
    assert "approves every change of login number" in english(page_text(phone.get("/phone/change/new")))
    ask_for(app, person, NEW_PHONE, sms_log, client=phone)
    assert "waits for its approval" in english(page_text(phone.get("/login")))
    desk = staff_client(app, role="admin")
    desk.get("/lang/en")
    names = (person.name, "admin员", "CNCA", factories.agency().name)
    assert "Login number changes awaiting approval" in english(page_text(desk.get("/admin/phone-changes")), *names)
    assert "1 change of login number awaits approval" in english(page_text(desk.get("/admin/")), *names)
    assert "Hold every change" in english(page_text(desk.get("/admin/profile")), *names)
