"""Today's board of a body (今日看板): each audit of today (R2: the plan's own zone decides)
with its team's state and how late it is (R11's reminder, R6's window), the counts, the
filters kept in the URL, R16 (another body's audits never appear), the exceptions chart
(R10) and a fixed number of SQL statements whatever the number of audits."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from checkin_pwa.domain import board as rules, clock as server_clock
from checkin_pwa.domain.rules import PlanFacts
from checkin_pwa.extensions import db
from checkin_pwa.models import CheckEvent, Enterprise

from .. import factories
from ..factories import SHANGHAI, local_today, to_utc
from .test_plans import logged_in, other_body, staff_of

UTC = dt.timezone.utc


def rows(response) -> list[tuple[int, str, str]]:
    """(plan id, team state, minutes late) of the board's rows, in order."""
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return [(int(plan), state, late) for plan, state, late in re.findall(
        r'<tr data-plan="(\d+)" data-state="(\w+)".*?data-late="(\d*)"', response.get_data(as_text=True), re.S)]


def shown(response) -> list[int]:
    return [plan for plan, _, _ in rows(response)]


def count_of(response, state: str) -> int:
    found = re.search(rf'data-count="{state}">[^<]*<b>(\d+)</b>', response.get_data(as_text=True))
    return int(found.group(1))


@pytest.fixture
def clock(monkeypatch):
    """The server's clock, set by the test (aware)."""
    class Clock:
        at = local_today(0, 10, 0)

    monkeypatch.setattr(server_clock, "now", lambda: to_utc(Clock.at))
    return Clock


def sign(plan, person, kind="in", minutes_after_start=10, distance=3.0):
    db.session.add(CheckEvent(plan_id=plan.id, kind=kind, signer_id=person.id, device_lat=41.1, device_lon=126.1,
                              chosen_lat=41.1, chosen_lon=126.1,
                              server_time=plan.start_utc + dt.timedelta(minutes=minutes_after_start),
                              nearest_site_distance_m=distance))
    db.session.flush()


@pytest.fixture
def today(app, clock):
    """Today's audits at 10:00 Shanghai in every state, and plans of other days."""
    zhang, li, wang = factories.auditor(name="张一"), factories.auditor(name="李二"), factories.auditor(name="王三")
    jilin, dalian = factories.enterprise("吉林甲机械有限公司"), factories.enterprise("大连乙化工有限公司")
    p = {"zhang": zhang, "li": li, "wang": wang}
    # Started 08:30, nobody checked in: 90 minutes late, past R6's 30-minute window.
    p["waiting_long"] = factories.plan([zhang, li], company=jilin, start=local_today(0, 8, 30)).id
    # Started 09:45: 15 minutes, still within the window.
    p["waiting_short"] = factories.plan([wang], company=dalian, start=local_today(0, 9, 45), code="ISO14001").id
    # Starts at 14:00: not late yet.
    p["later"] = factories.plan([li], company=jilin, start=local_today(0, 14, 0)).id
    # Checked in 45 minutes after its 08:00 start: late, recorded.
    checked_in = factories.plan([li, wang], company=dalian, start=local_today(0, 8, 0))
    checked_in.region = "辽宁省大连市"
    sign(checked_in, li, minutes_after_start=45)
    p["checked_in"] = checked_in.id
    # Started yesterday, ends today at 09:30: checked in and out.
    done = factories.plan([zhang], company=jilin, start=local_today(-1, 8, 30), end=local_today(0, 9, 30))
    sign(done, zhang, minutes_after_start=5)
    sign(done, zhang, "out", minutes_after_start=24 * 60 + 50)
    p["checked_out"] = done.id
    p["remote"] = factories.plan([wang], company=dalian, mode="remote", start=local_today(0, 8, 0)).id
    p["cancelled"] = factories.plan([zhang], company=jilin, status="cancelled", start=local_today(0, 8, 0)).id
    # Not today: ended yesterday, starts tomorrow.
    p["yesterday"] = factories.plan([zhang], company=jilin, start=local_today(-1, 8, 0), end=local_today(-1, 17, 0)).id
    p["tomorrow"] = factories.plan([zhang], company=jilin, start=local_today(1, 8, 0), end=local_today(1, 17, 0)).id
    db.session.commit()
    return p


