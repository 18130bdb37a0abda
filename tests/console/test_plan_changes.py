"""A plan changed or cancelled before it starts (R19): the console's edit and cancel, each
one transaction with one history row and one audit log entry; a re-import that changes a
plan is kept in the same history; the team is shown what changed. Refused after the start,
for a member who already signed, for bad input (nothing changes); another body's plan is a
404 (R16); a read-only staff member may not (403)."""
from __future__ import annotations

import copy
import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest

from checkin_pwa.domain import clock as server_clock, plan_changes as diffs
from checkin_pwa.extensions import db
from checkin_pwa.models import AuditLogEntry, AuditPlan, CheckEvent, PlanChange
from checkin_pwa.services import checkin
from checkin_pwa.services.plan_import import import_plans

from .. import factories as f
from ..helpers import csrf_token, csrf_token_from, log_in
from .conftest import console_login
from .test_board import clock  # noqa: F401  (the fixture: the server's clock, set by the test)

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "plans_example.json"


def visible(response) -> str:
    page = response.get_data(as_text=True)
    main = page[page.index("<main"):page.index("</main>")] if "<main" in page else page
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", main)))


def staff_client(app, role="manager", agency_row=None, offset_steps=0):
    person = f.staff(agency_row, role=role)
    db.session.commit()
    client = app.test_client()
    console_login(client, person, offset_steps=offset_steps)
    return client, person


def future_plan(*team, days=2):
    plan = f.plan(list(team), start=f.local_today(days, 9, 0), end=f.local_today(days + 1, 17, 0))
    db.session.commit()
    return plan


def edit_form(client, plan_id) -> dict:
    """The edit form's fields as the page fills them (what a browser would post)."""
    page = client.get(f"/admin/plans/{plan_id}/edit")
    assert page.status_code == 200, page.get_data(as_text=True)
    text = page.get_data(as_text=True)
    data = {"csrf_token": csrf_token_from(page)}
    for tag, name, value in re.findall(r'(<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"[^>]*>)', text):
        if name != "csrf_token" and ('type="checkbox"' not in tag or " checked" in tag):
            data[name] = html.unescape(value)
    for name, value in re.findall(r'<select name="([^"]+)"[^>]*>.*?<option value="([^"]+)" selected', text, re.S):
        data[name] = value
    data["remarks"] = html.unescape(re.search(r'<textarea id="remarks"[^>]*>(.*?)</textarea>', text, re.S).group(1))
    return data


def state_of(plan_id):
    db.session.expire_all()
    plan = db.session.get(AuditPlan, plan_id)
    return (plan.start_utc, plan.end_utc, plan.remarks, plan.status,
            [(s.address, s.lat, s.lon) for s in plan.sites], [(m.auditor_id, m.role) for m in plan.team])


def history_rows(plan_id) -> list[PlanChange]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(PlanChange).where(PlanChange.plan_id == plan_id).order_by(PlanChange.id)))


def log_entries(prefix="plan_") -> list[AuditLogEntry]:
    db.session.expire_all()
    return [entry for entry in db.session.scalars(db.select(AuditLogEntry).order_by(AuditLogEntry.id))
            if entry.action.startswith(prefix)]


# --- the comparison ---------------------------------------------------------------------------

def test_r19_diff_names_each_changed_field_before_and_after_and_net_folds_a_run():
    before = {"start": "2026-11-30 09:00", "end": "2026-12-01 17:00", "sites": [{"address": "A", "lat": 1.0, "lon": 2.0}],
              "team": [{"phone": "13800000001", "name": "张三", "role": "leader"}], "remarks": None, "status": "valid"}
    after = {**before, "start": "2026-11-30 10:00", "remarks": "带安全帽",
             "team": [*before["team"], {"phone": "13800000002", "name": "李四", "role": "member"}]}
    assert diffs.diff(before, after) == [
        {"field": "start", "before": "2026-11-30 09:00", "after": "2026-11-30 10:00"},
        {"field": "team", "before": before["team"], "after": after["team"]},
        {"field": "remarks", "before": None, "after": "带安全帽"},
    ]
    assert diffs.diff(before, copy.deepcopy(before)) == []
    back = {**after, "start": "2026-11-30 09:00"}
    folded = diffs.net([diffs.diff(before, after), diffs.diff(after, back)])
    assert [change["field"] for change in folded] == ["team", "remarks"]  # the start went back
    assert diffs.time_pair("2026-11-30 09:00", "2026-11-30 10:00") == ("2026-11-30 09:00", "10:00")
    moves = diffs.team_moves(before["team"], after["team"])
    assert [m["name"] for m in moves.joined] == ["李四"] and not moves.left


