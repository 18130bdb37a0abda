"""Today's tasks and the check-in / check-out pages over HTTP, as a phone would use them:
CSRF on, htmx and plain forms, real SQLite, the server's real clock."""
from __future__ import annotations

import datetime as dt
import re
import time
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from checkin_pwa.domain import clock, geo
from checkin_pwa.extensions import db
from checkin_pwa.models import CheckEvent
from checkin_pwa.services import checkin

from . import factories as f
from .helpers import csrf_token_from, phone_of

SHANGHAI = ZoneInfo("Asia/Shanghai")
SITE = geo.Point(*f.SITE)
HTMX = {"HX-Request": "true"}
NOT_FOUND = "未找到该页面，或您无权查看。"


pytestmark = pytest.mark.usefixtures("app_context")


def saved(*rows):
    db.session.commit()
    return rows[0] if len(rows) == 1 else rows


def text(response) -> str:
    return response.get_data(as_text=True)


def reading(device: geo.Point = SITE, pin: geo.Point | None = None, **extra) -> dict:
    """What checkin.js puts in the form: the fix, its accuracy and time, the pin, the clock."""
    pin = pin or device
    now_ms = str(int(time.time() * 1000))
    return {"device_lat": repr(device.lat), "device_lon": repr(device.lon), "device_accuracy": "12",
            "device_position_time": now_ms, "device_time": now_ms,
            "lat": repr(pin.lat), "lon": repr(pin.lon), **extra}


def post_check(client, plan_id: int, kind: str = "in", headers=None, **fields):
    path = f"/plans/{plan_id}/{'checkin' if kind == 'in' else 'checkout'}"
    token = csrf_token_from(client.get(path))
    return client.post(path, data={"csrf_token": token, **fields}, headers=headers or {})


def event_count() -> int:
    return db.session.scalar(select(func.count()).select_from(CheckEvent))


def events_of(plan_id: int) -> list[CheckEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(CheckEvent).where(CheckEvent.plan_id == plan_id).order_by(CheckEvent.id)))


def shanghai(naive_utc: dt.datetime) -> str:
    return naive_utc.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def check_in_earlier(person, plan, minutes_ago: int) -> None:
    """The team's check-in, written by the service as if it happened `minutes_ago`."""
    then = clock.now() - dt.timedelta(minutes=minutes_ago)
    assert isinstance(checkin.check(person, plan.id, "in", reading(), then), checkin.Signed)


def ends_today(team, **kwargs):
    return f.plan(team, start=f.local_today(-1, 8, 30), end=f.local_today(0, 23, 59), **kwargs)


# --- R2: today's tasks -----------------------------------------------------------------------

def test_r2_today_lists_only_todays_plans_of_the_auditors_teams(app):
    me, other = f.auditor(), f.auditor()
    f.plan([me], company=f.enterprise("今日审核企业"))
    f.plan([me], company=f.enterprise("昨日结束企业"), start=f.local_today(-3), end=f.local_today(-1, 17))
    f.plan([me], company=f.enterprise("明日开始企业"), start=f.local_today(1), end=f.local_today(2))
    f.plan([other], company=f.enterprise("别组企业"))
    saved(me)
    page = text(phone_of(app, me).get("/"))
    assert "今日审核任务" in page
    assert "今日审核企业" in page
    # The plan that ended yesterday has no card; "现在要做" (R11) may ask to explain its
    # exceptions (tests/test_r11_today.py), so the cards are read without that list.
    cards = page[page.index('id="task-carousel"'):]
    for absent in ("昨日结束企业", "明日开始企业", "别组企业", "今日无现场审核任务"):
        assert absent not in cards
    for absent in ("明日开始企业", "别组企业"):
        assert absent not in page


def test_r2_no_task_today_says_so(app):
    me = saved(f.auditor())
    assert "今日无现场审核任务" in text(phone_of(app, me).get("/"))


