"""Bad input on the calendar, task and history lists, notices, the personal page and the
explain page gets an answer a person can read, never a 500: odd query strings, huge numbers,
wrong types, stray characters, as a logged-in auditor sends them. (Each page's own tests check the words; this one sweeps the odd corners.)"""
from __future__ import annotations

import pytest

from . import factories as f
from .helpers import log_in

pytestmark = pytest.mark.usefixtures("app_context")

ODD = ["", "0", "-1", "99999999999999999999", "1e9", "abc", "%00", "<script>", "２０２６", "1/2", "NaN"]
PAGES = [
    "/calendar?day={v}", "/calendar/{v}/3", "/calendar/2026/{v}",
    "/tasks?start={v}", "/tasks?end={v}&start=2026-01-01", "/tasks?name={v}", "/tasks?page={v}",
    "/tasks?level1={v}&level2={v}&level3={v}", "/history?level2={v}", "/history?page={v}&name={v}",
    "/notices?page={v}", "/me?x={v}", "/plans/1/explain?back={v}",
]


@pytest.mark.parametrize("template", PAGES)
def test_odd_query_values_never_end_in_a_server_error(app, client, template):
    me = f.auditor()
    f.plan([me])
    log_in(client, me)
    for value in ODD:
        response = client.get(template.format(v=value))
        assert response.status_code < 500, (template, value, response.status_code)
        if response.status_code == 400:
            assert "<!doctype html>" in response.get_data(as_text=True).lower()


@pytest.mark.parametrize("path", ["/notices/99999999999999999999", "/notices/1/attachments/99999999999999999999",
                                  "/plans/99999999999999999999", "/plans/99999999999999999999/explain",
                                  "/plans/99999999999999999999/checkin", "/plans/99999999999999999999/photos",
                                  "/photos/99999999999999999999/thumb"])
def test_ids_beyond_any_row_are_not_found(app, client, path):
    me = f.auditor()
    log_in(client, me)
    assert client.get(path).status_code == 404
