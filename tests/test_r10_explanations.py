"""R10 exception explanations (异常说明): any team member writes one, at any time; append
only, newest first with author and server time; stored exactly as typed, shown escaped;
1-2000 characters after trimming; R16 404 for another team's plan; R17 exactly once through
the outbox (action key), with both times for one sent later."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from checkin_pwa.domain import clock
from checkin_pwa.extensions import db
from checkin_pwa.models import Explanation, IdempotencyRecord

from . import factories as f
from .helpers import csrf_token_from, in_app_context, phone_of


HTMX = {"HX-Request": "true"}
NOT_FOUND = "未找到该页面，或您无权查看。"
HOSTILE = ('<script>alert(1)</script> <img src=x onerror="alert(2)"> '
           '<div hx-get="/logout" hx-trigger="load">x</div> & "quotes"')


def text(response) -> str:
    return response.get_data(as_text=True)


def rows(plan_id=None) -> list[Explanation]:
    db.session.expire_all()
    query = select(Explanation).order_by(Explanation.id)
    if plan_id is not None:
        query = query.where(Explanation.plan_id == plan_id)
    return list(db.session.scalars(query))


def team_of_two(**plan_args):
    leader, member = f.auditor(name="贾组长"), f.auditor(name="崔组员")
    plan = f.plan([leader, member], **plan_args)
    db.session.commit()
    return plan, leader, member


def post(client, plan_id, text_value, headers=None, path=None, **extra):
    token = csrf_token_from(client.get(f"/plans/{plan_id}/explain"))
    return client.post(f"/plans/{plan_id}/explanations", headers=headers or {},
                       data={"csrf_token": token, "text": text_value, **extra})


def test_r10_explain_page_lists_exceptions_the_deadline_and_the_form(app_context, app):
    plan, leader, _ = team_of_two(start=f.local_today(-3), end=f.local_today(-2, 17, 0))
    page = text(phone_of(app, leader).get(f"/plans/{plan.id}/explain"))
    assert "未签到" in page and "未上传照片" in page
    from checkin_pwa.domain.audit_exceptions import review_deadline

    deadline = review_deadline(f.local_today(-2).date())
    assert f"认证机构应在审核结束后 5 个工作日内（即 {deadline.day.isoformat()} 前）审核并说明异常情况" in page
    assert ("按周一至周五估算" if deadline.estimated else "工作日按国家法定节假日安排计算") in page
    assert f'action="/plans/{plan.id}/explanations"' in page and f'hx-post="/plans/{plan.id}/explanations"' in page
    assert 'name="idempotency_key"' in page and 'src="/static/js/explanations.js?v=' in page


def test_r20_a_deadline_in_a_year_the_official_calendar_lacks_says_it_is_estimated(app_context, app):
    # Last day Monday 2026-12-28; 2027's holidays are not in the pinned chinesecalendar: the
    # count goes on Monday to Friday (29, 30, 31 December, 1 and 4 January) and says so.
    shanghai = f.SHANGHAI
    plan, leader, _ = team_of_two(start=dt.datetime(2026, 12, 27, 8, 30, tzinfo=shanghai),
                                  end=dt.datetime(2026, 12, 28, 17, 0, tzinfo=shanghai))
    page = text(phone_of(app, leader).get(f"/plans/{plan.id}/explain"))
    assert "即 2027-01-04 前" in page and "按周一至周五估算（该年度法定节假日安排尚未公布）" in page
    assert "工作日按国家法定节假日安排计算" not in page


def test_r10_any_member_writes_and_the_list_keeps_all_newest_first(app):
    with in_app_context(app):
        plan, leader, member = team_of_two()
    a, b = phone_of(app, leader), phone_of(app, member)
    first = post(a, plan.id, "保密区域禁止拍照，已与企业确认。")
    assert first.status_code == 303 and first.headers["Location"].endswith(f"/plans/{plan.id}#explanations")
    second = post(b, plan.id, "首次会议推迟至下午，已补签。", headers=HTMX)
    assert second.status_code == 201
    body = text(second)
    assert body.lstrip().startswith('<section id="explanations"')
    assert body.index("首次会议推迟至下午") < body.index("保密区域禁止拍照")  # newest first
    assert "异常说明已提交。" in body and "贾组长" in body and "崔组员" in body
    with in_app_context(app):
        saved = rows(plan.id)
        assert [(r.author.name, r.text) for r in saved] == [("贾组长", "保密区域禁止拍照，已与企业确认。"),
                                                            ("崔组员", "首次会议推迟至下午，已补签。")]
    assert all(abs((r.created_at - clock.now()).total_seconds()) < 60 for r in saved)
    # Shown on the plan page too, with the server time on the plan's clock.
    page = text(a.get(f"/plans/{plan.id}"))
    shown = (saved[0].created_at + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M:%S")
    assert shown in page and 'id="explanations"' in page


def test_r10_before_the_audit_too(app_context, app):
    plan, leader, _ = team_of_two(start=f.local_today(3), end=f.local_today(4))
    assert post(phone_of(app, leader), plan.id, "计划将变更审核日期。").status_code == 303
    assert len(rows(plan.id)) == 1


def test_r10_text_is_stored_exactly_as_typed_and_shown_escaped(app_context, app):
    plan, leader, _ = team_of_two()
    client = phone_of(app, leader)
    typed = "  " + HOSTILE + "\n第二行  "
    assert post(client, plan.id, typed, headers=HTMX).status_code == 201
    assert rows(plan.id)[0].text == typed
    for page in (text(client.get(f"/plans/{plan.id}")), text(client.get(f"/plans/{plan.id}/explain"))):
        shown = page[page.index('class="explanation-list"'):]
        assert "<script>alert(1)" not in shown and "<img src=x" not in shown and "<div hx-get" not in shown
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown
        assert "&lt;div hx-get=&#34;/logout&#34; hx-trigger=&#34;load&#34;&gt;" in shown


@pytest.mark.parametrize("typed", ["", "   ", "\n\t \r\n"])
def test_r10_empty_or_whitespace_is_refused_with_nothing_stored(app_context, app, typed):
    plan, leader, _ = team_of_two()
    client = phone_of(app, leader)
    plain = post(client, plan.id, typed)
    assert plain.status_code == 422 and "请先填写异常说明（内容为空）。" in text(plain)
    htmx = post(client, plan.id, typed, headers=HTMX)
    assert htmx.status_code == 422 and "请先填写异常说明（内容为空）。" in text(htmx)
    assert rows() == []


def test_r10_ten_thousand_characters_are_refused_clearly_and_what_fits_kept_in_the_form(app_context, app):
    plan, leader, _ = team_of_two()
    client = phone_of(app, leader)
    long_text = "说" * 10_000
    response = post(client, plan.id, long_text, headers=HTMX)
    assert response.status_code == 422
    assert "异常说明过长：共 10000 字，最多 2000 字。未保存，请删减后重新提交。" in text(response)
    # What may be sent stays in the form to shorten; a refused text never comes back whole.
    assert "说" * 2000 in text(response) and "说" * 2001 not in text(response)
    assert rows() == []
    plain = post(client, plan.id, long_text)
    assert plain.status_code == 422 and "异常说明过长" in text(plain)
    assert rows() == []


def test_r10_limits_count_after_trimming(app_context, app):
    plan, leader, _ = team_of_two()
    client = phone_of(app, leader)
    assert post(client, plan.id, "  " + "字" * 2000 + "  \n").status_code == 303
    assert post(client, plan.id, "字" * 2001).status_code == 422
    assert post(client, plan.id, " x ").status_code == 303
    assert [len(r.text.strip()) for r in rows(plan.id)] == [2000, 1]


def test_r16_a_non_member_gets_404_for_the_post_and_nothing_is_stored(app_context, app):
    plan, _, _ = team_of_two()
    stranger = f.auditor()
    db.session.commit()
    client = phone_of(app, stranger)
    token = csrf_token_from(client.get("/"))
    for headers in ({}, HTMX, {"X-Outbox": "1", "Idempotency-Key": "k-stranger"}):
        response = client.post(f"/plans/{plan.id}/explanations", headers=headers,
                               data={"csrf_token": token, "text": "我不在审核组"})
        assert response.status_code == 404 and NOT_FOUND in text(response)
    assert client.post("/plans/999999/explanations", data={"csrf_token": token, "text": "x"}).status_code == 404
    assert rows() == []


def test_r10_a_missing_or_bad_csrf_token_changes_nothing(app_context, app):
    plan, leader, _ = team_of_two()
    client = phone_of(app, leader)
    for data in ({"text": "无令牌"}, {"text": "坏令牌", "csrf_token": "not-a-token"}):
        response = client.post(f"/plans/{plan.id}/explanations", data=data)
        assert response.status_code == 400
        assert "表单已过期或并非由本应用提交" in text(response)
    assert rows() == []


def test_r17_an_explanation_sent_later_is_written_once_with_both_times(app_context, app):
    plan, leader, _ = team_of_two()
    client = phone_of(app, leader)
    token = csrf_token_from(client.get(f"/plans/{plan.id}/explain"))
    written = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=3)
    fields = {"csrf_token": token, "text": "在厂区无信号时填写", "queued_offline": "1",
              "device_time": str(int(written.timestamp() * 1000)), "idempotency_key": "note-1",
              "device_time_sent": str(int(dt.datetime.now(dt.timezone.utc).timestamp() * 1000))}
    headers = {"X-Outbox": "1", "Idempotency-Key": "note-1", "HX-Request": "true"}
    first = client.post(f"/plans/{plan.id}/explanations", data=fields, headers=headers)
    again = client.post(f"/plans/{plan.id}/explanations", data=fields, headers=headers)
    assert first.status_code == 201 and again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    saved = rows(plan.id)
    assert len(saved) == 1
    assert saved[0].queued_offline and saved[0].idempotency_key == "note-1"
    assert abs((saved[0].device_time - written).total_seconds()) < 1
    assert db.session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1
    page = text(client.get(f"/plans/{plan.id}"))
    acted = (written + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert re.search(r"离线记录，稍后发送：操作时间 " + acted + r"，服务器接收时间 \d{4}-\d\d-\d\d \d\d:\d\d", page)


def test_r17_an_explanation_from_a_phone_3_hours_fast_shows_the_corrected_time(app_context, app):
    # The phone's clock runs 3 h fast: written 40 min ago by the server's clock, sent now.
    plan, leader, _ = team_of_two()
    client = phone_of(app, leader)
    token = csrf_token_from(client.get(f"/plans/{plan.id}/explain"))
    now = dt.datetime.now(dt.timezone.utc)
    fast = dt.timedelta(hours=3)
    written, sent = now - dt.timedelta(minutes=40) + fast, now + fast
    fields = {"csrf_token": token, "text": "手机时间不准", "queued_offline": "1", "idempotency_key": "note-skew",
              "device_time": str(int(written.timestamp() * 1000)),
              "device_time_sent": str(int(sent.timestamp() * 1000))}
    response = client.post(f"/plans/{plan.id}/explanations", data=fields,
                           headers={"X-Outbox": "1", "Idempotency-Key": "note-skew", "HX-Request": "true"})
    assert response.status_code == 201
    saved = rows(plan.id)[0]
    assert abs(saved.clock_skew_s - fast.total_seconds()) < 60
    assert abs((saved.written_at - (now - dt.timedelta(minutes=40))).total_seconds()) < 60
    shown = (now - dt.timedelta(minutes=40) + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    phone_said = (written + dt.timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    page = text(client.get(f"/plans/{plan.id}"))
    assert "操作时间 " + shown in page and "操作时间 " + phone_said not in page


def test_r17_the_same_key_without_the_web_record_still_writes_once(app_context, app):
    """The service's own guard: the stored key finds the explanation already written."""
    from checkin_pwa.services import explanations

    plan, leader, _ = team_of_two()
    now = clock.now()
    one = explanations.add(leader, plan.id, "一次", now=now, idempotency_key="k1", queued_offline=True)
    two = explanations.add(leader, plan.id, "一次", now=now, idempotency_key="k1", queued_offline=True)
    assert one.id == two.id and len(rows(plan.id)) == 1


