"""R13 tasks and history decided by the database: the split at each plan's own end day (in
its own zone), the date range and project levels, the enterprise search, and a request's
cost, which depends on the page and not on how many plans the auditor has had."""
from __future__ import annotations

import datetime as dt
import itertools
import json
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from checkin_pwa.domain import audit_exceptions as rules10, clock
from checkin_pwa.domain.filters import TaskFilters, matches
from checkin_pwa.extensions import db
from checkin_pwa.models import AuditPlan, TeamMember
from checkin_pwa.services import listing
from checkin_pwa.services.checkin import plan_facts
from checkin_pwa.services.plan_import import import_plans

from . import factories as f
from .helpers import log_in
from .test_plan_import import EXAMPLE
from .test_r13_lists import CCC, QMS, rows

pytestmark = pytest.mark.usefixtures("app_context")

UTC = dt.timezone.utc
# Far east and far west of UTC, a quarter hour, summer time (and Lord Howe's half hour of it).
ZONES = ("Asia/Shanghai", "Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Kathmandu",
         "America/New_York", "Australia/Lord_Howe", "Europe/London")
# Moments to judge at: a quiet day, New York's summer time starting and ending, London's,
# Lord Howe's, each near a local midnight of one of the zones.
NOWS = [dt.datetime(2026, 6, 15, 3, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 8, 4, 59, 59, tzinfo=UTC), dt.datetime(2026, 11, 1, 4, 0, tzinfo=UTC),
        dt.datetime(2026, 3, 29, 0, 0, tzinfo=UTC), dt.datetime(2026, 10, 25, 23, 59, 59, tzinfo=UTC),
        dt.datetime(2026, 4, 4, 13, 0, tzinfo=UTC)]