@pytest.fixture
def reader(app, today):
    return logged_in(app, staff_of(role="readonly"))


def test_r2_the_board_lists_todays_audits_late_and_not_checked_in_first_with_state_and_lateness(app_context, reader, today):
    p = today
    answer = reader.get("/admin/board")
    assert rows(answer) == [
        (p["waiting_long"], "not_checked_in", "90"),
        (p["waiting_short"], "not_checked_in", "15"),
        (p["later"], "not_checked_in", ""),
        (p["checked_in"], "checked_in", "45"),
        (p["checked_out"], "checked_out", ""),
        (p["remote"], "remote", ""),
        (p["cancelled"], "cancelled", ""),
    ]
    text = answer.get_data(as_text=True)
    assert "今日 7 个审核" in text
    assert [count_of(answer, state) for state in rules.STATES] == [3, 1, 1, 1, 1]
    assert "2 个审核组已过计划开始仍未签到" in text  # the 14:00 one has not started
    for words in ("未签到", "已签到", "已签退", "远程审核", "已取消", "未签到，已过开始 1 小时 30 分钟",
                  "开始后 45 分钟签到", "08:45 李二"):
        assert words in text, words
    # The long wait stands out more than the short one (R6's window).
    assert re.search(rf'data-plan="{p["waiting_long"]}" data-state="not_checked_in" class="board-waiting board-overdue"', text)
    assert re.search(rf'data-plan="{p["waiting_short"]}" data-state="not_checked_in" class="board-waiting"', text)
    # Each row links to the plan's console page.
    assert f'href="/admin/plans/{p["checked_in"]}"' in text


def test_r2_the_board_counts_and_rows_follow_the_clock(app_context, reader, today, clock):
    """At 08:45 the 08:30 audit is 15 minutes late; at 09:00 the body sees it past the window."""
    clock.at = local_today(0, 8, 45)
    assert rows(reader.get("/admin/board"))[0] == (today["waiting_long"], "not_checked_in", "15")
    clock.at = local_today(0, 9, 1)
    answer = reader.get("/admin/board")
    assert rows(answer)[0] == (today["waiting_long"], "not_checked_in", "31")
    assert "board-overdue" in answer.get_data(as_text=True)


def test_r2_the_board_filters_by_region_auditor_and_project_and_keeps_them_in_the_url(app_context, reader, today):
    p = today
    assert shown(reader.get("/admin/board?region=辽宁省大连市")) == [p["checked_in"]]
    assert shown(reader.get(f"/admin/board?auditor={p['wang'].id}")) == [p["waiting_short"], p["checked_in"], p["remote"]]
    assert shown(reader.get("/admin/board?project=ISO14001")) == [p["waiting_short"]]
    both = reader.get(f"/admin/board?auditor={p['li'].id}&project=ISO9001")
    assert shown(both) == [p["waiting_long"], p["later"], p["checked_in"]]
    # The counts are the filtered audits', with today's total beside them.
    text = both.get_data(as_text=True)
    assert "今日 3 个审核" in text and "（共 7 个）" in text
    assert count_of(both, "not_checked_in") == 2
    # The choices are today's; the chosen one stays selected.
    assert f'<option value="{p["li"].id}" selected>李二</option>' in text
    # htmx gets only the list, with the URL to push holding the question.
    partial = reader.get(f"/admin/board?auditor={p['li'].id}&project=ISO9001&region=", headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True) and 'id="board-list"' in partial.get_data(as_text=True)
    assert partial.headers["HX-Push-Url"] == f"/admin/board?auditor={p['li'].id}&project=ISO9001"
    # The list asks for itself again with the same question; its own refresh leaves the history alone.
    assert f'hx-get="/admin/board?auditor={p["li"].id}&amp;project=ISO9001"' in partial.get_data(as_text=True)
    again = reader.get(f"/admin/board?auditor={p['li'].id}&project=ISO9001",
                       headers={"HX-Request": "true", "HX-Trigger": "board-list"})
    assert shown(again) == shown(both) and "HX-Push-Url" not in again.headers
    # An auditor that is not a row id: refused in words, nothing filtered.
    for odd in ("abc", "-1", "９", "99999999999999999999999"):
        refused = reader.get("/admin/board", query_string={"auditor": odd})
        assert refused.status_code == 400, odd
        assert "不是可选的值" in refused.get_data(as_text=True)
        assert len(shown_any(refused)) == 7
    # Odd pages and long text: an answer, never an error; text is cut to its column's length.
    for query in ({"page": "abc"}, {"page": "-3"}, {"page": "99999999999999999999"}, {"region": "区" * 10_000},
                  {"project": "\x00ISO"}):
        answer = reader.get("/admin/board", query_string=query)
        assert answer.status_code == 200, query
        assert "区" * 201 not in answer.get_data(as_text=True)
    assert len(shown(reader.get("/admin/board?page=99999999999999999999"))) == 7
    # Someone of the body with no audit today: an empty board that says so.
    nobody = reader.get("/admin/board?auditor=987654")
    assert shown(nobody) == [] and "今日没有符合条件的审核" in nobody.get_data(as_text=True)


