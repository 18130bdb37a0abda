"""Pages do each thing once: today's page loads the auditor's plans around today once
(today's cards, tomorrow's kept offline, today's cancelled ones) and the R7 together-sets of
its cards with one query, so its statements do not grow with the cards."""
from __future__ import annotations

import html
import json
import re

from sqlalchemy import event

from checkin_pwa.extensions import db

from . import factories as f
from .helpers import log_in


def get(app, client, path: str):
    """A request in an application context of its own: the test's context would keep the
    user Flask-Login cached in `g` by another client's request."""
    with app.app_context():
        response = client.get(path)
    assert response.status_code == 200
    return response


def statements(app, client, path: str) -> int:
    seen = []
    listener = lambda *args: seen.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        get(app, client, path)
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    return len(seen)


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