def test_r2_remote_plan_is_shown_as_needing_no_check_in(app):
    me = f.auditor()
    remote = f.plan([me], mode="remote")
    saved(me)
    page = text(phone_of(app, me).get("/"))
    assert "远程审核" in page and "本审核为远程审核，无需签到" in page
    assert f"/plans/{remote.id}/checkin" not in page


def test_r2_cards_show_must_sign_star_legend_position_and_time(app):
    me = f.auditor()
    qms = f.plan([me], code="ISO9001", required=True, start=f.local_today(0, 8, 30), end=f.local_today(1, 12, 0))
    isms = f.plan([me], code="ISO27001", required=False, start=f.local_today(0, 13, 0))
    saved(me)
    page = text(phone_of(app, me).get("/"))
    assert "注意：*号为必签领域！" in page
    assert 'class="carousel"' in page
    assert "第 1/2 个" in page and "第 2/2 个" in page
    qms_card = page[page.index(f'id="plan-{qms.id}"'):page.index(f'id="plan-{isms.id}"')]
    isms_card = page[page.index(f'id="plan-{isms.id}"'):]
    assert re.search(r'ISO9001<span class="must-sign"[^>]*>\*</span>', qms_card)
    assert "must-sign" not in isms_card.split("</article>")[0]
    start, end = f.local_today(0, 8, 30), f.local_today(1, 12, 0)
    assert f"{start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M}" in qms_card
    assert f'href="/plans/{qms.id}/checkin"' in qms_card
    assert "未签到" in qms_card


# --- R3: the team signs -----------------------------------------------------------------------

def test_r3_a_second_member_sees_checked_in_with_who_and_when(app):
    leader, member = f.auditor(name="张三"), f.auditor(name="李四")
    plan = f.plan([leader, member])
    saved(plan)
    response = post_check(phone_of(app, leader), plan.id, headers=HTMX, **reading())
    assert response.status_code == 200 and "签到成功" in text(response)
    (event,) = events_of(plan.id)
    when = shanghai(event.server_time)

    other_phone = phone_of(app, member)
    page = text(other_phone.get("/"))
    assert "已签到" in page and f"签到：张三，{when}" in page
    assert f"已由张三于 {when} 签到" in page
    assert f'href="/plans/{plan.id}/checkin"' not in page
    check_page = text(other_phone.get(f"/plans/{plan.id}/checkin"))
    assert f"已由张三于 {when} 签到" in check_page and "data-check-form" not in check_page


def test_r3_check_out_by_another_member(app):
    leader, member = f.auditor(name="张三"), f.auditor(name="李四")
    plan = ends_today([leader, member])
    saved(plan)
    check_in_earlier(leader, plan, minutes_ago=90)
    response = post_check(phone_of(app, member), plan.id, "out", headers=HTMX, **reading())
    assert "签退成功" in text(response)
    assert [(e.kind, e.signer.name) for e in events_of(plan.id)] == [("in", "张三"), ("out", "李四")]
    assert "已签退" in text(phone_of(app, leader).get("/"))


# --- R4: the server's clock -----------------------------------------------------------------------

def test_r4_server_time_is_recorded_whatever_the_phone_clock_says(app):
    me = f.auditor()
    plan = saved(f.plan([me]))
    phone = phone_of(app, me)
    days_behind = str(int((time.time() - 5 * 86400) * 1000))
    before = clock.now()
    response = post_check(phone, plan.id, headers=HTMX, **reading(device_time=days_behind))
    after = clock.now()
    (event,) = events_of(plan.id)
    assert before <= event.server_time <= after
    assert event.device_time < before - dt.timedelta(days=4)
    assert f"服务器时间：{event.server_time.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI):%Y-%m-%d %H:%M:%S}" in text(response)


# --- R5: position -------------------------------------------------------------------------------

