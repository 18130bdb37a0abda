"""The operator's commands: import-plans, create-token, seed-demo."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from checkin_pwa.domain import clock
from checkin_pwa.domain.geo import Point, distance_m
from checkin_pwa.extensions import db
from checkin_pwa.models import (Agency, ApiToken, AuditPlan, Auditor, CheckEvent, Enterprise, Notice, Photo, PlanSite,
                                TeamMember)
from checkin_pwa.services import demo, tokens

pytestmark = pytest.mark.usefixtures("app_context")

EXAMPLE = Path(__file__).parent / "data" / "plans_example.json"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MODELS = (Agency, ApiToken, Auditor, Enterprise, AuditPlan, PlanSite, TeamMember, CheckEvent, Photo, Notice)


def rows() -> dict[str, int]:
    return {model.__name__: db.session.scalar(db.select(db.func.count()).select_from(model)) for model in MODELS}


def write(tmp_path, document, name="plans.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return str(path)


# --- import-plans --------------------------------------------------------------------

def test_import_plans_prints_what_it_created_then_updated(runner):
    result = runner.invoke(args=["import-plans", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "新建计划：P-2026-000123" in result.stdout
    assert "更新计划：无" in result.stdout
    assert "新建审核员账号：13800000001, 13800000002" in result.stdout
    again = runner.invoke(args=["import-plans", "--lang", "en", str(EXAMPLE)])
    assert again.exit_code == 0
    assert "Plans created: none" in again.stdout
    assert "Plans updated: P-2026-000123" in again.stdout
    assert rows()["AuditPlan"] == 1


def test_import_plans_refuses_with_every_problem_and_exit_1(runner, tmp_path):
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    document["plans"][0]["start"] = "2026-08-18T08:30:00"
    document["plans"][0]["team"][0]["phone"] = "12345"
    result = runner.invoke(args=["import-plans", write(tmp_path, document)])
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "导入被拒绝，未做任何更改：共 2 个问题。",
        "  plans[0].start: 必须是带 UTC 偏移的 ISO 8601 日期时间，例如 2021-08-18T08:30:00+08:00",
        "  plans[0].team[0].phone: 必须是以 1 开头的 11 位手机号码",
    ]
    assert "Traceback" not in result.output
    assert set(rows().values()) == {0}


def test_import_plans_explains_a_file_it_cannot_use(runner, tmp_path):
    missing = runner.invoke(args=["import-plans", str(tmp_path / "nope.json")])
    assert missing.exit_code == 1
    assert missing.stderr.startswith(f"无法读取 {tmp_path / 'nope.json'}：")
    broken = tmp_path / "broken.json"
    broken.write_text('{"agency": {"code": "X",\n}', encoding="utf-8")
    result = runner.invoke(args=["import-plans", "--lang", "en", str(broken)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"{broken}: The document is not valid JSON (line 2, column 1)."
    directory = runner.invoke(args=["import-plans", str(tmp_path)])
    assert directory.exit_code == 1 and "Traceback" not in directory.output
    assert set(rows().values()) == {0}


# --- create-token --------------------------------------------------------------------

def test_create_token_prints_it_once_and_stores_only_its_hash(runner):
    runner.invoke(args=["import-plans", str(EXAMPLE)])
    result = runner.invoke(args=["create-token", "CNCA-R-2002-117"])
    assert result.exit_code == 0
    token = result.stdout.strip().splitlines()[-1]
    assert len(token) >= 43
    stored = db.session.scalars(db.select(ApiToken)).all()
    assert [row.token_hash for row in stored] == [hashlib.sha256(token.encode()).hexdigest()]
    # Nowhere in the database is the token itself.
    dump = "\n".join(str(row) for table in db.metadata.sorted_tables for row in db.session.execute(db.select(table)))
    assert token not in dump
    assert tokens.agency_for_token(token).code == "CNCA-R-2002-117"
    second = runner.invoke(args=["create-token", "CNCA-R-2002-117"]).stdout.strip().splitlines()[-1]
    assert second != token and rows()["ApiToken"] == 2


def test_create_token_for_an_unknown_body_fails_clearly(runner):
    result = runner.invoke(args=["create-token", "CNCA-R-9999-999"])
    assert result.exit_code == 1
    assert "没有代码为 CNCA-R-9999-999 的认证机构" in result.stderr
    assert rows()["ApiToken"] == 0 and rows()["Agency"] == 0


# --- seed-demo -----------------------------------------------------------------------

def test_seed_demo_twice_gives_the_same_rows(runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    counted = rows()
    assert counted["AuditPlan"] == 8 and counted["Auditor"] == 3
    assert counted["CheckEvent"] == 3 and counted["Photo"] == 2 and counted["Notice"] == 2
    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0
    assert rows() == counted
    numbers = demo.plan_numbers(demo.demo_today())
    assert f"更新计划：{numbers['QMS']}, {numbers['EMS']}, {numbers['OHSMS']}, {numbers['ISMS']}" in second.stdout
    assert numbers["PAST-EXC"] in second.stdout
    for output in (first.stdout, second.stdout):
        assert "13800000001  Demo#2026a  张三  (可直接登录)" in output
        assert f"13800000002  {runner.app.config['DEFAULT_INITIAL_PASSWORD']}  李四" in output
        assert numbers["OHSMS"] in output
        # The demo regulator, ready like the demo admin (staff-totp prints its code).
        assert "http://127.0.0.1:8000/admin/regulator" in output and "13900000002  Demo#2026a  刘监管" in output
    assert runner.invoke(args=["staff-totp", "13900000002"]).stdout.strip().isdigit()


def _plans_by_code() -> dict[str, AuditPlan]:
    """Today's demo plans (the ones around today reuse project codes)."""
    today = demo.plan_numbers(demo.demo_today())
    numbers = [today[key] for key in demo.TODAY_KEYS]
    return {plan.project_code: plan for plan in db.session.scalars(
        db.select(AuditPlan).where(AuditPlan.plan_no.in_(numbers)))}