# --- the console ---------------------------------------------------------------------------------

def test_r19_console_edit_changes_times_sites_team_remarks_in_one_history_row_and_log_entry(app_context, app):
    leader, member, newcomer = f.auditor(name="贾组长"), f.auditor(name="崔组员"), f.auditor(name="王新人")
    plan = future_plan(leader, member)
    client, person = staff_client(app)
    data = edit_form(client, plan.id)
    assert data["start"].endswith("T09:00")
    day = data["start"][:10]
    data.update({"start": f"{day}T10:00", "site-0-address": "吉林省集安市新厂区8号", "site-0-lat": "41.13",
                 "site-0-lon": "126.19", "team-1-remove": "1", "team-2-phone": newcomer.phone, "team-2-role": "expert",
                 "remarks": "请带安全帽"})
    answer = client.post(f"/admin/plans/{plan.id}/edit", data=data)
    assert answer.status_code == 303, visible(answer)

    db.session.expire_all()
    plan = db.session.get(AuditPlan, plan.id)
    assert server_clock.local(plan.start_utc, plan.timezone).strftime("%H:%M") == "10:00"
    assert [(s.address, s.lat, s.lon) for s in plan.sites] == [("吉林省集安市新厂区8号", 41.13, 126.19)]
    assert [(m.auditor.name, m.role) for m in plan.team] == [("贾组长", "leader"), ("王新人", "expert")]
    assert plan.remarks == "请带安全帽" and plan.status == "changed"
    [row] = history_rows(plan.id)
    assert row.source == "console" and row.staff_id == person.id and person.name in row.actor
    assert [c["field"] for c in row.changes] == ["start", "sites", "team", "remarks", "status"]
    assert row.changes[0]["before"].endswith("09:00") and row.changes[0]["after"].endswith("10:00")
    [entry] = log_entries()
    assert entry.action == "plan_changed" and entry.before["start"].endswith("09:00")
    assert entry.after["start"].endswith("10:00") and entry.after["remarks"] == "请带安全帽"

    page = visible(client.get(f"/admin/plans/{plan.id}"))
    assert "变更记录" in page and person.name in page
    assert f"{day} 09:00 → 10:00" in page and "请带安全帽" in page

    # The team: the plan page and today's list say what changed, until the audit ends.
    phone = app.test_client()
    log_in(phone, leader)
    seen = visible(phone.get(f"/plans/{plan.id}"))
    assert "计划已变更" in seen and f"开始时间 {day} 09:00 → 10:00" in seen
    assert "加入：王新人（技术专家）" in seen and "离开：崔组员" in seen and "请带安全帽" in seen
    assert "计划已变更" in visible(phone.get("/tasks"))


def test_r19_a_reimport_that_changes_a_plan_is_in_its_history_and_an_identical_one_is_not(app_context, app):
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    entry = document["plans"][0]
    entry["start"], entry["end"] = "2030-05-20T08:30:00+08:00", "2030-05-21T17:00:00+08:00"
    assert import_plans(document).accepted
    plan = db.session.scalar(db.select(AuditPlan).filter_by(plan_no=entry["plan_no"]))
    assert history_rows(plan.id) == []  # a new plan has no history
    assert import_plans(copy.deepcopy(document)).accepted
    assert history_rows(plan.id) == []  # sent again unchanged: nothing to tell

    entry["start"] = "2030-05-20T10:00:00+08:00"
    entry["remarks"] = "改期"
    assert import_plans(document).accepted
    [row] = history_rows(plan.id)
    assert row.source == "cli" and row.staff_id is None
    assert [c["field"] for c in row.changes] == ["start", "remarks"]
    assert (row.changes[0]["before"], row.changes[0]["after"]) == ("2030-05-20 08:30", "2030-05-20 10:00")


