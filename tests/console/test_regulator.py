"""The regulator's view (监管端, R16, R21): every body's figures side by side, counted in the
database and equal to what each body's own pages say; the regulator reads any body's plans
on the bodies' own pages and changes nothing (every POST of /admin refused); a body's staff
never reach the regulator's page; the account is made by `flask create-staff --regulator`."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import event

from checkin_pwa.domain import clock
from checkin_pwa.domain.geo import Point
from checkin_pwa.extensions import db
from checkin_pwa.models import AuditPlan, Enterprise, Photo, Staff
from checkin_pwa.services import anomalies
from checkin_pwa.services.exception_verifications import QueueFilter, queue
from checkin_pwa.services.listing import calendar_today

from .. import factories
from ..factories import SITE, local_today
from ..helpers import csrf_token
from .conftest import post_new_password, post_password, totp_now
from .r16_rows import NOT_FOUND, body_a_rows, database_rows, url_with
from .test_plans import logged_in, other_body, staff_of

pytestmark = pytest.mark.usefixtures("app_context")

BEIJING = (39.9, 116.4)
ROW = re.compile(r'<tr data-body="([^"]+)">.*?data-audits="(\d+)".*?data-exceptions="(\d+)".*?'
                 r'data-overdue="(\d+)".*?data-anomalies="(\d+)"', re.S)


def figures(response) -> dict[str, tuple[int, int, int, int]]:
    """Per body code: (audits, with an exception, verifications overdue, anomalies)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return {code: tuple(int(n) for n in numbers) for code, *numbers in ROW.findall(response.get_data(as_text=True))}


def regulator_client(app, offset_steps=0):
    person = factories.regulator()
    db.session.commit()
    return logged_in(app, person, offset_steps=offset_steps)


def plan_of(body, team, **kwargs):
    company = Enterprise(agency_id=body.id, name=f"{body.name}客户{len(team)}{kwargs.get('start')}")
    db.session.add(company)
    db.session.flush()
    plan = factories.plan(team, company=company, **kwargs)
    plan.agency_id = body.id
    return plan


def two_bodies():
    """Body A: three audits ended 10 and 9 days ago (no check-in: each has an exception,
    its verification overdue), two of them one auditor's at once 1,000 km apart (an
    anomaly), one ended 40 days ago (overdue, outside the range). Body B: one audit ended
    yesterday (an exception, not yet due) and that same auditor's plan of B overlapping A's
    far away (no anomaly of either body: each body's records are its own)."""
    a, b = factories.agency(), other_body()
    walker = factories.auditor(name="周两地")
    other = factories.auditor(name="吴甲方")
    plan_of(a, [walker], start=local_today(-10, 8), end=local_today(-10, 17), sites=(SITE,))
    plan_of(a, [walker], start=local_today(-10, 9), end=local_today(-10, 16), sites=(BEIJING,))
    plan_of(a, [other], start=local_today(-9, 8), end=local_today(-9, 17))
    plan_of(a, [other], start=local_today(-40, 8), end=local_today(-40, 17))
    plan_of(b, [walker], start=local_today(-10, 8), end=local_today(-10, 17), sites=((30.6, 114.3),))
    plan_of(b, [factories.auditor(name="郑乙方")], start=local_today(-1, 8), end=local_today(-1, 17))
    db.session.commit()
    return a, b


def test_r16_the_regulator_sees_every_bodys_figures_as_each_body_counts_them(app):
    a, b = two_bodies()
    client = regulator_client(app)

    page = client.get("/admin/regulator")
    shown = figures(page)

    assert shown == {a.code: (3, 3, 4, 1), b.code: (2, 2, 1, 0)}
    # The board's chart over every body: the 6 audits of its 12 weeks, ended (the one of 40
    # days ago too), all with an exception, and body A's anomaly.
    weeks = re.findall(r'<tr data-week="[^"]+">.*?<td[^>]*>(\d+)</td><td[^>]*>(\d+)</td><td[^>]*>(\d+)</td></tr>',
                       page.get_data(as_text=True))
    assert [sum(int(week[n]) for week in weeks) for n in range(3)] == [6, 6, 1]
    # The same numbers as each body's own queue and anomalies list.
    now = clock.now()
    today = calendar_today(now)
    for body in (a, b):
        overdue = queue(body.id, QueueFilter(view="overdue"), 1, now).counts["overdue"]
        listed = anomalies.body_anomalies(body.id, today - dt.timedelta(days=29), today, None, 1).page.total
        assert shown[body.code][2:] == (overdue, listed)
    # A range of the last 20 days leaves out the audits of 10 and 9 days ago... but not today's
    # overdue verifications, which are counted whatever the range.
    later = figures(client.get(f"/admin/regulator?since={today - dt.timedelta(days=5)}&until={today}"))
    assert later == {a.code: (0, 0, 4, 0), b.code: (1, 1, 1, 0)}


def test_r16_the_regulators_page_costs_the_same_statements_for_one_body_and_five(app):
    client = regulator_client(app)
    counted = []
    for bodies in (1, 5):
        for n in range(bodies):
            body = factories.agency(code=f"CNCA-R-2050-{bodies}{n:02d}", name=f"第{bodies}{n}认证公司")
            plan_of(body, [factories.auditor()], start=local_today(-3, 8), end=local_today(-3, 17))
        db.session.commit()
        counted.append(_statements(client, "/admin/regulator"))
    assert counted[0] == counted[1]


def _statements(client, path) -> int:
    seen = []

    def count(*args):
        seen.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(seen)