def test_r7_demo_enterprise_has_three_must_sign_plans_whose_teams_differ(runner):
    runner.invoke(args=["seed-demo"])
    plans = _plans_by_code()
    today = demo.demo_today()
    must_sign = [plans["ISO9001"], plans["ISO14001"], plans["ISO45001"]]
    assert len({plan.enterprise_id for plan in must_sign}) == 1
    assert all(plan.required for plan in must_sign)

    def local(moment):
        return moment.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI)

    for plan in must_sign:
        assert local(plan.start_utc).date() <= today <= local(plan.end_utc).date()
    teams = {code: {m.auditor.phone for m in plans[code].team} for code in ("ISO9001", "ISO14001", "ISO45001")}
    assert "13800000001" in teams["ISO9001"] and "13800000001" in teams["ISO14001"]
    assert "13800000001" not in teams["ISO45001"]
    assert all("13800000002" in team for team in teams.values())
    # EMS ends today at 17:30; the others end tomorrow or later.
    assert local(plans["ISO14001"].end_utc) == dt.datetime.combine(today, dt.time(17, 30), SHANGHAI)
    assert local(plans["ISO9001"].end_utc).date() > today and local(plans["ISO45001"].end_utc).date() > today


def test_r15_demo_qms_has_two_located_sites_a_few_km_apart(runner):
    runner.invoke(args=["seed-demo"])
    first, second = _plans_by_code()["ISO9001"].sites
    assert (first.lat, first.lon) == (41.1256, 126.1865)
    apart = distance_m(Point(first.lat, first.lon), Point(second.lat, second.lon))
    assert 1000 < apart < 5000


def test_r2_demo_has_a_remote_plan_of_another_enterprise_today(runner):
    runner.invoke(args=["seed-demo"])
    plans = _plans_by_code()
    remote = [plan for plan in plans.values() if plan.mode == "remote"]
    assert len(remote) == 1
    assert remote[0].enterprise_id != plans["ISO9001"].enterprise_id
    assert "13800000001" in {m.auditor.phone for m in remote[0].team}


def test_the_demo_logins_work(runner, auth, client, app):
    runner.invoke(args=["seed-demo"])
    ready = auth.login("13800000001", demo.DEMO_PASSWORD)
    assert ready.status_code == 303 and "/password" not in ready.headers["Location"]
    auth.logout()
    # The second auditor keeps the initial password and must change it first (R1).
    first_time = auth.login("13800000002", app.config["DEFAULT_INITIAL_PASSWORD"])
    assert first_time.status_code == 303 and first_time.headers["Location"].endswith("/password")


def test_seed_demo_keeps_a_password_the_demo_auditor_changed(runner):
    runner.invoke(args=["seed-demo"])
    person = db.session.scalar(db.select(Auditor).filter_by(phone="13800000001"))
    from werkzeug.security import generate_password_hash
    person.password_hash = generate_password_hash("Mine#2026x", method="pbkdf2:sha256:1000")
    db.session.commit()
    result = runner.invoke(args=["seed-demo", "--lang", "en"])
    assert "13800000001  ********  张三  (password changed by its owner since seeding)" in result.stdout
    db.session.refresh(person)
    assert person.password_hash.startswith("pbkdf2:")


def test_r10_demo_history_has_one_clean_audit_and_one_with_each_exception(runner):
    from checkin_pwa.domain import audit_exceptions as r10
    from checkin_pwa.services import plan_status

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    numbers = demo.plan_numbers(demo.demo_today())
    plans = {plan.plan_no: plan for plan in db.session.scalars(db.select(AuditPlan))}
    clean = plan_status.status_of(plans[numbers["PAST-OK"]], clock.now())
    assert clean.state == "checked_out" and clean.exceptions == ()
    troubled = plan_status.status_of(plans[numbers["PAST-EXC"]], clock.now())
    assert [e.code for e in troubled.exceptions] == [r10.NOT_SIGNED, r10.DEVIATION, r10.PHOTOS_MISSING]
    assert troubled.exceptions[0].missing == ("out",)
    assert troubled.exceptions[1].distance_m > 400_000  # checked in in Beijing, the plant is in Dalian