def test_r19_change_and_cancel_are_refused_once_the_plan_has_started(app_context, app, clock):  # noqa: F811
    person = f.auditor()
    plan = f.plan([person], start=f.local_today(1, 10, 0), end=f.local_today(2, 17, 0))
    clock.at = f.local_today(1, 10, 1)  # a minute after its start, on the server's clock
    db.session.commit()
    client, _ = staff_client(app)
    before = state_of(plan.id)
    page = client.get(f"/admin/plans/{plan.id}/edit", follow_redirects=True)
    assert "已开始" in visible(page) and "未做任何更改" in visible(page)
    token = csrf_token(client, f"/admin/plans/{plan.id}")
    answer = client.post(f"/admin/plans/{plan.id}/edit", data={"csrf_token": token, "start": "2030-01-01T09:00",
                                                                "end": "2030-01-02T09:00"}, follow_redirects=True)
    assert "已开始" in visible(answer)
    answer = client.post(f"/admin/plans/{plan.id}/cancel", data={"csrf_token": token, "reason": "企业停产"},
                         follow_redirects=True)
    assert "已开始" in visible(answer)
    assert state_of(plan.id) == before and history_rows(plan.id) == [] and log_entries() == []


def test_r19_a_member_who_already_signed_cannot_be_removed_and_nothing_changes(app_context, app):
    leader, member = f.auditor(name="贾组长"), f.auditor(name="崔组员")
    plan = future_plan(leader, member)
    # The member signed early for the team (a record is never rewritten by a plan change).
    db.session.add(CheckEvent(plan_id=plan.id, kind="in", signer_id=member.id, device_lat=f.SITE[0],
                              device_lon=f.SITE[1], chosen_lat=f.SITE[0], chosen_lon=f.SITE[1]))
    db.session.commit()
    client, _ = staff_client(app)
    data = edit_form(client, plan.id)
    before = state_of(plan.id)
    data.update({"team-1-remove": "1", "remarks": "换人"})
    answer = client.post(f"/admin/plans/{plan.id}/edit", data=data)
    assert answer.status_code == 422
    assert "崔组员 已为本计划签到或签退，不能移出审核组" in visible(answer)
    assert state_of(plan.id) == before and history_rows(plan.id) == [] and log_entries() == []


@pytest.mark.parametrize("change, message", [
    ({"end": "2020-01-01T09:00"}, "必须晚于"),
    ({"start": "明天"}, "不是有效的日期时间"),
    ({"site-0-lat": "北纬"}, "必须是数字"),
    ({"site-0-lat": "95"}, "-90"),
    ({"site-0-address": "", "site-0-lat": "", "site-0-lon": ""}, "至少"),
    ({"team-0-role": "boss"}, "必须是以下之一"),
])
def test_r19_bad_input_is_refused_in_chinese_and_changes_nothing(app_context, app, change, message):
    plan = future_plan(f.auditor())
    client, _ = staff_client(app)
    data = edit_form(client, plan.id)
    before = state_of(plan.id)
    data.update({"remarks": "不应保存", **change})
    answer = client.post(f"/admin/plans/{plan.id}/edit", data=data)
    assert answer.status_code == 422
    assert "未做任何更改" in visible(answer) and message in visible(answer)
    assert state_of(plan.id) == before and history_rows(plan.id) == [] and log_entries() == []