def test_r5_far_from_the_site_warns_then_signs_on_confirmation(app):
    me = f.auditor()
    plan = saved(f.plan([me]))
    phone = phone_of(app, me)
    away = reading(device=geo.destination(SITE, 200, 8000))
    response = post_check(phone, plan.id, headers=HTMX, **away)
    page = text(response)
    assert response.status_code == 200
    assert "手机当前定位与审核计划上报审核地址偏差过大（约 8.0 公里）" in page
    assert "确定，继续签到" in page and 'name="confirm" value="1"' in page
    assert f'name="device_lat" value="{away["device_lat"]}"' in page  # the reading is kept
    assert page.lstrip().startswith('<section id="check-form"')
    assert event_count() == 0

    response = post_check(phone, plan.id, headers=HTMX, **away, confirm="1")
    assert "签到成功" in text(response)
    (event,) = events_of(plan.id)
    assert event.warning_confirmed and any(flag["code"] == "deviation_over_5km" for flag in event.flags)


def test_r5_unlocated_site_warns(app):
    me = f.auditor()
    plan = saved(f.plan([me], sites=[None]))
    response = post_check(phone_of(app, me), plan.id, **reading())
    assert "无法定位审核计划上报审核地址" in text(response)
    assert event_count() == 0


def test_r5_pin_2_5_km_away_is_refused_and_the_form_kept(app):
    me = f.auditor()
    plan = saved(f.plan([me]))
    response = post_check(phone_of(app, me), plan.id, headers=HTMX,
                          **reading(pin=geo.destination(SITE, 90, 2500)))
    assert response.status_code == 422
    page = text(response)
    assert "签到地点距手机当前定位 2.5 公里，只能在 2.0 公里范围内调整。" in page
    assert "data-check-form" in page
    assert event_count() == 0


# --- R6: time -------------------------------------------------------------------------------------

def test_r6_check_out_before_the_last_day_is_a_grey_button_with_the_reason(app):
    me = f.auditor()
    # Began yesterday, ends tomorrow: the check-in two hours ago is within the plan at any hour.
    plan = saved(f.plan([me], start=f.local_today(-1, 8, 30)))
    check_in_earlier(me, plan, minutes_ago=120)
    phone = phone_of(app, me)
    page = text(phone.get(f"/plans/{plan.id}/checkout"))
    # The form is there but closed: a copy kept on the phone opens it on the last day (R6 on
    # the phone's clock, static/js/plan-rules.js); the server still refuses it now.
    assert re.search(r'<form [^>]*data-check-form[^>]*data-closed>', page)
    assert re.search(r'<button type="submit" class="block" data-needs-position disabled>', page)
    assert "仅在审核结束当日才能签退" in page
    assert "仅在审核结束当日才能签退" in text(phone.get("/"))
    response = post_check(phone, plan.id, "out", **reading())
    assert response.status_code == 422 and "仅在审核结束当日才能签退" in text(response)
    assert [e.kind for e in events_of(plan.id)] == ["in"]


def test_r6_check_out_59_minutes_after_check_in_says_how_long_to_wait(app):
    me = f.auditor()
    plan = saved(ends_today([me]))
    check_in_earlier(me, plan, minutes_ago=59)
    phone = phone_of(app, me)
    assert "签到1小时后方可签退（还需 1 分钟）" in text(phone.get("/"))
    response = post_check(phone, plan.id, "out", headers=HTMX, **reading())
    assert response.status_code == 422 and "签到1小时后方可签退" in text(response)
    assert [e.kind for e in events_of(plan.id)] == ["in"]


def test_r6_check_out_61_minutes_after_check_in_is_allowed(app):
    me = f.auditor()
    plan = saved(ends_today([me]))
    check_in_earlier(me, plan, minutes_ago=61)
    phone = phone_of(app, me)
    assert f'href="/plans/{plan.id}/checkout"' in text(phone.get("/"))
    assert "签退成功" in text(post_check(phone, plan.id, "out", headers=HTMX, **reading()))
    assert [e.kind for e in events_of(plan.id)] == ["in", "out"]


