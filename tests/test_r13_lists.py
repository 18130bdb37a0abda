"""R13 tasks (审核任务) and history (审核经历): the split at the end day, the filters, bad
filters, pages, and R16 (only the auditor's own plans)."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event

from checkin_pwa.domain.filters import ProjectTree, TaskFilters, page_of, parse_filters
from checkin_pwa.extensions import db

from . import factories as f
from .helpers import log_in

QMS = ("管理体系认证", "质量管理体系认证", "ISO9001")
EMS = ("管理体系认证", "环境管理体系认证", "ISO14001")
CCC = ("产品认证", "强制性产品认证", "CCC")
TREE = ProjectTree.of([list(QMS), list(EMS), list(CCC), ["服务认证"]])


def rows(html: str) -> list[str]:
    """The enterprise names of the listed rows, in order."""
    return re.findall(r'<a class="row-link enterprise" href="/plans/\d+">([^<]+)</a>', html)


# --- filters (pure) --------------------------------------------------------------------------

def test_r13_filters_read_from_the_url():
    parsed = parse_filters({"from": "2026-03-01", "to": "2026-03-31", "enterprise": "  某某  公司 ",
                            "l1": QMS[0], "l2": QMS[1]}, TREE)
    assert parsed.usable
    assert parsed.filters == TaskFilters(dt.date(2026, 3, 1), dt.date(2026, 3, 31), "某某 公司", QMS[:2])
    assert parsed.filters.query_args() == {"from": "2026-03-01", "to": "2026-03-31", "enterprise": "某某 公司",
                                           "l1": QMS[0], "l2": QMS[1]}


def test_r13_an_inverted_range_is_refused():
    parsed = parse_filters({"from": "2026-03-31", "to": "2026-03-01"}, TREE)
    assert not parsed.usable and [e.code for e in parsed.errors] == ["inverted_range"]
    assert parse_filters({"from": "2026-03-01", "to": "2026-03-01"}, TREE).usable  # one day is fine


@pytest.mark.parametrize("args", [
    {"l1": "不存在的项目"},
    {"l2": QMS[1]},  # level 2 without level 1
    {"l1": CCC[0], "l2": QMS[1]},  # level 2 of another level 1
    {"l1": QMS[0], "l3": "ISO9001"},  # level 3 without level 2
    {"l1": QMS[0], "l2": QMS[1], "l3": "ISO14001"},
    {"l1": "服务认证", "l2": "任何"},  # a level with nothing below
])
def test_r13_a_bad_project_level_is_refused(args):
    parsed = parse_filters(args, TREE)
    assert [e.code for e in parsed.errors] == ["bad_project_level"]


def test_r13_changing_level_one_resets_the_levels_below():
    parsed = parse_filters({"l1": CCC[0], "l2": QMS[1], "l3": QMS[2]}, TREE, cascade_from="l1")
    assert parsed.usable and parsed.filters.levels == (CCC[0],)
    assert TREE.options(()) == ["产品认证", "服务认证", "管理体系认证"]
    assert TREE.options([QMS[0]]) == sorted([QMS[1], EMS[1]])
    assert TREE.options(list(QMS[:2])) == ["ISO9001"]


@pytest.mark.parametrize("value", ["2026-02-30", "yesterday", "2026-3-1", "0001-01-01", "20260301"])
def test_r13_a_date_that_is_not_a_date_is_refused(value):
    assert [e.code for e in parse_filters({"from": value}, TREE).errors] == ["bad_date"]


def test_r13_pages_of_twenty():
    assert page_of("1", 45).pages == 3 and page_of("3", 45).offset == 40
    beyond = page_of("9", 45)
    assert beyond.number == 3 and beyond.asked_beyond
    assert page_of("99999999999999", 45).number == 3
    assert page_of("abc", 45).number == 1 and page_of("-2", 45).number == 1
    assert page_of("1", 0).pages == 1


# --- the lists ---------------------------------------------------------------------------------

@pytest.fixture
def me(app):
    return f.auditor(name="张三")


def listed(client, path, **headers):
    response = client.get(path, headers=headers)
    assert response.status_code < 500
    return response


def test_r13_tasks_and_history_split_at_the_end_day(app_context, app, client, me):
    f.plan([me], company=f.enterprise("昨天结束"), start=f.local_today(-3), end=f.local_today(-1, 17, 0))
    # Ends today at 00:30, already past: still a task until the day is over (like R10's 任务结束).
    f.plan([me], company=f.enterprise("今天结束"), start=f.local_today(-2), end=f.local_today(0, 0, 30))
    f.plan([me], company=f.enterprise("正在进行"), start=f.local_today(0, 0, 10), end=f.local_today(2, 17, 0))
    f.plan([me], company=f.enterprise("下周开始"), start=f.local_today(7), end=f.local_today(8, 17, 0))
    db.session.commit()
    log_in(client, me)
    tasks = listed(client, "/tasks").get_data(as_text=True)
    history = listed(client, "/history").get_data(as_text=True)
    assert rows(tasks) == ["今天结束", "正在进行", "下周开始"]  # soonest first
    assert rows(history) == ["昨天结束"]
    assert "共 3 条记录" in tasks and "共 1 条记录" in history
    assert "审核任务" in tasks and "审核经历" in tasks and "重置" in tasks


def test_r13_each_row_shows_project_role_team_and_sign_state(app_context, app, client, me):
    leader, member = f.auditor(name="崔某"), f.auditor(name="沈某")
    plan = f.plan([leader, me, member], company=f.enterprise("吉林省某某股份有限公司"),
                  start=f.local_today(-1, 8, 30), end=f.local_today(1, 17, 0))
    db.session.commit()
    log_in(client, me)
    html = listed(client, "/tasks").get_data(as_text=True)
    row = html[html.index(f'id="row-{plan.id}"'):]
    assert "ISO9001" in row and 'class="must-sign"' in row
    assert '<span class="my-role">组员</span>' in row
    assert "【组长】崔某" in row and "【组员】张三、沈某" in row
    assert "吉林省集安市工业园区1号" in row and "监督审核" in row
    assert f"href=\"/plans/{plan.id}\"" in row
    assert "未签到" in row and "签到提醒" in row  # started with no check-in (R11)


def test_r13_history_row_shows_exception(app_context, app, client, me):
    f.plan([me], start=f.local_today(-5), end=f.local_today(-4, 17, 0))
    db.session.commit()
    log_in(client, me)
    html = listed(client, "/history").get_data(as_text=True)
    assert "state-exception" in html and "异常" in html


def test_r13_date_range_narrows(app_context, app, client, me):
    f.plan([me], company=f.enterprise("十天后"), start=f.local_today(10), end=f.local_today(11, 17, 0))
    f.plan([me], company=f.enterprise("二十天后"), start=f.local_today(20), end=f.local_today(22, 17, 0))
    db.session.commit()
    log_in(client, me)
    day = lambda n: f.local_today(n).date().isoformat()  # noqa: E731
    assert rows(listed(client, f"/tasks?from={day(15)}").get_data(as_text=True)) == ["二十天后"]
    assert rows(listed(client, f"/tasks?to={day(10)}").get_data(as_text=True)) == ["十天后"]
    # Overlap counts: a range inside the audit period keeps it.
    assert rows(listed(client, f"/tasks?from={day(21)}&to={day(21)}").get_data(as_text=True)) == ["二十天后"]
    assert rows(listed(client, f"/tasks?from={day(12)}&to={day(19)}").get_data(as_text=True)) == []


def test_r13_enterprise_name_narrows_by_any_part(app_context, app, client, me):
    f.plan([me], company=f.enterprise("吉林省通化钢铁股份有限公司"))
    f.plan([me], company=f.enterprise("大连港口集团有限公司"))
    f.plan([me], company=f.enterprise("百分之百_测试%公司"))
    db.session.commit()
    log_in(client, me)
    assert rows(listed(client, "/tasks?enterprise=通化").get_data(as_text=True)) == ["吉林省通化钢铁股份有限公司"]
    assert rows(listed(client, "/tasks?enterprise=港口").get_data(as_text=True)) == ["大连港口集团有限公司"]
    # LIKE wildcards typed by the auditor are plain characters.
    assert rows(listed(client, "/tasks?enterprise=%25").get_data(as_text=True)) == ["百分之百_测试%公司"]
    assert rows(listed(client, "/tasks?enterprise=_").get_data(as_text=True)) == ["百分之百_测试%公司"]
    html = listed(client, "/tasks").get_data(as_text=True)
    assert '<option value="大连港口集团有限公司">' in html  # suggestions (datalist)


def test_r13_project_levels_narrow_and_cascade(app_context, app, client, me):
    f.plan([me], company=f.enterprise("质量企业"), levels=QMS)
    f.plan([me], company=f.enterprise("环境企业"), levels=EMS, code="ISO14001")
    f.plan([me], company=f.enterprise("产品企业"), levels=CCC, code="CCC", required=False)
    db.session.commit()
    log_in(client, me)
    assert sorted(rows(listed(client, f"/tasks?l1={QMS[0]}").get_data(as_text=True))) == ["环境企业", "质量企业"]
    assert rows(listed(client, f"/tasks?l1={QMS[0]}&l2={QMS[1]}").get_data(as_text=True)) == ["质量企业"]
    assert rows(listed(client, f"/tasks?l1={QMS[0]}&l2={EMS[1]}&l3=ISO14001").get_data(as_text=True)) == ["环境企业"]
    # Level 2 options follow level 1.
    html = listed(client, f"/tasks?l1={CCC[0]}").get_data(as_text=True)
    selects = html[html.index('id="project-selects"'):html.index('id="task-results"')]
    assert f'<option value="{CCC[1]}">' in selects and f'<option value="{QMS[1]}">' not in selects
    # htmx: level 1 changed, the stale level 2 is dropped; the selects come back out of band
    # and the URL pushed holds the question as understood.
    response = listed(client, f"/tasks?l1={CCC[0]}&l2={QMS[1]}", **{"HX-Request": "true", "HX-Trigger-Name": "l1"})
    body = response.get_data(as_text=True)
    assert rows(body) == ["产品企业"] and "<html" not in body
    assert 'id="project-selects" class="project-selects" hx-swap-oob="true"' in body
    assert response.headers["HX-Push-Url"] == "/tasks?l1=" + "%E4%BA%A7%E5%93%81%E8%AE%A4%E8%AF%81"


@pytest.mark.parametrize("query", ["l1=不存在", f"l2={QMS[1]}", f"l1={CCC[0]}&l2={QMS[1]}"])
def test_r13_a_bad_project_level_says_so_and_lists_nothing(app_context, app, client, me, query):
    f.plan([me], levels=QMS)
    f.plan([me], levels=CCC)
    db.session.commit()
    log_in(client, me)
    response = listed(client, f"/tasks?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "认证项目层级无效" in html and rows(html) == []


def test_r13_an_inverted_range_says_so_and_lists_nothing(app_context, app, client, me):
    f.plan([me])
    db.session.commit()
    log_in(client, me)
    response = listed(client, "/history?from=2026-05-01&to=2026-04-01")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "开始日期 2026-05-01 晚于结束日期 2026-04-01" in html and rows(html) == []
    assert 'value="2026-05-01"' in html  # the form keeps what was typed
    # htmx swaps only what answers 2xx: the message comes back as 200 to be shown.
    partial = listed(client, "/history?from=2026-05-01&to=2026-04-01", **{"HX-Request": "true"})
    assert partial.status_code == 200 and "晚于结束日期" in partial.get_data(as_text=True)


def test_r13_pagination_twenty_a_page_with_real_links(app_context, app, client, me):
    for n in range(25):
        f.plan([me], company=f.enterprise(f"企业{n:02d}"), start=f.local_today(1 + n), end=f.local_today(1 + n, 17, 0))
    db.session.commit()
    log_in(client, me)
    first = listed(client, "/tasks?enterprise=企业").get_data(as_text=True)
    assert len(rows(first)) == 20 and rows(first)[0] == "企业00" and "共 25 条记录" in first
    assert 'href="/tasks?page=2&amp;enterprise=%E4%BC%81%E4%B8%9A"' in first
    second = listed(client, "/tasks?enterprise=企业&page=2").get_data(as_text=True)
    assert rows(second) == [f"企业{n}" for n in range(20, 25)]
    beyond = listed(client, "/tasks?enterprise=企业&page=99").get_data(as_text=True)
    assert rows(beyond) == rows(second) and "没有该页，已显示最后一页" in beyond
    assert len(rows(listed(client, "/tasks?page=abc").get_data(as_text=True))) == 20


def test_r13_a_page_takes_the_same_few_queries_whatever_its_size(app_context, app, client, me):
    """No N+1: the number of SQL statements does not grow with the rows shown."""
    colleague = f.auditor()
    for n in range(20):
        f.plan([me, colleague], start=f.local_today(1 + n), end=f.local_today(1 + n, 17, 0))
    db.session.commit()
    log_in(client, me)

    def statements(path):
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            listed(client, path)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    one = statements("/tasks?to=" + f.local_today(1).date().isoformat())
    twenty = statements("/tasks")
    assert twenty == one and twenty <= 15


def test_r16_lists_never_show_another_teams_plan(app_context, app, client, me):
    stranger = f.auditor()
    f.plan([stranger], company=f.enterprise("别人的企业"), levels=CCC)
    f.plan([stranger], company=f.enterprise("别人的旧企业"), start=f.local_today(-5), end=f.local_today(-4))
    f.plan([me], company=f.enterprise("我的企业"), levels=QMS)
    db.session.commit()
    log_in(client, me)
    for path in ("/tasks", "/history", "/tasks?enterprise=别人", f"/tasks?l1={QMS[0]}"):
        html = listed(client, path).get_data(as_text=True)
        assert "别人的" not in html and CCC[0] not in html
    assert "认证项目层级无效" in listed(client, f"/tasks?l1={CCC[0]}").get_data(as_text=True)


def test_r13_lists_need_a_login(app_context, client):
    for path in ("/tasks", "/history"):
        response = client.get(path)
        assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