def shown_any(response) -> list[str]:
    return re.findall(r'<tr data-plan="(\d+)"', response.get_data(as_text=True))


def test_r16_another_bodys_audits_never_appear_on_the_board(app_context, app, today):
    body = other_body()
    stranger = factories.auditor(name="赵外机构")
    stranger.agency_id = body.id
    company = Enterprise(agency_id=body.id, name="外省丙公司")
    db.session.add(company)
    db.session.flush()
    foreign = factories.plan([stranger], company=company, start=local_today(0, 8, 0), code="ISO45001")
    foreign.agency_id = body.id
    foreign.region = "外省某市"
    db.session.commit()
    mine = logged_in(app, staff_of(role="readonly"))
    text = mine.get("/admin/board").get_data(as_text=True)
    assert str(foreign.id) not in shown_any(mine.get("/admin/board"))
    for word in ("外省丙公司", "赵外机构", "外省某市", "ISO45001", foreign.plan_no):
        assert word not in text, word
    assert "今日 7 个审核" in text
    # Asking for their auditor, region or project finds nothing of theirs.
    for query in ({"auditor": stranger.id}, {"region": "外省某市"}, {"project": "ISO45001"}):
        assert shown(mine.get("/admin/board", query_string=query)) == []
    # Nor in the chart: their ended audit without a check-in is not counted among ours.
    def flagged() -> int:
        app.extensions.pop("board_charts", None)
        chart = mine.get("/admin/board/chart", headers={"HX-Request": "true"}).get_data(as_text=True)
        return sum(int(n) for n in re.findall(r'data-exceptions="(\d+)"', chart))

    ours = flagged()
    past = factories.plan([stranger], company=company, start=local_today(-8, 8, 0), end=local_today(-8, 17, 0))
    past.agency_id = body.id
    db.session.commit()
    assert flagged() == ours
    # And their staff see only their own audit.
    theirs = logged_in(app, staff_of(body, role="admin", phone="13900000777"), offset_steps=1)
    assert shown(theirs.get("/admin/board")) == [foreign.id]


def test_r2_the_plans_own_zone_decides_today(app_context, app, clock):
    """At 02:00 UTC it is 10:00 in Shanghai but 18:00 of the day before in Los Angeles."""
    person = factories.auditor(name="周时区")
    day = local_today(0).date()
    clock.at = dt.datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)
    la = ZoneInfo("America/Los_Angeles")
    yesterday = day - dt.timedelta(days=1)

    def plan_in(zone, local_day, start_hour, end_hour):
        start = dt.datetime.combine(local_day, dt.time(start_hour), tzinfo=zone)
        made = factories.plan([person], start=start, end=dt.datetime.combine(local_day, dt.time(end_hour), tzinfo=zone))
        made.timezone = str(zone)
        return made.id

    la_yesterday = plan_in(la, yesterday, 9, 23)  # still today in Los Angeles
    la_today = plan_in(la, day, 8, 17)  # Shanghai's today, Los Angeles' tomorrow
    shanghai_yesterday = plan_in(SHANGHAI, yesterday, 8, 23)  # over in Shanghai
    shanghai_today = plan_in(SHANGHAI, day, 8, 17)
    db.session.commit()
    reader = logged_in(app, staff_of())
    found = shown(reader.get("/admin/board"))
    assert sorted(found) == sorted([la_yesterday, shanghai_today])
    assert la_today not in found and shanghai_yesterday not in found