def test_r19_a_new_member_must_be_an_auditor_of_this_body(app_context, app):
    plan = future_plan(f.auditor())
    other_body = f.agency(code="CNCA-R-2099-001", name="别家认证")
    stranger = f.auditor(name="外机构")
    stranger.agency_id = other_body.id
    db.session.commit()
    client, _ = staff_client(app)
    data = edit_form(client, plan.id)
    before = state_of(plan.id)
    data.update({"team-1-phone": stranger.phone})
    answer = client.post(f"/admin/plans/{plan.id}/edit", data=data)
    assert answer.status_code == 422 and f"{stranger.phone} 不是本机构的审核员" in visible(answer)
    assert state_of(plan.id) == before and history_rows(plan.id) == []


def test_r19_cancel_with_a_reason_the_team_sees_and_check_in_is_refused(app_context, app, clock):  # noqa: F811
    # The audit is tomorrow (Beijing) at 10:00, and "today" is that day at 09:00 on the
    # server's clock: the plan is on the team's today and has not started, at any real time.
    leader = f.auditor(name="贾组长")
    plan = f.plan([leader], start=f.local_today(1, 10, 0), end=f.local_today(2, 17, 0))
    clock.at = f.local_today(1, 9, 0)
    db.session.commit()
    client, person = staff_client(app)
    token = csrf_token(client, f"/admin/plans/{plan.id}/cancel")
    answer = client.post(f"/admin/plans/{plan.id}/cancel", data={"csrf_token": token, "reason": "  "})
    assert answer.status_code == 422 and "不能为空" in visible(answer)
    assert history_rows(plan.id) == []

    answer = client.post(f"/admin/plans/{plan.id}/cancel", data={"csrf_token": token, "reason": "企业停产整顿"})
    assert answer.status_code == 303
    assert state_of(plan.id)[3] == "cancelled"
    [row] = history_rows(plan.id)
    assert row.reason == "企业停产整顿" and row.changes == [{"field": "status", "before": "valid", "after": "cancelled"}]
    [entry] = log_entries()
    assert entry.action == "plan_cancelled" and entry.after == {"status": "cancelled", "reason": "企业停产整顿"}
    # A second cancel, or an edit, of a cancelled plan is refused.
    again = client.post(f"/admin/plans/{plan.id}/cancel", data={"csrf_token": token, "reason": "再取消"},
                        follow_redirects=True)
    assert "已取消" in visible(again) and len(history_rows(plan.id)) == 1

    phone = app.test_client()
    log_in(phone, leader)
    seen = visible(phone.get(f"/plans/{plan.id}"))
    assert "已取消" in seen and "原因：企业停产整顿" in seen
    today = visible(phone.get("/"))
    assert "已取消" in today and "原因：企业停产整顿" in today
    card = checkin.task_card(leader, db.session.get(AuditPlan, plan.id), server_clock.now())
    assert card.check_in.reason == "plan_cancelled"


def test_r19_the_history_shows_who_changed_a_plan_from_which_channel(app_context, app):
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    entry = document["plans"][0]
    entry["start"], entry["end"] = "2030-05-20T08:30:00+08:00", "2030-05-21T17:00:00+08:00"
    assert import_plans(document).accepted
    entry["start"] = "2030-05-20T09:30:00+08:00"
    assert import_plans(document, source="api").accepted
    plan = db.session.scalar(db.select(AuditPlan).filter_by(plan_no=entry["plan_no"]))
    client, _ = staff_client(app, role="readonly", agency_row=plan.agency)
    page = visible(client.get(f"/admin/plans/{plan.id}"))
    assert "通过 API 令牌导入" in page and "2030-05-20 08:30 → 09:30" in page
    assert "修改计划" not in page  # a read-only member gets no change links


