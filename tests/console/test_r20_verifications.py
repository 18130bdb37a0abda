"""R20 exception verification on the management end: the queue's states and order, the
verification staff record (append only, once per form, refused on a changed plan, in the
audit log), bad input, R16 (read-only 403, another body's plan 404) and the daily reminder
(the CLI with the log SMS backend, the console's banner)."""
from __future__ import annotations

import datetime as dt
import logging
import re

import pytest
from sqlalchemy import func, select

from checkin_pwa.domain.audit_exceptions import review_deadline
from checkin_pwa.extensions import db
from checkin_pwa.models import AuditLogEntry, CheckEvent, ExceptionVerification, Explanation, Photo

from .. import factories
from ..factories import local_today
from ..helpers import csrf_token_from
from .test_plans import logged_in, other_body_plan, staff_of

pytestmark = pytest.mark.usefixtures("app_context")

QUEUE = "/admin/verifications"


def rows(response) -> list[int]:
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return [int(found) for found in re.findall(r'<tr data-plan="(\d+)"', response.get_data(as_text=True))]


def body(response) -> str:
    return response.get_data(as_text=True)


def ended(days_ago: int, team=None, **kwargs):
    """A plan of the body whose last day was `days_ago` days ago, nobody checked in (R10
    未签到 and 未上传照片 once it ended)."""
    team = team or [factories.auditor(name="贾组长")]
    return factories.plan(team, start=local_today(-days_ago - 1), end=local_today(-days_ago, 17, 0), **kwargs)


def count_of(response, state: str) -> int:
    return int(re.search(rf'data-count-state="{state}" data-count="(\d+)"', body(response)).group(1))


def form_of(client, plan_id: int) -> dict:
    page = client.get(f"{QUEUE}/{plan_id}")
    assert page.status_code == 200, body(page)[:2000]
    text = body(page)
    return {"csrf_token": csrf_token_from(page),
            "form_token": re.search(r'name="form_token" value="([^"]+)"', text).group(1),
            "version": re.search(r'name="version" value="([^"]+)"', text).group(1)}


def verify(client, plan_id: int, result="confirmed", text="与审核组电话核实，情况属实。", form=None):
    data = dict(form or form_of(client, plan_id), result=result, text=text)
    return client.post(f"{QUEUE}/{plan_id}", data=data)


def stored(plan_id=None) -> int:
    query = select(func.count()).select_from(ExceptionVerification)
    if plan_id is not None:
        query = query.where(ExceptionVerification.plan_id == plan_id)
    return db.session.scalar(query)


@pytest.fixture
def manager(app):
    return staff_of(role="manager", name="李经理")


def test_r20_queue_lists_ended_plans_with_exceptions_oldest_deadline_first_with_states_and_counts(app, manager):
    overdue = ended(30)
    db.session.add(Explanation(plan_id=overdue.id, author_id=overdue.team[0].auditor_id, text="企业停电，改期一天。"))
    recent = ended(2)
    verified = ended(40)
    db.session.add(ExceptionVerification(agency_id=verified.agency_id, plan_id=verified.id, staff_id=manager.id,
                                         result="confirmed", text="", exceptions=["not_signed"],
                                         deadline=dt.date(2026, 1, 1), late=True, form_token="seeded"))
    under_way = factories.plan([factories.auditor()], start=local_today(-1), end=local_today(1, 17, 0))
    cancelled = ended(20, status="cancelled")
    db.session.commit()
    client = logged_in(app, staff_of(role="readonly"))

    default = client.get(QUEUE)
    assert rows(default) == [overdue.id, recent.id]  # what needs doing, the oldest deadline first
    assert (count_of(default, "to_verify"), count_of(default, "overdue"), count_of(default, "verified")) == (1, 1, 1)
    page = body(default)
    assert "企业停电，改期一天。" in page and "未签到" in page and "未上传照片" in page
    assert 'class="verification-row row-overdue"' in page and "已逾期" in page and "待核实" in page
    deadline = review_deadline(local_today(-2).date()).day.isoformat()
    assert f'data-deadline="{deadline}"' in page
    assert under_way.id not in rows(client.get(QUEUE + "?state=all")) and cancelled.id not in rows(client.get(QUEUE + "?state=all"))

    assert rows(client.get(QUEUE + "?state=verified")) == [verified.id]
    assert rows(client.get(QUEUE + "?state=overdue")) == [overdue.id]
    assert rows(client.get(QUEUE + "?state=to_verify")) == [recent.id]
    assert rows(client.get(QUEUE + "?state=all")) == [verified.id, overdue.id, recent.id]
    # The audit's last day, from .. to, on the plan's calendar.
    since = local_today(-2).date().isoformat()
    assert rows(client.get(f"{QUEUE}?state=all&from={since}")) == [recent.id]
    until = local_today(-30).date().isoformat()
    narrowed = client.get(f"{QUEUE}?state=all&to={until}")
    assert rows(narrowed) == [verified.id, overdue.id] and count_of(narrowed, "to_verify") == 0