def _statements(app, client, path, headers=None) -> int:
    seen = []

    def count(*_args):
        seen.append(1)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = client.get(path, headers=headers or {})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code == 200
    return len(seen)


def _audits(n: int, team) -> None:
    """`n` audits of today in every state, and `n` past ones for the chart (with and without
    an exception)."""
    for i in range(n):
        made = factories.plan(team[: 1 + i % 3], start=local_today(0, 8, i % 60), end=local_today(0, 17, 0))
        if i % 2:
            sign(made, team[0])
        if i % 5 == 0:
            sign(made, team[0], "out", minutes_after_start=300)
        if i % 7 == 0:
            made.region = f"地区{i}"
    for i in range(n):
        made = factories.plan(team[:1], start=local_today(-3 - i, 8, 0), end=local_today(-3 - i, 17, 0))
        if i % 2:
            sign(made, team[0])
        if i % 4 == 0:  # the same auditor far away at the same time: an anomaly (R21)
            factories.plan(team[:1], start=local_today(-3 - i, 9, 0), end=local_today(-3 - i, 17, 0), sites=(DALIAN,))
    db.session.commit()


@pytest.mark.parametrize("path, headers", [("/admin/board", None), ("/admin/board?project=ISO9001", {"HX-Request": "true"}),
                                           ("/admin/board", {"HX-Request": "true", "HX-Trigger": "board-list"}),
                                           ("/admin/board/chart", {"HX-Request": "true"})],
                         ids=["page", "filtered list", "refresh", "chart"])
def test_the_board_costs_the_same_statements_for_5_and_50_audits(app_context, app, clock, path, headers):
    team = [factories.auditor() for _ in range(3)]
    client = logged_in(app, staff_of())
    counted, anomalies = [], []
    for more in (5, 45):
        _audits(more, team)
        app.extensions.pop("board_charts", None)  # each worker keeps a chart a few minutes
        counted.append(_statements(app, client, path, headers))
        if path.endswith("/chart"):
            chart = client.get(path, headers=headers).get_data(as_text=True)
            anomalies.append(sum(int(n) for n in re.findall(r'data-anomalies="(\d+)"', chart)))
    assert len(shown(client.get("/admin/board?page=1"))) == rules_per_page(50)
    if path.endswith("/chart"):
        assert 0 < anomalies[0] < anomalies[1], anomalies  # the anomalies grew, the statements did not
    assert counted[0] == counted[1], counted
    assert counted[0] <= (20 if path.endswith("/chart") else 12), counted


def rules_per_page(total: int) -> int:
    from checkin_pwa.services.board import BOARD_PER_PAGE

    return min(total, BOARD_PER_PAGE)


