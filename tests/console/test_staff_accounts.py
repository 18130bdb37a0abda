"""Staff accounts of the management end (R18): the model, the service and the CLI."""
from __future__ import annotations

import time

import pyotp
import pytest
from werkzeug.security import check_password_hash

from checkin_pwa.domain import staff as rules
from checkin_pwa.domain.passwords import password_problems
from checkin_pwa.extensions import db
from checkin_pwa.models import AuditLogEntry, Staff
from checkin_pwa.services import audit, demo, staff

from .. import factories


def actions() -> list[str]:
    return list(db.session.scalars(db.select(AuditLogEntry.action).order_by(AuditLogEntry.id)))


def test_r18_roles_are_ranked_admin_over_manager_over_readonly():
    assert rules.role_allows("admin", "manager") and rules.role_allows("admin", "readonly")
    assert rules.role_allows("manager", "readonly") and not rules.role_allows("manager", "admin")
    assert not rules.role_allows("readonly", "manager")
    assert not rules.role_allows("superuser", "readonly")


def test_totp_code_is_accepted_once_and_not_after_its_step():
    secret = rules.new_totp_secret()
    now = 1_800_000_000.0
    code = pyotp.TOTP(secret).at(now)
    step = rules.accepted_step(secret, code, now=now, last_step=None)
    assert step == int(now) // 30
    # The same code again (a replay, even within its 30 s) is refused.
    assert rules.accepted_step(secret, code, now=now + 5, last_step=step) is None
    # One step of drift either side, not more.
    assert rules.accepted_step(secret, code, now=now + 30, last_step=None) == step
    assert rules.accepted_step(secret, code, now=now + 95, last_step=None) is None
    assert rules.accepted_step(secret, "12345", now=now, last_step=None) is None
    # Full-width digits from a Chinese input method are the same code.
    full_width = "".join(chr(ord(ch) + 0xFEE0) for ch in code)
    assert rules.accepted_step(secret, full_width, now=now, last_step=None) == step


def test_recovery_codes_are_random_and_read_without_dashes_or_case():
    codes = rules.new_recovery_codes()
    assert len(set(codes)) == rules.RECOVERY_CODE_COUNT
    assert rules.recovery_code_hash(codes[0].upper().replace("-", " ")) == rules.recovery_code_hash(codes[0])


def test_r1_initial_passwords_meet_the_password_rule():
    for _ in range(20):
        assert password_problems(staff.new_initial_password()) == []


def test_create_staff_hashes_the_initial_password_and_logs_it(app_context, app):
    body = factories.agency()
    by = audit.Actor(None, body.id, "test", "127.0.0.1")
    person, password = staff.create_staff(body, "１３９ 0000 0009", " 李 四 ", "manager", by=by)
    assert person.phone == "13900000009" and person.name == "李 四" and person.role == "manager"
    assert person.must_change_password and person.totp_secret is None and not person.disabled
    assert check_password_hash(person.password_hash, password) and password not in person.password_hash
    entry = db.session.scalar(db.select(AuditLogEntry))
    assert entry.action == "staff_created" and entry.target == f"staff:{person.id}"
    assert entry.after["role"] == "manager" and "password" not in str(entry.after)


@pytest.mark.parametrize("phone, name, role, code", [
    ("12345", "A", "admin", "not_a_mobile"),
    ("13900000001", "  ", "admin", "empty_name"),
    ("13900000001", "A", "root", "unknown_role"),
])
def test_create_staff_refuses_bad_input_and_changes_nothing(app_context, app, phone, name, role, code):
    body = factories.agency()
    with pytest.raises(staff.StaffRefused) as refused:
        staff.create_staff(body, phone, name, role, by=audit.Actor(None, body.id, "test", "cli"))
    assert refused.value.code == code
    assert db.session.scalar(db.select(db.func.count()).select_from(Staff)) == 0