def test_r17_a_token_of_an_ended_session_changes_nothing_and_the_outbox_retries_once(app_context, app):
    """Tokens live as long as their session (config: WTF_CSRF_TIME_LIMIT = None, for R17
    replays): one from a session that ended is refused with the marker the outbox looks for;
    with a fresh token the same action key writes the explanation once."""
    from .helpers import log_in

    plan, leader, _ = team_of_two()
    client = phone_of(app, leader)
    token = csrf_token_from(client.get(f"/plans/{plan.id}/explain"))
    client.post("/logout", data={"csrf_token": token})
    log_in(client, leader)  # a new session
    headers = {"X-Outbox": "1", "Idempotency-Key": "note-csrf", "HX-Request": "true"}
    fields = {"text": "离线很久后发送", "queued_offline": "1", "idempotency_key": "note-csrf"}
    stale = client.post(f"/plans/{plan.id}/explanations", data={"csrf_token": token, **fields}, headers=headers)
    assert stale.status_code == 400 and "data-csrf-expired" in text(stale)
    assert "表单已过期或并非由本应用提交" in text(stale)
    assert rows() == []
    fresh = client.get("/session/csrf").get_json()["csrf_token"]
    for _ in range(2):
        sent = client.post(f"/plans/{plan.id}/explanations", data={"csrf_token": fresh, **fields}, headers=headers)
        assert sent.status_code == 201
    assert [r.text for r in rows(plan.id)] == ["离线很久后发送"]