def signed_with_photos(plan, distance_m: float = 3.0):
    """The team's check-in and check-out `distance_m` from the site, and both meetings' photos."""
    person = plan.team[0].auditor_id
    for kind, hours in (("in", 0.2), ("out", 8)):
        db.session.add(CheckEvent(plan_id=plan.id, kind=kind, signer_id=person, device_lat=41.1, device_lon=126.1,
                                  chosen_lat=41.1, chosen_lon=126.1, server_time=plan.start_utc + dt.timedelta(hours=hours),
                                  nearest_site_id=plan.sites[0].id, nearest_site_distance_m=distance_m))
    for group in ("first", "last"):
        db.session.add(Photo(plan_id=plan.id, group=group, uploader_id=person, sha256_received=group * 8,
                             bytes_received=1, format="jpeg", width=1, height=1, evidence_key=group,
                             display_key=group, thumb_key=group))
    db.session.flush()


def test_r10_only_plans_with_an_exception_are_in_the_queue(app, manager):
    clean = ended(4)
    signed_with_photos(clean)
    far = ended(4)
    signed_with_photos(far, distance_m=8300.0)
    remote = ended(4, mode="remote")
    no_last_photo = ended(4)
    signed_with_photos(no_last_photo)
    db.session.scalar(select(Photo).where(Photo.plan_id == no_last_photo.id, Photo.group == "last")).deleted_at = \
        dt.datetime(2026, 1, 1)  # removed from its group, as services.photos does
    db.session.commit()
    page = logged_in(app, manager).get(QUEUE + "?state=all")
    assert rows(page) == [far.id, no_last_photo.id]
    assert clean.id not in rows(page) and remote.id not in rows(page)
    assert "地点偏差" in body(page) and "未上传照片" in body(page)


def test_r20_queue_pages_on_the_server(app, manager):
    plans = [ended(10 + i) for i in range(23)]
    db.session.commit()
    client = logged_in(app, manager)
    first, second = rows(client.get(QUEUE)), rows(client.get(QUEUE + "?page=2"))
    assert len(first) == 20 and len(second) == 3
    assert first + second == [plan.id for plan in reversed(plans)]  # the oldest audit has the oldest deadline
    assert "第 1 / 2 页" in body(client.get(QUEUE))


@pytest.mark.parametrize("query", ["from=2026-13-01", "from=yesterday", "to=99999-01-01", "from=1800-01-01",
                                   "from=2026-11-20&to=2026-11-01"])
def test_r20_queue_refuses_odd_dates_clearly(app, manager, query):
    ended(3)
    db.session.commit()
    answer = logged_in(app, manager).get(f"{QUEUE}?{query}")
    assert answer.status_code == 400
    assert "不是有效日期" in body(answer) or "开始日期 2026-11-20 晚于结束日期 2026-11-01" in body(answer)
    assert 'data-plan="' not in body(answer)