def test_r10_the_chart_shows_the_audits_with_an_exception_per_week(app_context, reader, today, clock):
    """Ended audits without a check-in (未签到) count in the week of their last day; remote
    ones need none; this week's are beside."""
    person = today["zhang"]
    this_monday = rules.week_of(local_today(0).date())
    two_weeks_ago = this_monday - dt.timedelta(weeks=2)
    at = dt.datetime.combine(two_weeks_ago + dt.timedelta(days=2), dt.time(8, 30), tzinfo=SHANGHAI)
    for _ in range(3):
        factories.plan([person], start=at, end=at + dt.timedelta(hours=8))
    factories.plan([person], start=at, end=at + dt.timedelta(hours=8), mode="remote")
    db.session.commit()
    # The board's page asks for the chart once shown; it is also a page of its own.
    assert 'hx-get="/admin/board/chart" hx-trigger="load"' in reader.get("/admin/board").get_data(as_text=True)
    answer = reader.get("/admin/board/chart", headers={"HX-Request": "true"})
    assert "<html" not in answer.get_data(as_text=True)
    text = answer.get_data(as_text=True)
    week = re.search(rf'<g data-week="{two_weeks_ago.isoformat()}" data-exceptions="(\d+)">\s*<title>([^<]*)</title>', text)
    assert week.group(1) == "3"
    assert f"{two_weeks_ago:%m-%d} 这一周：4 个审核中 3 个有异常" in week.group(2)
    assert len(re.findall(r"<g data-week=[^>]*data-exceptions=", text)) == rules.WEEKS
    assert "<title id=\"board-chart-svg-title\">每周的异常与跨审核异常</title>" in text
    assert "这 12 周内：" in text
    page = reader.get("/admin/board/chart")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True) and "<svg" in page.get_data(as_text=True)
    # The board's own refresh does not draw it again.
    assert "<svg" not in reader.get("/admin/board", headers={"HX-Request": "true"}).get_data(as_text=True)


DALIAN = (38.9140, 121.6147)  # about 300 km from the factories' Jilin site


def two_places_at_once(person, day: dt.date) -> None:
    """`person` on two plans of `day` whose sites are far apart (R21's overlap): one anomaly
    dated at the second plan's start; both ended without a check-in (R10: two exceptions)."""
    at = dt.datetime.combine(day, dt.time(8, 30), tzinfo=SHANGHAI)
    factories.plan([person], start=at, end=at + dt.timedelta(hours=8))
    factories.plan([person], start=at + dt.timedelta(hours=1), end=at + dt.timedelta(hours=8), sites=(DALIAN,))


def test_r21_the_chart_counts_the_cross_audit_anomalies_per_week_beside_the_exceptions(app_context, reader, today, clock):
    """The anomalies the console's anomalies list finds are counted in the week they
    happened, in a panel of their own below the exceptions, each number written as text."""
    this_monday = rules.week_of(local_today(0).date())
    two_weeks_ago, five_weeks_ago = this_monday - dt.timedelta(weeks=2), this_monday - dt.timedelta(weeks=5)
    two_places_at_once(factories.auditor(name="甲"), two_weeks_ago + dt.timedelta(days=2))
    for name in ("乙", "丙"):
        two_places_at_once(factories.auditor(name=name), five_weeks_ago)
    db.session.commit()
    reader.application.extensions.pop("board_charts", None)
    text = reader.get("/admin/board/chart", headers={"HX-Request": "true"}).get_data(as_text=True)
    anomalies = {week: int(n) for week, n in re.findall(r'<g data-week="([\d-]+)" data-anomalies="(\d+)">', text)}
    assert len(anomalies) == rules.WEEKS
    assert {week: n for week, n in anomalies.items() if n} == {two_weeks_ago.isoformat(): 1, five_weeks_ago.isoformat(): 2}
    exceptions = dict(re.findall(r'<g data-week="([\d-]+)" data-exceptions="(\d+)">', text))
    assert exceptions[two_weeks_ago.isoformat()] == "2" and exceptions[five_weeks_ago.isoformat()] == "4"
    # The numbers as text: on the bar, in its title, in the table; the legend in words.
    bar = re.search(rf'data-week="{five_weeks_ago.isoformat()}" data-anomalies="2">\s*<title>([^<]*)</title>.*?'
                    r'class="board-chart-value">(\d+)</text>', text, re.S)
    assert bar.group(1) == f"{five_weeks_ago:%m-%d} 这一周：跨审核异常 2 项" and bar.group(2) == "2"
    row = re.search(rf'<tr data-week="{five_weeks_ago.isoformat()}">(.*?)</tr>', text).group(1)
    assert re.findall(r">(\d+)</td>", row) == ["4", "4", "2"]
    assert re.search(r'<li data-series="anomalies">.*?跨审核异常（下图：按发生的周）</li>', text)
    assert "发现跨审核异常 3 项" in text