def test_r6_check_out_before_any_check_in_is_refused(app):
    me = f.auditor()
    plan = saved(ends_today([me]))
    response = post_check(phone_of(app, me), plan.id, "out", **reading())
    assert response.status_code == 422 and "审核组尚未签到，请先签到" in text(response)
    assert event_count() == 0


# --- R7: several plans of one enterprise -------------------------------------------------------

@pytest.fixture
def three_plans():
    """QMS, EMS, OHSMS at one enterprise today; 张三 is on QMS and OHSMS, not on EMS."""
    me, colleague = f.auditor(name="张三"), f.auditor(name="王五")
    company = f.enterprise("吉林省某某股份有限公司")
    qms = f.plan([me, colleague], company=company, code="ISO9001")
    ems = f.plan([colleague], company=company, code="ISO14001")
    ems.sites[0].address = "只给本组看的地址"
    ohsms = f.plan([me], company=company, code="ISO45001")
    db.session.commit()
    return me, qms, ems, ohsms


def test_r7_check_in_page_offers_to_sign_the_other_plans_with_a_link(app, three_plans):
    me, qms, ems, ohsms = three_plans
    page = text(phone_of(app, me).get(f"/plans/{qms.id}/checkin"))
    assert "同时签到，该企业还有其他 2 个审核任务" in page
    assert f'href="/plans/{qms.id}/together?kind=in"' in page


def test_r7_together_signs_the_signers_plans_and_names_the_skipped_one(app, three_plans):
    me, qms, ems, ohsms = three_plans
    response = post_check(phone_of(app, me), qms.id, headers=HTMX, **reading(together="on"))
    page = text(response)
    assert "签到成功" in page
    assert "以下审核任务未签到" in page and re.search(r"ISO14001.*?您不在该审核组", page, re.S)
    assert {e.plan_id for e in events_of(qms.id) + events_of(ohsms.id)} == {qms.id, ohsms.id}
    assert events_of(ems.id) == []


def test_r7_unticked_signs_only_this_plan(app, three_plans):
    me, qms, ems, ohsms = three_plans
    post_check(phone_of(app, me), qms.id, headers=HTMX, **reading())
    assert len(events_of(qms.id)) == 1 and events_of(ohsms.id) == [] and events_of(ems.id) == []


def test_r7_the_list_shows_a_plan_of_another_team_by_project_only(app, three_plans):
    me, qms, ems, ohsms = three_plans
    page = text(phone_of(app, me).get(f"/plans/{qms.id}/together?kind=in"))
    assert f'href="/plans/{ohsms.id}/checkin"' in page  # the signer's own plan, in full
    assert re.search(r"ISO14001.*?您不在该审核组", page, re.S)
    assert f"/plans/{ems.id}/" not in page and "只给本组看的地址" not in page and "王五" not in page


def test_r7_no_offer_when_the_enterprise_has_no_other_plan_today(app):
    me = f.auditor()
    plan = saved(f.plan([me]))
    assert "同时签到" not in text(phone_of(app, me).get(f"/plans/{plan.id}/checkin"))


# --- R16: only one's own team's plans -----------------------------------------------------------

def test_r16_another_teams_plan_is_404_on_get_and_post_and_nothing_is_written(app):
    me, other = f.auditor(), f.auditor()
    theirs = saved(f.plan([other]))
    mine = f.plan([me])
    saved(mine)
    phone = phone_of(app, me)
    token = csrf_token_from(phone.get(f"/plans/{mine.id}/checkin"))
    for plan_id in (theirs.id, 987654):
        for path in (f"/plans/{plan_id}/checkin", f"/plans/{plan_id}/checkout", f"/plans/{plan_id}/together?kind=in"):
            response = phone.get(path)
            assert response.status_code == 404 and NOT_FOUND in text(response)
        for kind in ("checkin", "checkout"):
            response = phone.post(f"/plans/{plan_id}/{kind}", data={"csrf_token": token, **reading(), "confirm": "1"})
            assert response.status_code == 404
    assert event_count() == 0


# --- bad input: a clear answer, nothing written, never a 500 -------------------------------------