def test_r20_odd_state_and_page_fall_back_to_the_default_view(app, manager):
    plan = ended(3)
    db.session.commit()
    client = logged_in(app, manager)
    assert rows(client.get(f"{QUEUE}?state=<script>&page=-4")) == [plan.id]
    assert rows(client.get(f"{QUEUE}?page=99999999999999999999999")) == [plan.id]


def test_r20_manager_records_verifications_append_only_with_who_when_and_lateness_in_the_audit_log(app, manager):
    plan = ended(30)  # overdue: a verification now is late
    db.session.commit()
    client = logged_in(app, manager)
    first = verify(client, plan.id, "confidential", "涉密车间，企业书面确认。")
    assert first.status_code == 303 and first.headers["Location"].endswith(f"{QUEUE}/{plan.id}")
    second = verify(client, plan.id, "other", "补充：复核了门禁记录。")
    assert second.status_code == 303
    page = body(client.get(f"{QUEUE}/{plan.id}"))
    assert page.index("补充：复核了门禁记录。") < page.index("涉密车间，企业书面确认。")  # newest first, both kept
    assert page.count("李经理") >= 2 and "（当前）" in page and "逾期核实" in page and "已核实" in page
    assert stored(plan.id) == 2
    kept = db.session.scalars(select(ExceptionVerification).order_by(ExceptionVerification.id)).all()
    assert [row.result for row in kept] == ["confidential", "other"] and all(row.late for row in kept)
    assert kept[0].exceptions == ["not_signed", "photos_missing"]
    log = db.session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "exceptions_verified")
                             .order_by(AuditLogEntry.id)).all()
    assert len(log) == 2 and log[0].staff_id == manager.id and log[0].target.startswith(plan.plan_no)
    assert log[1].before == {"result": "confidential", "text": "涉密车间，企业书面确认。"}
    assert log[1].after["result"] == "other" and log[1].after["late"] is True
    assert rows(client.get(QUEUE)) == [] and rows(client.get(QUEUE + "?state=verified")) == [plan.id]
    with pytest.raises(PermissionError):  # the rows themselves refuse a change
        kept[0].text = "改写"
        db.session.commit()
    db.session.rollback()


def test_r20_a_verification_within_the_deadline_is_not_late(app, manager):
    plan = ended(2)
    db.session.commit()
    client = logged_in(app, manager)
    assert verify(client, plan.id).status_code == 303
    assert db.session.scalar(select(ExceptionVerification.late)) is False
    assert "按时核实" in body(client.get(f"{QUEUE}/{plan.id}"))


def test_r20_the_same_form_posted_twice_is_stored_once(app, manager):
    plan = ended(5)
    db.session.commit()
    client = logged_in(app, manager)
    form = form_of(client, plan.id)
    assert verify(client, plan.id, form=form).status_code == 303
    again = verify(client, plan.id, form=form)  # a double click or a retry: the same form token
    assert again.status_code == 303
    assert "该核实已保存过，未重复保存。" in body(client.get(again.headers["Location"]))
    assert stored(plan.id) == 1
    assert db.session.scalar(select(func.count()).select_from(AuditLogEntry)
                             .where(AuditLogEntry.action == "exceptions_verified")) == 1
    # The same form reopened with the back button and changed is not dropped silently: refused.
    changed = verify(client, plan.id, text="改过的意见", form=form)
    assert changed.status_code == 409 and "改过的意见" in body(changed) and stored(plan.id) == 1


@pytest.mark.parametrize("change", ["explanation", "plan", "verification"])
def test_r20_a_form_of_a_plan_changed_after_the_page_was_loaded_is_refused(app, manager, change):
    plan = ended(5)
    db.session.commit()
    client = logged_in(app, manager)
    form = form_of(client, plan.id)
    if change == "explanation":
        db.session.add(Explanation(plan_id=plan.id, author_id=plan.team[0].auditor_id, text="刚补写的说明"))
    elif change == "plan":
        plan.remarks = "审核方式: 现场+远程"
    else:
        other = staff_of(role="admin", name="赵管理员")
        db.session.add(ExceptionVerification(agency_id=plan.agency_id, plan_id=plan.id, staff_id=other.id,
                                             result="plan_adjusted", text="", exceptions=[], deadline=dt.date.today(),
                                             late=False, form_token="another-form"))
    db.session.commit()
    answer = verify(client, plan.id, text="我的核实意见", form=form)
    assert answer.status_code == 409
    assert "打开页面后该计划已有变化" in body(answer) and "未保存" in body(answer)
    assert "我的核实意见" in body(answer)  # kept in the form for another try
    assert stored(plan.id) == (1 if change == "verification" else 0)
    # The page as it is now carries the new version: recording again works.
    assert verify(client, plan.id).status_code == 303