def test_a_number_is_one_staff_account(app_context, app):
    body = factories.agency()
    factories.staff(body, phone="13900000001")
    with pytest.raises(staff.StaffRefused, match="phone_taken"):
        staff.create_staff(body, "13900000001", "B", "admin", by=audit.Actor(None, body.id, "t", "cli"))


def test_second_factor_login_refuses_a_replayed_code_and_uses_recovery_codes_once(app_context, app):
    person = factories.staff(totp_secret=None)
    secret = rules.new_totp_secret()
    now = time.time()
    assert staff.set_up_second_factor(person, secret, "000000" if pyotp.TOTP(secret).at(now) != "000000" else "111111",
                                      now=now, address="1.2.3.4") is None
    assert person.totp_secret is None
    codes = staff.set_up_second_factor(person, secret, pyotp.TOTP(secret).at(now), now=now, address="1.2.3.4")
    assert codes and person.totp_secret == secret
    # The code just used to set up is spent.
    assert staff.check_second_factor(person, pyotp.TOTP(secret).at(now), now=now, address="1.2.3.4") is None
    assert staff.check_second_factor(person, pyotp.TOTP(secret).at(now + 30), now=now + 30, address="1.2.3.4") == "totp"
    assert staff.check_second_factor(person, codes[0], now=now + 60, address="1.2.3.4") == "recovery"
    assert staff.check_second_factor(person, codes[0], now=now + 60, address="1.2.3.4") is None
    assert staff.recovery_codes_left(person) == len(codes) - 1
    assert actions() == ["second_factor_failed", "second_factor_set_up", "second_factor_failed", "login",
                         "recovery_code_used", "login", "second_factor_failed"]


def test_the_audit_log_refuses_updates_and_deletes(app_context, app):
    body = factories.agency()
    entry = audit.record(audit.Actor(None, body.id, "t", "cli"), "login")
    db.session.commit()
    entry.action = "logout"
    with pytest.raises(PermissionError):
        db.session.commit()
    db.session.rollback()
    db.session.delete(db.session.get(AuditLogEntry, entry.id))
    with pytest.raises(PermissionError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditLogEntry, entry.id).action == "login"


# --- the CLI ------------------------------------------------------------------------------

def test_create_staff_command_prints_an_initial_password_that_logs_in(app_context, runner):
    factories.agency()
    db.session.commit()
    result = runner.invoke(args=["create-staff", "CNCA-R-2002-117", "13900000005", "赵六", "--role", "admin"])
    assert result.exit_code == 0, result.output
    password = result.stdout.strip().splitlines()[-1]
    person = db.session.scalar(db.select(Staff).filter_by(phone="13900000005"))
    assert person.role == "admin" and person.must_change_password
    assert check_password_hash(person.password_hash, password)
    again = runner.invoke(args=["create-staff", "CNCA-R-2002-117", "13900000005", "赵六"])
    assert again.exit_code == 1 and "已是另一个工作人员账号的登录名" in again.stderr
    unknown = runner.invoke(args=["create-staff", "NOPE", "13900000006", "X", "--lang", "en"])
    assert unknown.exit_code == 1 and "No certification body with code NOPE" in unknown.stderr


def test_seed_demo_prints_the_console_login_and_staff_totp_prints_its_code(app_context, runner):
    result = runner.invoke(args=["seed-demo", "--lang", "en"])
    assert result.exit_code == 0, result.output
    person = db.session.scalar(db.select(Staff).filter_by(phone=demo.DEMO_STAFF))
    assert person.role == "admin" and not person.must_change_password and person.totp_secret
    assert person.totp_secret in result.stdout and "/admin/" in result.stdout
    code = runner.invoke(args=["staff-totp", demo.DEMO_STAFF])
    assert code.exit_code == 0
    assert rules.accepted_step(person.totp_secret, code.stdout.strip(), now=time.time(), last_step=None)
    other = factories.staff(phone="13900000077")
    db.session.commit()
    refused = runner.invoke(args=["staff-totp", other.phone, "--lang", "en"])
    assert refused.exit_code == 1 and "Only for the demo account" in refused.stderr