@pytest.mark.parametrize("changes,message", [
    ({"device_lat": "NaN"}, "手机定位数据无效"),
    ({"device_lat": "95.5"}, "手机定位数据无效"),
    ({"device_lat": "0", "device_lon": "0"}, "手机定位数据无效"),
    ({"device_lat": "", "device_lon": ""}, "未获取到手机定位"),
    ({"lat": "Infinity"}, "所选签到地点的坐标无效"),
    ({"device_accuracy": "-1"}, "定位精度无效"),
])
def test_bad_readings_are_refused_in_chinese(app, changes, message):
    me = f.auditor()
    plan = saved(f.plan([me]))
    response = post_check(phone_of(app, me), plan.id, **{**reading(), **changes})
    assert response.status_code == 422 and message in text(response)
    assert event_count() == 0


def test_a_post_with_only_the_token_is_refused_not_a_500(app):
    me = f.auditor()
    plan = saved(f.plan([me]))
    response = post_check(phone_of(app, me), plan.id)
    assert response.status_code == 422 and "未获取到手机定位" in text(response)


def test_a_post_without_csrf_token_is_refused_and_writes_nothing(app):
    me = f.auditor()
    plan = saved(f.plan([me]))
    response = phone_of(app, me).post(f"/plans/{plan.id}/checkin", data=reading())
    assert response.status_code == 400 and "表单已过期" in text(response)
    assert event_count() == 0


def test_not_logged_in_goes_to_login(app, client):
    plan = saved(f.plan([f.auditor()]))
    for path in ("/", f"/plans/{plan.id}/checkin"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


# --- one URL, two representations ----------------------------------------------------------------

def test_htmx_gets_the_form_container_only_and_caches_are_told(app):
    me = f.auditor()
    plan = saved(f.plan([me]))
    response = post_check(phone_of(app, me), plan.id, headers=HTMX, **reading())
    page = text(response)
    assert page.lstrip().startswith('<section id="check-form"') and "<html" not in page
    assert "HX-Request" in response.headers["Vary"]
    assert "签到成功" in page and "返回今日任务" in page


def test_a_plain_form_post_redirects_and_shows_the_outcome_once(app):
    me = f.auditor()
    plan = saved(f.plan([me]))
    phone = phone_of(app, me)
    response = post_check(phone, plan.id, **reading())
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/plans/{plan.id}/checkin")
    page = text(phone.get(response.headers["Location"]))
    assert "签到成功" in page and "ISO9001" in page
    again = text(phone.get(f"/plans/{plan.id}/checkin"))
    assert "签到成功" not in again and "已由" in again


def test_the_check_page_carries_the_map_configuration_without_inline_script(app):
    me = f.auditor()
    plan = saved(f.plan([me], sites=[f.SITE, None]))
    page = text(phone_of(app, me).get(f"/plans/{plan.id}/checkin"))
    assert 'data-tile-url=""' in page and 'data-datum="wgs84"' in page
    assert '"lat": 41.1256' in page and page.count('"address"') == 1  # located sites only
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page) is None
    assert page.index("js/datum.js") < page.index("js/checkin.js")
    assert "确认并签到" in page and "disabled" in page.split("确认并签到")[0].rsplit("<button", 1)[1]


def test_a_double_tap_on_the_button_writes_one_event(app):
    me = f.auditor()
    plan = saved(f.plan([me]))
    phone = phone_of(app, me)
    page = text(phone.get(f"/plans/{plan.id}/checkin"))
    key = re.search(r'name="idempotency_key" value="([0-9a-f]{32})"', page).group(1)
    fields = {"csrf_token": csrf_token_from(phone.get("/")), "idempotency_key": key, **reading()}
    first = phone.post(f"/plans/{plan.id}/checkin", data=fields, headers=HTMX)
    second = phone.post(f"/plans/{plan.id}/checkin", data=fields, headers=HTMX)
    assert "签到成功" in text(first) and "签到成功" in text(second)
    assert len(events_of(plan.id)) == 1
