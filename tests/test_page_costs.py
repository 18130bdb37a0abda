"""Pages do each thing once: today's page loads the auditor's plans once (today's cards,
tomorrow's kept offline, today's cancelled ones, those ended lately that may need an
explanation, and the other teams' plans that make the cards' R7 together-sets), so its
statements do not grow with the cards; a check-in loads its plan once and commits once (the
action key's claim, the events and the stored answer together); the check page loads the
enterprise's other plans once (the together list and the phone's together-set)."""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import time

import pytest
from sqlalchemy import event

from checkin_pwa.extensions import db
from checkin_pwa.models import CheckEvent, IdempotencyRecord

from . import factories as f
from .helpers import log_in

pytestmark = pytest.mark.usefixtures("app_context")


def get(app, client, path: str):
    """A request in an application context of its own: the test's context would keep the
    user Flask-Login cached in `g` by another client's request."""
    with app.app_context():
        response = client.get(path)
    assert response.status_code == 200
    return response


class Costs:
    """The statements a request sends and the transactions it commits."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.commits = 0

    def _statement(self, *args) -> None:
        self.statements.append(" ".join(args[2].split()))

    def _commit(self, *args) -> None:
        self.commits += 1

    def __enter__(self) -> "Costs":
        event.listen(db.engine, "before_cursor_execute", self._statement)
        event.listen(db.engine, "commit", self._commit)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(db.engine, "before_cursor_execute", self._statement)
        event.remove(db.engine, "commit", self._commit)

    def reading(self, table: str) -> list[str]:
        """The SELECTs whose first FROM is `table`: one per load of its rows."""
        return [s for s in self.statements
                if s.startswith("SELECT") and (found := re.search(r" FROM (\S+)", s)) and found.group(1) == table]


def statements(app, client, path: str) -> int:
    with Costs() as costs:
        get(app, client, path)
    return len(costs.statements)


def together(page: str) -> dict[int, list[int]]:
    """Each card's plan id and the plans its together-action also signs (data-together)."""
    found = re.findall(r'data-plan-id="(\d+)"[^>]*data-together=\'([^\']*)\'', page)
    return {int(plan_id): json.loads(html.unescape(ids)) for plan_id, ids in found}


def test_r7_today_costs_the_same_statements_for_one_card_and_for_five(app):
    colleague = f.auditor()
    few, many = f.auditor(), f.auditor()
    f.plan([few, colleague])
    company = f.enterprise("吉林省通化钢铁股份有限公司")
    for n in range(3):
        f.plan([many, colleague], company=company if n < 2 else None)
    f.plan([many], status="cancelled")
    f.plan([many], start=f.local_today(1), end=f.local_today(1, 17, 0))  # tomorrow's, kept offline
    f.plan([colleague], company=company)  # the same enterprise, another team
    db.session.commit()
    clients = {}
    for person in (few, many):
        clients[person.id] = app.test_client()
        with app.app_context():
            log_in(clients[person.id], person)
        get(app, clients[person.id], "/")  # the first visit records the session's presence
    assert len(together(get(app, clients[few.id], "/").get_data(as_text=True))) == 1
    assert statements(app, clients[few.id], "/") == statements(app, clients[many.id], "/")
    # R7 as before: the two plans of one enterprise on the auditor's team sign each other.
    cards = together(get(app, clients[many.id], "/").get_data(as_text=True))
    pair = [plan_id for plan_id, others in cards.items() if others]
    assert len(cards) == 4 and len(pair) == 2 and cards[pair[0]] == [pair[1]] and cards[pair[1]] == [pair[0]]


SHANGHAI = f.SHANGHAI


def open_now(team, **kwargs):
    """A plan of `team` that can be checked in now (it began an hour ago)."""
    now = dt.datetime.now(SHANGHAI)
    return f.plan(team, start=now - dt.timedelta(hours=1), end=now + dt.timedelta(days=1), **kwargs)


def test_r2_r11_today_loads_the_auditors_plans_once(app):
    """Today's cards, tomorrow's, today's cancelled one, one ended last week (the "to do now"
    explanations) and another team's plan at a card's enterprise: one load of plans, and one
    of each of their events, teams and sites."""
    me, colleague = f.auditor(), f.auditor()
    company = f.enterprise()
    open_now([me], company=company)
    open_now([colleague], company=company)  # another team's: in the card's together-set's query
    open_now([me], status="cancelled")
    f.plan([me], start=f.local_today(1), end=f.local_today(1, 17, 0))
    f.plan([me], start=f.local_today(-8), end=f.local_today(-7, 17, 0))
    db.session.commit()
    client = app.test_client()
    with app.app_context():
        log_in(client, me)
    get(app, client, "/")  # the first visit records the session's presence
    with Costs() as costs:
        get(app, client, "/")
    assert len(costs.reading("audit_plan")) == 1, costs.reading("audit_plan")
    for table in ("check_event", "team_member", "plan_site"):
        assert len(costs.reading(table)) == 1, (table, costs.reading(table))
    assert costs.commits == 0


