"""R12 the audit calendar: day types (domain.audit_exceptions), the month grid and its red `!`,
the day's plans below the month, and bad months in the URL."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest

from checkin_pwa.domain.audit_exceptions import AFTERNOON, ALL_DAY, MORNING, combine_day_types, day_type
from checkin_pwa.domain.filters import FilterError, Month, parse_month
from checkin_pwa.domain.rules import PlanFacts
from checkin_pwa.extensions import db
from checkin_pwa.models import Explanation

from . import factories as f
from .helpers import log_in

SHANGHAI = ZoneInfo("Asia/Shanghai")


def facts(start: dt.datetime, end: dt.datetime, zone: str = "Asia/Shanghai") -> PlanFacts:
    utc = dt.timezone.utc
    return PlanFacts(plan_id=1, enterprise_id=1, start=start.astimezone(utc), end=end.astimezone(utc),
                     timezone=zone, mode="onsite", status="valid", team=frozenset({1}))


def at(day: int, hour: int, minute: int = 0, zone=SHANGHAI, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, minute, tzinfo=zone)


# --- day types (pure) ------------------------------------------------------------------------

def test_r12_single_day_before_noon_is_morning():
    assert day_type(facts(at(10, 8, 30), at(10, 12, 0)), dt.date(2026, 3, 10)) == MORNING


def test_r12_single_day_from_noon_is_afternoon():
    assert day_type(facts(at(10, 13, 0), at(10, 17, 30)), dt.date(2026, 3, 10)) == AFTERNOON
    assert day_type(facts(at(10, 12, 0), at(10, 17, 30)), dt.date(2026, 3, 10)) == AFTERNOON


def test_r12_single_day_across_noon_is_all_day():
    assert day_type(facts(at(10, 8, 30), at(10, 17, 0)), dt.date(2026, 3, 10)) == ALL_DAY
    assert day_type(facts(at(10, 11, 59), at(10, 12, 1)), dt.date(2026, 3, 10)) == ALL_DAY


def test_r12_multi_day_first_middle_and_last_days():
    plan = facts(at(10, 13, 0), at(12, 11, 0))
    assert day_type(plan, dt.date(2026, 3, 10)) == AFTERNOON  # starts after noon
    assert day_type(plan, dt.date(2026, 3, 11)) == ALL_DAY  # a day between
    assert day_type(plan, dt.date(2026, 3, 12)) == MORNING  # ends before noon
    assert day_type(plan, dt.date(2026, 3, 9)) is None
    assert day_type(plan, dt.date(2026, 3, 13)) is None
    morning_start = facts(at(10, 8, 30), at(12, 17, 0))
    assert day_type(morning_start, dt.date(2026, 3, 10)) == ALL_DAY
    assert day_type(morning_start, dt.date(2026, 3, 12)) == ALL_DAY


def test_r12_a_plan_ending_at_midnight_does_not_mark_the_day_midnight_opens():
    plan = facts(at(10, 13, 0), at(11, 0, 0))
    assert day_type(plan, dt.date(2026, 3, 10)) == AFTERNOON
    assert day_type(plan, dt.date(2026, 3, 11)) is None


def test_r12_a_plan_in_another_zone_is_read_on_its_own_clock():
    berlin = ZoneInfo("Europe/Berlin")
    # 09:00-11:00 in Berlin is 16:00-18:00 in Shanghai: a morning for the plan.
    plan = facts(at(10, 9, 0, berlin), at(10, 11, 0, berlin), zone="Europe/Berlin")
    assert day_type(plan, dt.date(2026, 3, 10)) == MORNING
    # 20:00-23:00 in New York is the next day in Shanghai and UTC; still the 10th locally.
    new_york = ZoneInfo("America/New_York")
    evening = facts(at(10, 20, 0, new_york), at(10, 23, 0, new_york), zone="America/New_York")
    assert day_type(evening, dt.date(2026, 3, 10)) == AFTERNOON
    assert day_type(evening, dt.date(2026, 3, 11)) is None


def test_r12_combining_the_plans_of_one_day():
    assert combine_day_types([MORNING, AFTERNOON]) == ALL_DAY
    assert combine_day_types([MORNING, MORNING]) == MORNING
    assert combine_day_types([AFTERNOON, None]) == AFTERNOON
    assert combine_day_types([MORNING, ALL_DAY]) == ALL_DAY
    assert combine_day_types([]) is None


# --- months (pure) ---------------------------------------------------------------------------

def test_r12_month_grid_starts_on_monday_and_blanks_other_months():
    weeks = Month(2026, 11).weeks()  # 1 Nov 2026 is a Sunday
    assert weeks[0] == [None] * 6 + [dt.date(2026, 11, 1)]
    assert weeks[-1][0] == dt.date(2026, 11, 30) and weeks[-1][1:] == [None] * 6
    assert all(len(week) == 7 for week in weeks)


def test_r12_previous_and_next_month_cross_the_year():
    assert Month(2026, 1).previous() == Month(2025, 12)
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2000, 1).previous() is None and Month(2100, 12).next() is None


@pytest.mark.parametrize("year, month, code", [
    ("2026", "13", "month_out_of_range"), ("2026", "0", "month_out_of_range"),
    ("0", "5", "year_out_of_range"), ("99999", "5", "year_out_of_range"),
    ("abc", "5", "bad_year"), ("2026", "x", "bad_month"), ("2026", "-1", "bad_month"),
    ("２０２６", "5", "bad_year"), ("2026", "1.5", "bad_month"), ("", "", "bad_year"),
])
def test_r12_bad_months_are_refused_by_code(year, month, code):
    with pytest.raises(FilterError) as refused:
        parse_month(year, month)
    assert refused.value.code == code


# --- the page -------------------------------------------------------------------------------

def day_link(html: str, day: dt.date) -> str:
    match = re.search(rf'<a id="day-{day.isoformat()}".*?</a>', html, re.S)
    assert match, f"no link for {day}"
    return match.group(0)


@pytest.fixture
def signed_in(app, client):
    """An auditor with no plans, signed in on `client`."""
    me = f.auditor()
    db.session.commit()
    log_in(client, me)
    return me


@pytest.fixture
def past_month():
    """A month well in the past (every plan in it has ended)."""
    today = dt.datetime.now(SHANGHAI).date()
    first = (today.replace(day=1) - dt.timedelta(days=40)).replace(day=1)
    return Month(first.year, first.month)


def local(month: Month, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(month.year, month.month, day, hour, minute, tzinfo=SHANGHAI)


def test_r12_red_mark_only_on_the_days_of_a_plan_with_an_exception(app_context, app, client, past_month):
    me = f.auditor()
    # Ended without check-in: 未签到 and 未上传照片 on the 10th and 11th.
    f.plan([me], start=local(past_month, 10, 8, 30), end=local(past_month, 11, 12, 0))
    # A remote audit signs nothing, so it has no exception: coloured, no `!`.
    f.plan([me], start=local(past_month, 15, 13, 0), end=local(past_month, 15, 17, 0), mode="remote")
    db.session.commit()
    log_in(client, me)
    html = client.get(f"/calendar/{past_month.year}/{past_month.month}").get_data(as_text=True)
    marked = [day for day in range(1, past_month.last_day.day + 1)
              if 'class="bang"' in day_link(html, past_month.first_day.replace(day=day))]
    assert marked == [10, 11]
    tenth = day_link(html, past_month.first_day.replace(day=10))
    assert "type-all_day" in tenth and "有异常" in tenth
    assert "type-morning" in day_link(html, past_month.first_day.replace(day=11))
    fifteenth = day_link(html, past_month.first_day.replace(day=15))
    assert "type-afternoon" in fifteenth and "1 个审核计划" in fifteenth and "有异常" not in fifteenth
    assert "type-" not in day_link(html, past_month.first_day.replace(day=20))


def test_r12_this_month_first_with_today_marked(app_context, app, client, signed_in):
    response = client.get("/calendar")
    html = response.get_data(as_text=True)
    today = dt.datetime.now(SHANGHAI).date()
    assert response.status_code == 200
    assert f"{today.year}年{today.month}月" in html
    assert "today" in day_link(html, today) and "今天" in day_link(html, today)
    assert "规则说明" in html and "全天" in html and "上午" in html and "下午" in html
    for weekday in "一二三四五六日":
        assert f"<th scope=\"col\">{weekday}</th>" in html


def test_r12_previous_and_next_month_are_real_links_with_htmx(app_context, app, client, signed_in):
    html = client.get("/calendar/2026/1").get_data(as_text=True)
    assert 'href="/calendar/2025/12" hx-get="/calendar/2025/12"' in html
    assert 'href="/calendar/2026/2" hx-get="/calendar/2026/2"' in html
    partial = client.get("/calendar/2026/2", headers={"HX-Request": "true"})
    body = partial.get_data(as_text=True)
    assert partial.status_code == 200 and "<html" not in body and 'id="calendar"' in body
    assert "2026年2月" in body
    assert "HX-Request" in partial.headers.get("Vary", "")


@pytest.mark.parametrize("path, message", [
    ("/calendar/2026/13", "没有 13 月"),
    ("/calendar/2026/0", "没有 0 月"),
    ("/calendar/0/5", "没有 0 年的日历"),
    ("/calendar/99999/5", "没有 99999 年的日历"),
    ("/calendar/123456789012/5", "没有 123456789012 年的日历"),
    ("/calendar/abc/5", "年份不是数字"),
    ("/calendar/2026/may", "月份不是数字"),
    ("/calendar/2026/3?day=2026-04-01", "不是本月的日期"),
    ("/calendar/2026/3?day=yesterday", "不是本月的日期"),
])
def test_r12_a_bad_month_or_day_shows_this_month_with_a_message(app_context, app, client, signed_in, path, message):
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    today = dt.datetime.now(SHANGHAI).date()
    if "day=" not in path:
        assert f"{today.year}年{today.month}月" in html


def test_r12_tapping_a_day_lists_its_plans_with_exceptions_and_explanations(app_context, app, client, past_month):
    me, colleague = f.auditor(name="张三"), f.auditor(name="李四")
    company = f.enterprise("大连某某有限公司")
    plan = f.plan([colleague, me], company=company, start=local(past_month, 10, 8, 30),
                  end=local(past_month, 11, 12, 0))
    db.session.add_all([
        Explanation(plan_id=plan.id, author_id=colleague.id, text="第一次说明",
                    created_at=dt.datetime(past_month.year, past_month.month, 12, 1, 0)),
        Explanation(plan_id=plan.id, author_id=me.id, text="<b hx-get=/x>第二次说明</b>",
                    created_at=dt.datetime(past_month.year, past_month.month, 12, 2, 0)),
    ])
    db.session.commit()
    log_in(client, me)
    day = past_month.first_day.replace(day=11)
    response = client.get(f"/calendar/{day.year}/{day.month}?day={day.isoformat()}", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    section = html[html.index('id="calendar-day"'):]
    assert "大连某某有限公司" in section and f'href="/plans/{plan.id}"' in section
    assert "ISO9001" in section and 'class="must-sign"' in section
    assert "张某 0435-1234567" in section and "吉林省集安市工业园区1号" in section
    assert "未签到：缺少签到和签退记录" in section and "未上传照片：首次和末次会议照片" in section
    assert f'<a class="button secondary" href="/plans/{plan.id}/explain">异常说明</a>' in section
    assert "异常说明 2 条" in section
    assert section.index("第二次说明") < section.index("第一次说明")  # newest first
    assert "&lt;b hx-get=/x&gt;" in section and "<b hx-get" not in section  # shown escaped, inert
    assert "aria-current=\"true\"" in day_link(html, day)


def test_r12_a_plan_abroad_is_on_its_own_local_day(app_context, app, client, past_month):
    me = f.auditor()
    new_york = ZoneInfo("America/New_York")
    # 20:00-23:00 in New York on the 10th is the 11th in Shanghai: the calendar says the 10th.
    plan = f.plan([me], start=dt.datetime(past_month.year, past_month.month, 10, 20, 0, tzinfo=new_york),
                  end=dt.datetime(past_month.year, past_month.month, 10, 23, 0, tzinfo=new_york))
    plan.timezone = "America/New_York"
    db.session.commit()
    log_in(client, me)
    html = client.get(f"/calendar/{past_month.year}/{past_month.month}").get_data(as_text=True)
    assert "type-afternoon" in day_link(html, past_month.first_day.replace(day=10))
    assert "type-" not in day_link(html, past_month.first_day.replace(day=11))
    day = past_month.first_day.replace(day=10).isoformat()
    listed = client.get(f"/calendar/{past_month.year}/{past_month.month}?day={day}").get_data(as_text=True)
    assert f'id="day-plan-{plan.id}"' in listed and "20:00 至" in listed


def test_r12_a_day_alone_opens_its_month(app_context, app, client, signed_in):
    html = client.get("/calendar?day=2026-03-04").get_data(as_text=True)
    assert "2026年3月" in html and "2026-03-04 审核计划" in html


def test_r12_a_day_without_plans_says_so(app_context, app, client, signed_in):
    html = client.get("/calendar/2026/3?day=2026-03-04").get_data(as_text=True)
    assert "当天无审核计划" in html


def test_r16_calendar_never_shows_another_teams_plan(app_context, app, client, past_month):
    me, stranger = f.auditor(), f.auditor()
    f.plan([stranger], company=f.enterprise("别人的企业"), start=local(past_month, 10, 8, 30),
           end=local(past_month, 10, 17, 0))
    db.session.commit()
    log_in(client, me)
    day = past_month.first_day.replace(day=10)
    html = client.get(f"/calendar/{day.year}/{day.month}?day={day.isoformat()}").get_data(as_text=True)
    assert "别人的企业" not in html
    assert "type-" not in day_link(html, day) and 'class="bang"' not in day_link(html, day)
    assert "当天无审核计划" in html


def test_r12_calendar_needs_a_login(app_context, client):
    response = client.get("/calendar")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