@pytest.mark.parametrize("result, text, message", [
    ("", "说明", "请从列表中选择核实结果。"),
    ("made_up", "说明", "请从列表中选择核实结果。"),
    ("other", "   ", "选择“其他”时，请在说明中写明核实情况。"),
])
def test_r20_bad_input_is_refused_clearly_and_changes_nothing(app, manager, result, text, message):
    plan = ended(5)
    db.session.commit()
    answer = verify(logged_in(app, manager), plan.id, result, text)
    assert answer.status_code == 422 and message in body(answer)
    assert stored() == 0


def test_r20_too_long_texts_are_refused_without_being_echoed(app, manager):
    plan = ended(5)
    db.session.commit()
    client = logged_in(app, manager)
    long_text = "长" * 2001
    answer = verify(client, plan.id, "other", long_text)
    assert answer.status_code == 422 and "说明过长：最多 2000 个字符。" in body(answer)
    assert long_text not in body(answer)
    huge = "X" * (10 * 1024 * 1024)
    answer = verify(client, plan.id, "other", huge)
    assert answer.status_code == 413 and "核实说明最多 2000 个字符" in body(answer)
    assert "XXXXXXXXXX" not in body(answer) and len(body(answer)) < 50_000
    assert stored() == 0


def test_r16_read_only_staff_read_the_queue_and_get_403_for_a_verification(app, manager):
    plan = ended(5)
    db.session.commit()
    reader = logged_in(app, staff_of(role="readonly", name="周只读"))
    assert rows(reader.get(QUEUE)) == [plan.id]
    page = reader.get(f"{QUEUE}/{plan.id}")
    assert page.status_code == 200 and 'id="verification-form"' not in body(page)
    form = form_of(logged_in(app, manager, offset_steps=1), plan.id)
    answer = reader.post(f"{QUEUE}/{plan.id}", data=dict(form, csrf_token=csrf_token_from(page), result="confirmed"))
    assert answer.status_code == 403 and "无权" in body(answer)
    assert stored() == 0


def test_r16_another_bodys_plan_is_404_and_never_in_the_queue(app, manager):
    foreign = other_body_plan()
    foreign.end_utc = factories.to_utc(local_today(-3, 17, 0))
    foreign.start_utc = factories.to_utc(local_today(-4))
    mine = ended(3)
    db.session.commit()
    client = logged_in(app, manager)
    assert rows(client.get(QUEUE + "?state=all")) == [mine.id]
    assert client.get(f"{QUEUE}/{foreign.id}").status_code == 404
    form = form_of(client, mine.id)
    assert client.post(f"{QUEUE}/{foreign.id}", data=dict(form, result="confirmed")).status_code == 404
    assert stored() == 0 and db.session.scalar(select(func.count()).select_from(AuditLogEntry)
                                               .where(AuditLogEntry.action == "exceptions_verified")) == 0


def test_r20_a_plan_not_in_the_queue_says_so_and_takes_no_verification(app, manager):
    plan = factories.plan([factories.auditor()], start=local_today(-1), end=local_today(1, 17, 0))
    db.session.commit()
    client = logged_in(app, manager)
    page = client.get(f"{QUEUE}/{plan.id}")
    assert "该计划无需核实" in body(page) and 'id="verification-form"' not in body(page)
    answer = client.post(f"{QUEUE}/{plan.id}", data={"csrf_token": csrf_token_from(page), "result": "confirmed",
                                                      "form_token": "x", "version": "y"})
    assert answer.status_code == 409 and stored() == 0