def check_form(app, client, plan_id: int, key: str) -> dict:
    page = get(app, client, f"/plans/{plan_id}/checkin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    now_ms = str(int(time.time() * 1000))
    return {"csrf_token": token, "idempotency_key": key, "device_lat": repr(f.SITE[0]),
            "device_lon": repr(f.SITE[1]), "device_accuracy": "12", "device_time": now_ms,
            "device_position_time": now_ms, "lat": repr(f.SITE[0]), "lon": repr(f.SITE[1])}


def post(app, client, plan_id: int, fields: dict, headers: dict):
    with Costs() as costs, app.app_context():
        response = client.post(f"/plans/{plan_id}/checkin", data=fields, headers=headers)
    return response, costs


def check_in(app, client, plan_id: int, key: str):
    return post(app, client, plan_id, check_form(app, client, plan_id, key), {"HX-Request": "true"})


def on_an_open_plan(app):
    """A logged-in auditor's client and a plan of theirs open for check-in now."""
    me = f.auditor()
    plan = open_now([me])
    db.session.commit()
    client = app.test_client()
    with app.app_context():
        log_in(client, me)
    return client, plan


def events_of(plan) -> list[CheckEvent]:
    return db.session.scalars(db.select(CheckEvent).where(CheckEvent.plan_id == plan.id)).all()


def test_r17_a_check_in_loads_its_plan_once_and_commits_once(app):
    """The plan is loaded once (the page after signing shows the team's new state from it)
    and one commit writes the action key's claim, the event and the stored answer."""
    client, plan = on_an_open_plan(app)
    response, costs = check_in(app, client, plan.id, "k-once")
    assert response.status_code == 200 and "签到成功" in response.get_data(as_text=True)
    assert "已签到" in response.get_data(as_text=True)  # the card's new state, from the same load
    by_id = [s for s in costs.reading("audit_plan") if re.search(r"audit_plan\.id = ", s)]
    assert len(by_id) == 1, costs.reading("audit_plan")
    assert costs.commits == 1
    db.session.expire_all()
    (record,) = db.session.scalars(db.select(IdempotencyRecord).where(IdempotencyRecord.key == "k-once")).all()
    assert record.status_code == 200 and "签到成功" in record.body
    assert len(events_of(plan)) == 1


def test_r17_a_first_action_reads_its_plans_events_once_and_a_retry_finds_them(app):
    """A new action key is looked for among the events loaded with the plan (no second
    read of check_event). A plain form's signed answer is a redirect, not stored: the same
    key posted again finds the events the first one wrote and writes none."""
    client, plan = on_an_open_plan(app)
    fields = check_form(app, client, plan.id, "k-first")
    response, costs = post(app, client, plan.id, fields, {})
    assert response.status_code == 303
    assert len(costs.reading("check_event")) == 1, costs.reading("check_event")
    again, costs = post(app, client, plan.id, fields, {"HX-Request": "true"})
    assert again.status_code == 200 and "签到成功" in again.get_data(as_text=True)
    assert len(costs.reading("check_event")) == 2, costs.reading("check_event")  # found, then all its events
    assert len(events_of(plan)) == 1


def test_r1_r16_who_the_session_is_costs_one_statement(app):
    """The auditor's row and whether the session was ended (logged out) come together."""
    me = f.auditor()
    db.session.commit()
    client = app.test_client()
    with app.app_context():
        log_in(client, me)
    with Costs() as costs:
        get(app, client, "/")
    assert len(costs.reading("auditor")) == 1, costs.reading("auditor")
    assert costs.reading("ended_session") == []
    assert "ended_session" in costs.reading("auditor")[0]


def test_r7_the_check_page_loads_the_enterprises_other_plans_once(app):
    """The together list and the phone's together-set (data-together) come from one load."""
    me = f.auditor()
    company = f.enterprise()
    plan, other = open_now([me], company=company), open_now([me], company=company, code="ISO14001")
    db.session.commit()
    client = app.test_client()
    with app.app_context():
        log_in(client, me)
    get(app, client, f"/plans/{plan.id}/checkin")
    with Costs() as costs:
        page = get(app, client, f"/plans/{plan.id}/checkin").get_data(as_text=True)
    assert together(page) == {plan.id: [other.id]}
    assert len(costs.reading("audit_plan")) == 2, costs.reading("audit_plan")  # the plan, then its enterprise's
