"""The console's areas: one guard for roles (R18), the body scope (R16: another body's
row is a 404), the body's profile, staff management, and the append-only audit log."""
from __future__ import annotations

import csv
import io
import re


import pytest

from checkin_pwa.extensions import db
from checkin_pwa.models import Agency, AuditLogEntry, Staff

from .. import factories
from ..helpers import csrf_token, log_in
from .conftest import console_login, logged_in, post_new_password, post_password

pytestmark = pytest.mark.usefixtures("app_context")


def entries(action=None) -> list[AuditLogEntry]:
    db.session.expire_all()
    query = db.select(AuditLogEntry).order_by(AuditLogEntry.id)
    if action:
        query = query.where(AuditLogEntry.action == action)
    return list(db.session.scalars(query))


CONTACT = {"contact_name": "李老师", "contact_phone": "0435-1234567", "contact_email": "li@example.com"}


# --- the guard ------------------------------------------------------------------------------

def test_r18_read_only_staff_posting_to_a_write_route_gets_403_and_nothing_changes(app):
    reader = factories.staff(role="readonly")
    db.session.commit()
    client = logged_in(app, reader)
    token = csrf_token(client, "/admin/profile")
    answer = client.post("/admin/profile", data={**CONTACT, "csrf_token": token})
    assert answer.status_code == 403
    assert "您的角色（只读）无权执行此操作，未做任何更改" in answer.get_data(as_text=True)
    for path, data in [("/admin/staff/new", {"name": "X", "phone": "13911111111", "role": "admin"}),
                       (f"/admin/staff/{reader.id}/reset", {}), (f"/admin/staff/{reader.id}/role", {"role": "admin"})]:
        assert client.post(path, data={**data, "csrf_token": token}).status_code == 403, path
    db.session.expire_all()
    assert db.session.get(Agency, reader.agency_id).contact_name is None
    assert db.session.get(Staff, reader.id).role == "readonly"
    assert db.session.scalar(db.select(db.func.count()).select_from(Staff)) == 1
    # Reading is allowed.
    assert client.get("/admin/profile").status_code == 200


def test_r18_a_manager_reaches_no_staff_or_log_page(app):
    manager = factories.staff(role="manager")
    db.session.commit()
    client = logged_in(app, manager)
    for path in ("/admin/staff", "/admin/staff/new", "/admin/log", "/admin/log.csv", f"/admin/staff/{manager.id}"):
        assert client.get(path).status_code == 403, path
    assert "审核管理" in client.get("/admin/").get_data(as_text=True)


