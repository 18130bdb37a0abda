"""R16 for every console route that names a row by id: body B's administrator, given body
A's ids, gets the console's 404 from each (GET and POST alike), and nothing in the database
changes. The routes are read from the app's url_map, so a route added later that forgets
guard.own_row fails here."""
from __future__ import annotations

import pytest

from checkin_pwa.extensions import db
from checkin_pwa.models import Staff

from ..helpers import csrf_token
from .conftest import console_login
from .r16_rows import NOT_FOUND, body_a_rows, body_b_admin, database_rows, int_routes, url_with

pytestmark = pytest.mark.usefixtures("app_context")


def test_r16_every_console_route_with_an_id_answers_404_for_another_bodys_row(app):
    rows = body_a_rows(app)
    routes = int_routes(app)
    # Never a vacuous walk: the areas present when this test was written are in it.
    endpoints = {endpoint for endpoint, _rule, _method in routes}
    assert {"console.auditors.person", "console.auditors.disable", "console.staff.person", "console.staff.reset",
            "console.log.entry", "console.tokens.revoke", "console.plans.plan_page", "console.plans.photo",
            "console.notices.detail", "console.notices.attachment", "console.notices.withdraw",
            "console.uploads.show", "console.uploads.commit", "console.phone_changes.approve",
            "console.plan_edits.edit", "console.plan_edits.cancel", "console.plans.evidence",
            "console.verifications.record", "console.exports.job_file"} <= endpoints

    client = app.test_client()
    console_login(client, body_b_admin())
    token = csrf_token(client, "/admin/")
    before = database_rows()
    answers = {}
    for endpoint, rule, method in routes:
        url = url_with(rule, rows)
        if method == "GET":
            answer = client.get(url)
        else:
            answer = client.open(url, method=method, data={"csrf_token": token}, headers={"X-CSRFToken": token})
        answers[(endpoint, method, url)] = (answer.status_code, NOT_FOUND in answer.get_data(as_text=True))
    assert {key: value for key, value in answers.items() if value != (404, True)} == {}
    assert database_rows() == before, "nothing is written"


def test_r16_the_walk_uses_real_rows_the_owning_body_opens(app):
    """The same GET URLs open for body A's own administrator: the ids are real rows, so the
    404s above come from the body check, not from a missing row."""
    rows = body_a_rows(app)
    a_admin = db.session.get(Staff, rows[Staff])
    client = app.test_client()
    console_login(client, a_admin)
    for endpoint, rule, method in int_routes(app):
        if method == "GET":
            answer = client.get(url_with(rule, rows))
            assert answer.status_code < 400, (endpoint, answer.status_code)