def test_r16_a_bodys_staff_never_reach_the_regulators_page(app):
    assert regulator_client(app).get("/admin/regulator").status_code == 200  # the page is there
    for role in ("admin", "readonly"):
        client = logged_in(app, staff_of(role=role, phone=f"1370000000{len(role)}"))
        answer = client.get("/admin/regulator")
        assert answer.status_code == 404 and NOT_FOUND in answer.get_data(as_text=True)


def test_r16_the_regulator_reads_any_bodys_plans_on_the_bodys_own_pages(app):
    a, b = two_bodies()
    mine = db.session.scalar(db.select(AuditPlan).where(AuditPlan.agency_id == b.id).order_by(AuditPlan.id))
    theirs = db.session.scalar(db.select(AuditPlan).where(AuditPlan.agency_id == a.id).order_by(AuditPlan.id))
    client = regulator_client(app)

    listed = client.get(f"/admin/plans?body={b.id}").get_data(as_text=True)
    assert mine.plan_no in listed and theirs.plan_no not in listed
    assert f'name="body" value="{b.id}"' in listed  # the filters keep the body
    assert "plans.csv" not in listed  # an export is written into the log: not offered
    for path in (f"/admin/plans/{theirs.id}", f"/admin/plans/{theirs.id}/evidence"):
        answer = client.get(path)
        assert answer.status_code == 200 and theirs.plan_no in answer.get_data(as_text=True)
    for path in ("/admin/plans", "/admin/plans?body=999999", "/admin/plans?body=x"):
        assert client.get(path).status_code == 404
    # What the regulator may not read: a body's board, queue, staff, log.
    for path in ("/admin/board", "/admin/verifications", "/admin/staff", "/admin/log", "/admin/plans.csv"):
        assert client.get(path).status_code == 403, path
    assert client.get("/admin/").headers["Location"] == "/admin/regulator"  # the console's first page


def test_r16_every_write_of_the_console_refuses_the_regulator_and_changes_nothing(app):
    rows = body_a_rows(app)
    client = regulator_client(app)
    token = csrf_token(client, "/admin/regulator")
    posts = sorted((rule.endpoint, rule.rule) for rule in app.url_map.iter_rules()
                   if rule.rule.startswith("/admin") and "POST" in rule.methods
                   and not rule.endpoint.startswith("console.auth."))
    # Never a vacuous walk.
    assert {"console.plan_edits.cancel", "console.verifications.record", "console.staff.reset",
            "console.uploads.commit", "console.home.change_password"} <= {endpoint for endpoint, _rule in posts}
    # The regulator is in and reads body A's plan: the refusals below are of writing.
    plan_page = client.get(url_with("/admin/plans/<int:plan_id>", rows))
    assert plan_page.status_code == 200
    before = database_rows()
    answers = {endpoint: client.post(url_with(rule, rows), data={"csrf_token": token},
                                     headers={"X-CSRFToken": token}).status_code
               for endpoint, rule in posts}
    assert {endpoint: status for endpoint, status in answers.items() if status != 403} == {}
    assert database_rows() == before


def test_create_staff_regulator_makes_an_account_of_no_body_that_must_change_its_password(app):
    runner = app.test_cli_runner()
    made = runner.invoke(args=["create-staff", "--regulator", "13800001111", "孙监管"])
    assert made.exit_code == 0, made.output
    person = db.session.scalar(db.select(Staff).filter_by(phone="13800001111"))
    assert (person.role, person.agency_id, person.must_change_password, person.totp_secret) == \
        ("regulator", None, True, None)
    assert "监管" in made.output
    # Its first login: the initial password changed, the second factor set up, then every body's figures.
    password = made.output.strip().splitlines()[-1]
    client = app.test_client()
    assert post_password(client, "13800001111", password).headers["Location"] == "/admin/password"
    changed = post_new_password(client, "/admin/password", "Regu#pass2026", current_password=password)
    assert changed.headers["Location"] == "/admin/second-factor"
    page = client.get("/admin/second-factor").get_data(as_text=True)
    secret = re.search(r'data-secret>([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    token = csrf_token(client, "/admin/second-factor")
    assert client.post("/admin/second-factor", data={"code": totp_now(secret), "csrf_token": token}).status_code == 200
    assert client.get("/admin/").headers["Location"] == "/admin/regulator"
    assert "全部认证机构" in client.get("/admin/regulator").get_data(as_text=True)
    wrong = runner.invoke(args=["create-staff", "--regulator", "CNCA-R-2002-117", "13800002222", "钱"])
    assert wrong.exit_code != 0 and db.session.scalar(db.select(Staff).filter_by(phone="13800002222")) is None


def test_the_regulators_pages_in_english_carry_no_chinese_but_the_bodies_names(app):
    import html

    a, b = two_bodies()
    client = regulator_client(app)
    client.get("/lang/en")
    names = [a.name, b.name, "刘监管"]
    for path in ("/admin/regulator", "/admin/me", f"/admin/regulator?since=2026-13-01&until={'x' * 30}"):
        page = client.get(path)
        assert page.status_code in (200, 400), path
        text = html.unescape(re.sub(r"<[^>]+>", " ", page.get_data(as_text=True))).replace("中文", "")
        for name in names:
            text = text.replace(name, "")
        assert not re.search(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]", text), (path, re.findall(
            r".{0,20}[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]+.{0,20}", text)[:3])
    assert "Exception rate" in client.get("/admin/regulator").get_data(as_text=True)