def test_the_chart_is_drawn_from_any_weeks_counts_one_body_or_several_summed(app_context, app):
    """The chart is a function of the weeks' counts: two bodies' weeks added up draw as one,
    each panel scaled to its own highest week."""
    from flask import render_template, session

    from checkin_pwa.console.board.chart import bar_chart

    monday = dt.date(2026, 3, 2)
    first = [rules.WeekCount(monday, 10, 2, 0), rules.WeekCount(monday + dt.timedelta(weeks=1), 20, 4, 3)]
    second = [rules.WeekCount(monday, 5, 2, 1), rules.WeekCount(monday + dt.timedelta(weeks=1), 0, 0, 0)]
    chart = bar_chart(rules.summed(first, second))
    assert (chart.audits, chart.with_exceptions, chart.anomalies) == (35, 8, 4)
    exceptions, anomalies = chart.panels
    assert [bar.value for bar in exceptions.bars] == [4, 4] and [bar.value for bar in anomalies.bars] == [1, 3]
    assert exceptions.bars[0].height == exceptions.bars[1].height > 0  # the highest fills its panel
    assert anomalies.bars[0].height * 3 == pytest.approx(anomalies.bars[1].height, abs=0.2)
    assert anomalies.top >= exceptions.baseline  # one panel below the other
    with app.test_request_context("/"):
        session["lang"] = "en"
        text = render_template("console/board/_chart.html", chart=chart)
    assert "In these 2 weeks: 8 of 35 audits have an exception; 4 anomalies were found." in text
    assert "Week of 03-09: 3 cross-audit anomalies" in text


def test_r10_the_chart_judges_only_the_plans_the_verification_queue_may_list_and_drops_none(app_context, app, clock, monkeypatch):
    """The chart reuses the verification queue's pre-filter (the open_review marker) and adds
    the verified plans: plans with a clean record are counted by their last day but never
    judged, and every plan R10 flags is still counted, a verified one included."""
    from checkin_pwa.domain import audit_exceptions as rules10
    from checkin_pwa.models import ExceptionVerification, Photo
    from checkin_pwa.services.plan_status import status_of

    from .test_r20_verifications import ended, signed_with_photos

    staff = staff_of(role="manager")
    person = factories.auditor(name="钱组长")
    clean = [ended(9, team=[person]) for _ in range(12)]
    for plan in clean:
        signed_with_photos(plan)
    far = ended(9, team=[person])
    signed_with_photos(far, distance_m=8300.0)
    no_last_photo = ended(9, team=[person])
    signed_with_photos(no_last_photo)
    db.session.query(Photo).filter_by(plan_id=no_last_photo.id, group="last").one().deleted_at = dt.datetime(2026, 1, 1)
    never_came, verified = ended(9, team=[person]), ended(9, team=[person])
    db.session.add(ExceptionVerification(agency_id=verified.agency_id, plan_id=verified.id, staff_id=staff.id,
                                         result="confirmed", text="", exceptions=["not_signed"],
                                         deadline=dt.date(2026, 1, 1), late=True, form_token="seeded"))
    remote, cancelled = ended(9, team=[person], mode="remote"), ended(9, team=[person], status="cancelled")
    db.session.commit()
    everyone = [*clean, far, no_last_photo, never_came, verified, remote, cancelled]
    now = server_clock.now()
    flagged_by_r10 = {plan.id for plan in everyone if status_of(plan, now).exceptions}
    assert flagged_by_r10 == {far.id, no_last_photo.id, never_came.id, verified.id}

    judged = []
    judge = rules10.exceptions

    def judging(facts, *args):
        judged.append(facts.plan_id)
        return judge(facts, *args)

    monkeypatch.setattr(rules10, "exceptions", judging)
    app.extensions.pop("board_charts", None)
    text = logged_in(app, staff).get("/admin/board/chart", headers={"HX-Request": "true"}).get_data(as_text=True)
    week = rules.week_of(local_today(-9).date())
    row = re.search(rf'<tr data-week="{week.isoformat()}">(.*?)</tr>', text).group(1)
    audits, with_exceptions, _anomalies = (int(n) for n in re.findall(r">(\d+)</td>", row))
    assert audits == len(everyone)
    assert with_exceptions == len(flagged_by_r10)
    assert sorted(judged) == sorted(flagged_by_r10)  # not one clean, remote or cancelled plan judged