def test_r20_the_plans_console_page_links_to_its_verification(app, manager):
    plan = ended(3)
    db.session.commit()
    page = body(logged_in(app, manager).get(f"/admin/plans/{plan.id}"))
    assert f'href="{QUEUE}/{plan.id}"' in page


def test_r20_reminder_sms_goes_to_managers_and_admins_of_bodies_with_anything_due(app, caplog):
    caplog.set_level(logging.INFO, logger="checkin_pwa.sms")
    ended(30)  # overdue
    reviewers = [staff_of(role="manager", name="李经理"), staff_of(role="admin", name="赵管理员")]
    reader = staff_of(role="readonly", name="周只读")
    away = staff_of(role="manager", name="钱停用", disabled=True)
    quiet_body = factories.agency(code="CNCA-R-2099-003", name="无逾期认证公司")
    quiet = staff_of(quiet_body, role="admin", name="孙安静")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["remind-verifications"])
    assert result.exit_code == 0, result.output
    assert "CNCA-R-2002-117" in result.output and "短信已发送：2" in result.output
    texts = {r.args[0]: r.args[1] for r in caplog.records if r.name == "checkin_pwa.sms"}
    assert set(texts) == {person.phone for person in reviewers}
    assert reader.phone not in texts and away.phone not in texts and quiet.phone not in texts
    assert "1 项已逾期" in texts[reviewers[0].phone]


def test_r20_no_reminder_when_nothing_is_due_by_tomorrow(app, caplog):
    caplog.set_level(logging.INFO, logger="checkin_pwa.sms")
    recent = ended(1)  # ended yesterday: its deadline is at least five days ahead
    staff_of(role="manager")
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["remind-verifications"])
    assert result.exit_code == 0 and "没有机构" in result.output, result.output
    assert not [r for r in caplog.records if r.name == "checkin_pwa.sms"]
    assert recent.id  # (it is in the queue, yet not due)


def test_r20_console_home_shows_the_counts_due(app, manager):
    ended(30)
    ended(31)
    db.session.commit()
    page = body(logged_in(app, manager).get("/admin/"))
    assert 'id="verification-banner"' in page and "0 项今明两天到期，2 项已逾期" in page


def test_r20_the_queue_and_a_verification_speak_english_too(app, manager):
    plan = ended(30)
    db.session.commit()
    client = logged_in(app, manager)
    client.get("/lang/en")
    queue = body(client.get(QUEUE))
    assert "Exception verification" in queue and "Overdue" in queue and "Not signed" in queue
    assert "Deadline" in queue and "Team's explanations" in queue
    refused = verify(client, plan.id, "other", " ")
    assert refused.status_code == 422 and "For “Other”, say in the text what was found." in body(refused)
    assert verify(client, plan.id, "plan_adjusted", "Checked by phone.").status_code == 303
    page = body(client.get(f"{QUEUE}/{plan.id}"))
    assert "Verification saved." in page and "Plan adjusted at short notice" in page and "Verified late" in page
    assert not re.search(r"[\u4e00-\u9fff]", re.sub(r"<[^>]+>", "", page).replace(plan.enterprise.name, "")
                         .replace("李经理", "").replace("贾组长", "").replace("北京某某认证中心有限公司", "")
                         .replace("吉林省集安市工业园区1号", "").replace("中文", ""))


def test_r20_a_verified_plan_stays_verified_when_a_record_sent_later_removes_its_exception(app, manager):
    plan = ended(6)
    db.session.commit()
    client = logged_in(app, manager)
    assert verify(client, plan.id).status_code == 303
    signed_with_photos(plan)  # the team's offline check-in, check-out and photos arrive after
    db.session.commit()
    assert rows(client.get(QUEUE + "?state=verified")) == [plan.id]
    page = body(client.get(f"{QUEUE}/{plan.id}"))
    assert "已核实" in page and "目前没有异常。" in page and "与审核组电话核实，情况属实。" in page