def local_midnight(day: dt.date, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def plans_around(me, now: dt.datetime) -> None:
    """In every zone, plans ending just before, at and just after each local midnight from
    three days before `now` to two days after, and some far before and after."""
    for zone_name in ZONES:
        zone = ZoneInfo(zone_name)
        today = now.astimezone(zone).date()
        for days in range(-3, 3):
            midnight = local_midnight(today + dt.timedelta(days=days), zone)
            for end in (midnight - dt.timedelta(seconds=1), midnight, midnight + dt.timedelta(seconds=1),
                        midnight + dt.timedelta(hours=12)):
                start = end - dt.timedelta(days=1, hours=days % 3)
                plan = f.plan([me], start=start, end=end, levels=QMS if days % 2 else CCC)
                plan.timezone = zone_name
        for days in (-40, -4, 4, 40):
            plan = f.plan([me], start=local_midnight(today + dt.timedelta(days=days), zone),
                          end=local_midnight(today + dt.timedelta(days=days + 1), zone) + dt.timedelta(hours=17))
            plan.timezone = zone_name
    db.session.flush()


def by_the_domain(me, which: str, filters: TaskFilters, now: dt.datetime) -> list[int]:
    """The list as the domain's rules say it, plan by plan (audit_over, matches)."""
    plans = [member.plan for member in db.session.scalars(db.select(TeamMember).filter_by(auditor_id=me.id))]
    chosen = []
    for plan in plans:
        facts = plan_facts(plan)
        if rules10.audit_over(facts, now) == (which == listing.HISTORY) and \
                matches(filters, facts.first_day, facts.last_day, plan.project_levels):
            chosen.append(plan)
    if which == listing.HISTORY:
        chosen.sort(key=lambda plan: (plan.end_utc, plan.id), reverse=True)
    else:
        chosen.sort(key=lambda plan: (plan.start_utc, plan.end_utc, plan.id))
    return [plan.id for plan in chosen]


def every_page(me, which: str, filters: TaskFilters, now: dt.datetime) -> list[int]:
    ids, number = [], 1
    while True:
        result = listing.plan_list(me, which, filters, str(number), now)
        ids += [entry.plan.id for entry in result.entries]
        if not result.page.has_next:
            assert result.page.total == len(ids)
            return ids
        number += 1


@pytest.mark.parametrize("now", NOWS, ids=lambda now: now.isoformat())
def test_r13_the_split_and_the_days_follow_each_plans_zone_at_the_boundary(app, now):
    me = f.auditor()
    plans_around(me, now)
    days = sorted({now.astimezone(ZoneInfo(zone)).date() + dt.timedelta(days=d) for zone in ZONES for d in (-2, -1, 0, 1)})
    asked = [TaskFilters()] + [TaskFilters(date_from=day) for day in days[::3]] + \
        [TaskFilters(date_to=day) for day in days[1::3]] + \
        [TaskFilters(date_from=days[1], date_to=days[3], levels=QMS[:2]), TaskFilters(levels=CCC)]
    for which, filters in itertools.product((listing.TASKS, listing.HISTORY), asked):
        expected = by_the_domain(me, which, filters, now)
        assert every_page(me, which, filters, now) == expected, (which, filters)
    assert by_the_domain(me, listing.TASKS, TaskFilters(), now) and by_the_domain(me, listing.HISTORY, TaskFilters(), now)


def test_r13_enterprise_search_ignores_the_case_of_ascii_letters_only(app, client):
    me = f.auditor()
    for name in ("ABC精密机械有限公司", "ａｂｃ全角有限公司", "ÉCOLE贸易有限公司", "École建材有限公司", "百分之百_测试%公司"):
        f.plan([me], company=f.enterprise(name))
    db.session.commit()
    log_in(client, me)

    def found(text):
        return sorted(rows(client.get("/tasks", query_string={"enterprise": text}).get_data(as_text=True)))

    assert found("abc") == found("AbC") == ["ABC精密机械有限公司"]
    assert found("ＡＢＣ") == [] and found("ａｂｃ") == ["ａｂｃ全角有限公司"]  # full-width is not folded
    # Nor is É: "École" finds ÉCOLE (C, O, L, E fold) and École, "école" neither.
    assert found("école") == [] and found("École") == found("ÉCOLE") == sorted(["École建材有限公司", "ÉCOLE贸易有限公司"])
    assert found("_测试%") == ["百分之百_测试%公司"] and found("%") == ["百分之百_测试%公司"]


def count_statements_and_judged(app, monkeypatch):
    """A function sending a request and answering how many SQL statements it ran and how
    many plans were judged one by one on their own zone."""
    judged = [0]
    real = listing.light_facts

    def counting(*args, **kwargs):
        judged[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(listing, "light_facts", counting)

    def measure(client, path, **headers):
        seen = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        judged[0] = 0
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            # A context of its own: the test's would keep the user Flask-Login cached in `g`
            # by another client's request.
            with app.app_context():
                response = client.get(path, headers=headers)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert response.status_code == 200, path
        return len(seen), judged[0]

    return measure


def an_auditors_years(me, colleague, count: int) -> None:
    """`count` plans: three not ended, one ending yesterday, the rest over months before."""
    company = f.enterprise("吉林省某某股份有限公司")
    for n in range(count):
        if n < 3:
            start, end = f.local_today(n * 7), f.local_today(n * 7 + 1, 17, 0)
        elif n == 3:
            start, end = f.local_today(-2), f.local_today(-1, 17, 0)
        else:
            start, end = f.local_today(-3 - n), f.local_today(-3 - n, 17, 0)
        f.plan([me, colleague], company=company, start=start, end=end, levels=QMS if n % 2 else CCC)


def test_r13_a_list_costs_the_same_statements_and_work_for_10_and_300_plans(app, monkeypatch):
    measure = count_statements_and_judged(app, monkeypatch)
    colleague = f.auditor()
    few, many = f.auditor(), f.auditor()
    an_auditors_years(few, colleague, 10)
    an_auditors_years(many, colleague, 300)
    db.session.commit()
    clients = {}
    for person in (few, many):
        clients[person.id] = app.test_client()
        with app.app_context():
            log_in(clients[person.id], person)
    day = f.local_today(-8).date().isoformat()
    htmx = {"HX-Request": "true"}
    for path, headers in (("/tasks", {}), ("/history", {}), ("/history?page=2", htmx),
                          ("/tasks?enterprise=某某", htmx), (f"/history?from={day}&l1={QMS[0]}&l2={QMS[1]}", htmx),
                          (f"/history?to={day}", {})):
        small = measure(clients[few.id], path, **headers)
        large = measure(clients[many.id], path, **headers)
        # The same statements; the plans judged one by one are those near today or `day`.
        assert small[0] == large[0] <= 17 and small[1] <= large[1] <= 8, (path, small, large)
    # The pages are the ones asked for, each auditor's own.
    with app.app_context():
        history = clients[many.id].get("/history?page=2").get_data(as_text=True)
    with app.app_context():
        few_history = clients[few.id].get("/history").get_data(as_text=True)
    assert "共 297 条记录" in history and "第 2 / 15 页" in history and "共 7 条记录" in few_history


def copies_differ() -> list:
    """Team rows whose copies (models.TeamMember) differ from their plan."""
    rows = db.session.execute(db.select(TeamMember, AuditPlan).join(AuditPlan, AuditPlan.id == TeamMember.plan_id)).all()
    assert rows
    return [(member.id, plan.id) for member, plan in rows
            if (member.plan_start_utc, member.plan_end_utc, member.plan_enterprise_id) != (plan.start_utc, plan.end_utc, plan.enterprise_id)
            or json.loads(member.plan_levels) != plan.project_levels]


@pytest.mark.parametrize("flush_every", [None, 1])
def test_r13_team_rows_keep_their_plans_times_enterprise_and_levels_through_imports_and_edits(app, flush_every):
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert import_plans(document, flush_every=flush_every).accepted
    db.session.expire_all()
    assert copies_differ() == []
    plan = document["plans"][0]
    plan["end"], plan["project"]["levels"] = "2026-08-21T12:00:00+08:00", ["产品认证", "强制性产品认证", "CCC"]
    plan["enterprise"] = {"name": "大连港口集团有限公司"}
    plan["team"] = plan["team"][1:] + [{"phone": plan["team"][0]["phone"], "role": "member"}]
    assert import_plans(document, flush_every=flush_every).accepted
    db.session.expire_all()
    assert copies_differ() == []
    # Through the ORM (the console's edits): a plan ending yesterday leaves the tasks.
    row = db.session.scalar(db.select(AuditPlan).filter_by(plan_no=plan["plan_no"]))
    row.start_utc, row.end_utc = f.to_utc(f.local_today(-3)), f.to_utc(f.local_today(-1, 17, 0))
    row.project_levels = list(QMS)
    db.session.commit()
    db.session.expire_all()
    assert copies_differ() == []
    leader = row.team[0].auditor
    now = dt.datetime.now(UTC)
    assert row.id in [entry.plan.id for entry in listing.plan_list(leader, listing.HISTORY, TaskFilters(), "1", now).entries]
    assert row.id not in [entry.plan.id for entry in listing.plan_list(leader, listing.TASKS, TaskFilters(), "1", now).entries]
    assert listing.project_tree(leader).options([QMS[0]]) == [QMS[1]]


def test_r13_the_suggestions_and_project_options_list_each_of_the_auditors_once(app):
    """The enterprise names and the project tree come from the auditor's own team rows, each
    value once however many plans share it (walked value to value through the indexes), and
    none of another auditor's."""
    me, other = f.auditor(), f.auditor()
    a, b, c = f.enterprise("甲公司"), f.enterprise("乙公司"), f.enterprise("丙公司")
    ems = ("管理体系认证", "环境管理体系认证", "ISO14001")
    for company, levels in ((a, QMS), (a, QMS), (b, ems), (b, QMS), (a, ems)):
        f.plan([me], company=company, levels=levels)
    f.plan([other], company=c, levels=("产品认证", "CCC"))
    db.session.commit()
    assert listing.enterprise_names(me) == sorted(["甲公司", "乙公司"])
    assert listing.project_tree(me).paths == frozenset({tuple(QMS), ems})
    mine = listing.plan_list(me, listing.TASKS, TaskFilters(enterprise="甲"), 1, clock.now())
    assert {entry.plan.enterprise.name for entry in mine.entries} == {"甲公司"} and mine.page.total == 3