# --- the pure rules ------------------------------------------------------------------------

def facts(start, *, checked_in=None, mode="onsite", status="valid", end=None):
    return PlanFacts(plan_id=1, enterprise_id=1, start=start, end=end or start + dt.timedelta(hours=8),
                     timezone="Asia/Shanghai", mode=mode, status=status, team=frozenset({1}), checked_in_at=checked_in)


def test_r6_lateness_at_the_edges_of_the_check_in_window():
    start = dt.datetime(2026, 3, 2, 0, 30, tzinfo=UTC)
    assert rules.lateness(facts(start), start - dt.timedelta(minutes=1)) is None
    assert rules.lateness(facts(start), start + dt.timedelta(minutes=30)) == rules.Lateness(30, waiting=True, overdue=False)
    assert rules.lateness(facts(start), start + dt.timedelta(minutes=30, seconds=1)) == rules.Lateness(
        30, waiting=True, overdue=True)
    on_time = facts(start, checked_in=start + dt.timedelta(minutes=30))
    assert rules.lateness(on_time, start + dt.timedelta(hours=2)) is None
    late = facts(start, checked_in=start + dt.timedelta(minutes=31))
    assert rules.lateness(late, start + dt.timedelta(hours=2)) == rules.Lateness(31, waiting=False, overdue=True)
    for quiet in (facts(start, mode="remote"), facts(start, status="cancelled")):
        assert rules.lateness(quiet, start + dt.timedelta(hours=2)) is None


def test_the_weeks_of_the_chart_run_monday_to_sunday_oldest_first():
    today = dt.date(2026, 3, 4)  # a Wednesday
    weeks = rules.weekly([(dt.date(2026, 3, 2), True), (dt.date(2026, 3, 1), True), (dt.date(2026, 3, 1), False),
                          (dt.date(2025, 1, 1), True)], today, weeks=3)
    assert [(w.first_day, w.audits, w.with_exceptions) for w in weeks] == [
        (dt.date(2026, 2, 16), 0, 0), (dt.date(2026, 2, 23), 2, 1), (dt.date(2026, 3, 2), 1, 1)]


def test_an_open_board_refreshing_itself_does_not_keep_an_idle_session_alive(app_context, reader, today, monkeypatch):
    """The page's own refresh says X-Auto-Refresh; only a person's requests renew the
    session, which still ends after STAFF_IDLE_MINUTES (30) without one."""
    from checkin_pwa.console import guard

    began = guard.time.time()
    refresh = {"HX-Request": "true", "HX-Trigger": "board-list", "X-Auto-Refresh": "1"}
    monkeypatch.setattr(guard.time, "time", lambda: began + 20 * 60)
    assert reader.get("/admin/board", headers=refresh).status_code == 200
    monkeypatch.setattr(guard.time, "time", lambda: began + 40 * 60)
    ended = reader.get("/admin/board", headers=refresh)
    assert ended.status_code == 401 and "/admin/login" in ended.headers["HX-Redirect"]


def test_a_person_using_the_board_keeps_the_session(app_context, reader, today, monkeypatch):
    from checkin_pwa.console import guard

    began = guard.time.time()
    monkeypatch.setattr(guard.time, "time", lambda: began + 20 * 60)
    assert reader.get("/admin/board?project=ISO9001", headers={"HX-Request": "true"}).status_code == 200
    monkeypatch.setattr(guard.time, "time", lambda: began + 40 * 60)
    assert reader.get("/admin/board", headers={"HX-Request": "true", "HX-Trigger": "board-list"}).status_code == 200


def test_r2_the_consoles_first_page_shows_todays_counts_and_links_to_the_board(app_context, reader, today):
    answer = reader.get("/admin/")
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "今日 7 个审核" in text and 'href="/admin/board"' in text
    assert [count_of(answer, state) for state in rules.STATES] == [3, 1, 1, 1, 1]