def test_r16_another_bodys_staff_and_log_rows_are_404(app, admin):
    other_body = factories.agency(code="CNCA-R-2099-001", name="其他认证机构")
    stranger = factories.staff(other_body, name="外人")
    db.session.commit()
    stranger_client = logged_in(app, stranger)
    foreign_entry = entries("login")[-1]
    assert foreign_entry.agency_id == other_body.id
    client = logged_in(app, admin, offset_steps=1)
    token = csrf_token(client, "/admin/")
    assert client.get(f"/admin/log/{foreign_entry.id}").status_code == 404
    assert client.get(f"/admin/staff/{stranger.id}").status_code == 404
    for action in ("disable", "reset"):
        assert client.post(f"/admin/staff/{stranger.id}/{action}", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/admin/staff/{stranger.id}/role", data={"role": "readonly", "csrf_token": token}).status_code == 404
    assert client.get("/admin/staff/999999").status_code == 404
    db.session.expire_all()
    assert not db.session.get(Staff, stranger.id).disabled and db.session.get(Staff, stranger.id).role == "admin"
    assert stranger_client.get("/admin/").status_code == 200, "the other body's session is untouched"
    # Nor is it listed or exported.
    assert "外人" not in client.get("/admin/log").get_data(as_text=True)
    assert "外人" not in client.get("/admin/log.csv").get_data(as_text=True)
    assert "外人" not in client.get("/admin/staff").get_data(as_text=True)


# --- the body's profile ------------------------------------------------------------------------

def test_r18_the_console_shows_a_banner_until_the_contact_person_is_filled_in(app, admin, staff_client):
    assert "尚未填写机构联系人" in staff_client.get("/admin/").get_data(as_text=True)
    token = csrf_token(staff_client, "/admin/profile")
    bad = staff_client.post("/admin/profile", data={**CONTACT, "contact_email": "not-an-email", "csrf_token": token})
    assert bad.status_code == 422 and "请输入电子邮箱" in bad.get_data(as_text=True)
    saved = staff_client.post("/admin/profile", data={**CONTACT, "csrf_token": token})
    assert saved.status_code == 303
    assert "尚未填写机构联系人" not in staff_client.get("/admin/").get_data(as_text=True)
    change = entries("profile_changed")
    assert len(change) == 1 and change[0].before["contact_name"] is None and change[0].after == CONTACT


def test_r18_the_auditors_help_page_reads_the_profiles_contact_before_the_configuration(app, admin, staff_client):
    app.config.update(HELP_CONTACT_NAME="配置联系人", HELP_CONTACT_PHONE="010-0000000")
    auditor = factories.auditor()
    auditor.agency_id = admin.agency_id
    db.session.commit()
    phone = app.test_client()
    log_in(phone, auditor)
    assert "配置联系人" in phone.get("/help").get_data(as_text=True)
    token = csrf_token(staff_client, "/admin/profile")
    staff_client.post("/admin/profile", data={**CONTACT, "csrf_token": token})
    page = phone.get("/help").get_data(as_text=True)
    assert "李老师" in page and "0435-1234567" in page and "配置联系人" not in page


# --- staff management ------------------------------------------------------------------------------

def test_r18_an_admin_adds_a_staff_member_whose_initial_password_logs_in_once_changed(app, admin, staff_client):
    token = csrf_token(staff_client, "/admin/staff/new")
    bad = staff_client.post("/admin/staff/new", data={"name": "赵六", "phone": "12345", "role": "readonly",
                                                     "csrf_token": token})
    assert bad.status_code == 422
    taken = staff_client.post("/admin/staff/new", data={"name": "赵六", "phone": admin.phone, "role": "readonly",
                                                       "csrf_token": token})
    assert taken.status_code == 422 and "已是另一个工作人员账号的登录名" in taken.get_data(as_text=True)
    added = staff_client.post("/admin/staff/new", data={"name": "赵六", "phone": "13955556666", "role": "readonly",
                                                       "csrf_token": token})
    assert added.status_code == 200
    password = re.search(r"data-initial-password>([^<]+)<", added.get_data(as_text=True)).group(1)
    newcomer = db.session.scalar(db.select(Staff).filter_by(phone="13955556666"))
    assert newcomer.agency_id == admin.agency_id and newcomer.must_change_password
    client = app.test_client()
    assert post_password(client, "13955556666", password).headers["Location"] == "/admin/password"
    created = entries("staff_created")[-1]
    assert created.staff_id == admin.id and created.after["phone"] == "13955556666"
    assert "13955556666" in staff_client.get("/admin/staff").get_data(as_text=True)


def test_r18_an_admin_changes_a_role_disables_and_resets_and_every_change_ends_sessions(app, admin, staff_client):
    colleague = factories.staff(name="同事", role="manager")
    db.session.commit()
    other = logged_in(app, colleague, offset_steps=1)
    token = csrf_token(staff_client, f"/admin/staff/{colleague.id}")

    assert staff_client.post(f"/admin/staff/{colleague.id}/role", data={"role": "readonly", "csrf_token": token}).status_code == 303
    assert other.get("/admin/").headers["Location"].startswith("/admin/login"), "a role change ends their session"
    changed = entries("staff_role_changed")[-1]
    assert (changed.before["role"], changed.after["role"]) == ("manager", "readonly")

    assert staff_client.post(f"/admin/staff/{colleague.id}/disable", data={"csrf_token": token}).status_code == 303
    assert post_password(app.test_client(), colleague.phone).status_code == 422
    assert staff_client.post(f"/admin/staff/{colleague.id}/enable", data={"csrf_token": token}).status_code == 303

    reset = staff_client.post(f"/admin/staff/{colleague.id}/reset", data={"csrf_token": token})
    password = re.search(r"data-initial-password>([^<]+)<", reset.get_data(as_text=True)).group(1)
    db.session.expire_all()
    stored = db.session.get(Staff, colleague.id)
    assert stored.must_change_password and stored.totp_secret is None and stored.recovery_codes == []
    fresh = app.test_client()
    assert post_password(fresh, colleague.phone, password).headers["Location"] == "/admin/password"
    assert [e.action for e in entries() if e.target == f"staff:{colleague.id}"] == [
        "staff_role_changed", "staff_disabled", "staff_enabled", "staff_reset"]
    # Nobody disables or demotes themselves (the body would lose its last administrator).
    own = staff_client.post(f"/admin/staff/{admin.id}/disable", data={"csrf_token": token}, follow_redirects=True)
    assert "不能在这里更改自己的角色或账号" in own.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(Staff, admin.id).disabled


# --- the audit log -------------------------------------------------------------------------------------

def test_r18_no_route_updates_or_deletes_an_audit_log_entry(app):
    """Every route under /admin/log accepts GET only; no route anywhere takes PUT, PATCH or DELETE."""
    for rule in app.url_map.iter_rules():
        assert not (rule.methods & {"PUT", "PATCH", "DELETE"}), rule.rule
        if rule.endpoint.startswith("console.log."):
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule.rule


def test_r18_admins_read_the_log_filtered_paginated_and_as_csv(app, admin, staff_client):
    from checkin_pwa.services import audit

    actor = audit.actor_for(admin, "10.0.0.9")
    for n in range(60):
        audit.record(actor, "login_failed" if n % 2 else "logout", after={"n": n})
    # A name a spreadsheet would run as a formula.
    audit.record(audit.Actor(admin.id, admin.agency_id, "=HYPERLINK(\"x\")", "10.0.0.9"), "profile_changed",
                 after={"contact_name": "李"})
    db.session.commit()
    page = staff_client.get("/admin/log").get_data(as_text=True)
    assert "共 62 条" in page and "第 1 / 2 页" in page
    filtered = staff_client.get("/admin/log?action=login_failed&page=1", headers={"HX-Request": "true"})
    body = filtered.get_data(as_text=True)
    assert body.startswith('<section id="log-entries">') and "共 30 条" in body and "<html" not in body
    assert "HX-Request" in filtered.headers["Vary"]
    bad_date = staff_client.get("/admin/log?since=2026-13-45").get_data(as_text=True)
    assert "已忽略" in bad_date and "共 62 条" in bad_date
    exported = staff_client.get("/admin/log.csv?action=profile_changed")
    assert exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["序号", "时间", "操作人"] and len(rows) == 2
    assert rows[1][4] == "修改机构资料" and rows[1][2] == "'=HYPERLINK(\"x\")" and "李" in rows[1][7]
    detail = staff_client.get(f"/admin/log/{entries('profile_changed')[0].id}").get_data(as_text=True)
    assert "10.0.0.9" in detail and "contact_name" in detail


def test_console_pages_in_english_carry_no_chinese_outside_the_bodys_data(app, admin, staff_client):
    """English complete: every console page, with the body's and people's names set aside."""
    import html

    colleague = factories.staff(name="同事")
    db.session.commit()
    staff_client.get("/lang/en")
    data = {admin.agency.name, admin.name, colleague.name}
    for path in ("/admin/", "/admin/me", "/admin/me/password", "/admin/profile", "/admin/staff", "/admin/staff/new",
                 f"/admin/staff/{colleague.id}", "/admin/log", f"/admin/log/{entries()[0].id}"):
        page = staff_client.get(path)
        assert page.status_code == 200, path
        text = html.unescape(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True)))
        for value in data:
            text = text.replace(value, "")
        # The language switch names itself in its own language.
        text = text.replace("中文", "")
        assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", text), (path, re.findall(
            r".{0,20}[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+.{0,20}", text)[:3])


def test_console_login_steps_in_english_carry_no_chinese(app):
    import html

    newcomer = factories.staff(must_change=True, totp_secret=None)
    db.session.commit()
    client = app.test_client()
    client.get("/lang/en")

    def english(path):
        page = client.get(path)
        text = html.unescape(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True))).replace("中文", "")
        assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", text), path
        return page

    english("/admin/login")
    post_password(client, newcomer.phone)
    english("/admin/password")
    post_new_password(client, "/admin/password", "New#pass2026")
    assert "Set up the second factor" in english("/admin/second-factor").get_data(as_text=True)