def test_r16_another_bodys_plan_is_404_for_edit_and_cancel(app_context, app):
    other_body = f.agency(code="CNCA-R-2099-002", name="另一家认证")
    plan = future_plan(f.auditor())
    before = state_of(plan.id)
    client, _ = staff_client(app, agency_row=other_body)
    token = csrf_token(client, "/admin/")
    for path in ("edit", "cancel"):
        assert client.get(f"/admin/plans/{plan.id}/{path}").status_code == 404
    for path in ("edit", "cancel"):
        answer = client.post(f"/admin/plans/{plan.id}/{path}", data={"csrf_token": token, "reason": "x",
                                                                       "start": "2030-01-01T09:00"})
        assert answer.status_code == 404
    assert state_of(plan.id) == before and history_rows(plan.id) == [] and log_entries() == []


def test_r19_read_only_staff_may_read_the_history_but_not_change_or_cancel(app_context, app):
    plan = future_plan(f.auditor())
    before = state_of(plan.id)
    client, _ = staff_client(app, role="readonly")
    assert client.get(f"/admin/plans/{plan.id}").status_code == 200
    token = csrf_token(client, f"/admin/plans/{plan.id}")
    assert client.get(f"/admin/plans/{plan.id}/edit").status_code == 403
    for path in ("edit", "cancel"):
        answer = client.post(f"/admin/plans/{plan.id}/{path}", data={"csrf_token": token, "reason": "x"})
        assert answer.status_code == 403 and "未做任何更改" in visible(answer)
    assert state_of(plan.id) == before and history_rows(plan.id) == [] and log_entries() == []


def test_r19_the_team_notice_ends_with_the_audit(app_context, app):
    leader = f.auditor()
    plan = future_plan(leader)
    client, person = staff_client(app)
    from checkin_pwa.services import plan_changes

    plan = db.session.get(AuditPlan, plan.id)
    before = plan_changes.snapshot(plan)
    plan.remarks = "改为下午开始"
    plan_changes.record(plan, before, source="console", by=person)
    db.session.commit()
    during = plan_changes.notice_for(plan, server_clock.now())
    assert during and [c["field"] for c in during.changes] == ["remarks"]
    after_end = plan.end_utc.replace(tzinfo=dt.timezone.utc) + dt.timedelta(minutes=1)
    assert plan_changes.notice_for(plan, after_end) is None


def test_r19_a_console_upload_that_changes_a_plan_is_in_its_history_under_the_staff_member(app_context, app):
    from .test_plan_uploads import commit, settled, upload, upload_id

    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert import_plans(document).accepted
    plan = db.session.scalar(db.select(AuditPlan).filter_by(plan_no=document["plans"][0]["plan_no"]))
    client, person = staff_client(app, agency_row=plan.agency)
    document["plans"][0]["remarks"] = "改为下午开始"
    number = upload_id(upload(client, document))
    settled(client, number)
    assert history_rows(plan.id) == []  # the dry run writes no history
    assert commit(client, number).status_code == 303
    settled(client, number)
    [row] = history_rows(plan.id)
    assert (row.source, row.staff_id) == ("upload", person.id)
    assert [c["field"] for c in row.changes] == ["remarks"]
    page = visible(client.get(f"/admin/plans/{plan.id}"))
    assert f"{person.name} ({person.phone}) · 管理端上传" in page and "改为下午开始" in page


def test_r19_a_form_opened_before_another_change_is_refused_and_changes_nothing(app_context, app):
    leader = f.auditor()
    plan = future_plan(leader)
    client, person = staff_client(app)
    data = edit_form(client, plan.id)  # opened now...
    from checkin_pwa.services import plan_changes

    fresh = db.session.get(AuditPlan, plan.id)
    before = plan_changes.snapshot(fresh)
    fresh.remarks = "机构另行通知"  # ...and someone else changes the plan meanwhile
    plan_changes.record(fresh, before, source="api")
    db.session.commit()
    kept = state_of(plan.id)
    data["remarks"] = "我的修改"
    answer = client.post(f"/admin/plans/{plan.id}/edit", data=data, follow_redirects=True)
    assert "已有其他人修改了它" in visible(answer) and "未做任何更改" in visible(answer)
    assert state_of(plan.id) == kept and len(history_rows(plan.id)) == 1 and log_entries() == []
