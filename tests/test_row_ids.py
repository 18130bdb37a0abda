"""Ids past the id columns' range (INTEGER: 32 bits on PostgreSQL) are no row of ours: every
route with an id in its path, and the query arguments that name a row, answer as for a row
that does not exist, never with a 500. On PostgreSQL such a number reached a comparison
with an INTEGER column and failed the statement."""
from __future__ import annotations

import re


from . import factories as f
from .console.conftest import console_login
from .helpers import in_app_context, log_in

PAST_INTEGER = [2**31, 2**40, 2**63 - 1, 2**63]
ID_IN_PATH = re.compile(r"<int:[^>]+>")
OTHER_PART = re.compile(r"<[^>]+>")


def id_routes(app) -> list[tuple[str, str]]:
    """(method, URL template with {} for each id) of every route with an id in its path."""
    found = []
    for rule in app.url_map.iter_rules():
        if not ID_IN_PATH.search(rule.rule):
            continue
        template = OTHER_PART.sub("x", ID_IN_PATH.sub("{0}", rule.rule))
        found += [(method, template) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


def test_ids_past_32_bits_are_not_found_on_every_route_for_auditors_and_staff(app):
    with in_app_context(app):
        auditor = f.auditor()
        f.plan([auditor])
        admin = f.staff(role="admin")
    phone, console = app.test_client(), app.test_client()
    log_in(phone, auditor)
    console_login(console, admin)
    routes = id_routes(app)
    assert len(routes) > 40  # the sweep sees the app's routes

    for method, template in routes:
        client = console if template.startswith("/admin") else phone
        for number in PAST_INTEGER:
            response = client.open(template.format(number), method=method)
            assert response.status_code == 404, (method, template, number, response.status_code)


def test_ids_past_32_bits_in_query_arguments_name_no_row(app):
    with in_app_context(app):
        admin = f.staff(role="admin")
        watcher = f.regulator()
    console, regulator = app.test_client(), app.test_client()
    console_login(console, admin)
    console_login(regulator, watcher, offset_steps=1)
    for number in PAST_INTEGER:
        assert console.get(f"/admin/log?staff={number}").status_code == 200  # no such person: no filter
        board = console.get(f"/admin/board?auditor={number}")
        assert board.status_code == 400  # refused as any other auditor that is not in the list
        assert regulator.get(f"/admin/plans?body={number}").status_code == 404
