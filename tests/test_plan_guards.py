"""The guards the plan views share (blueprints.guards): R16's plan_or_404 on every page of a
plan, and one map configuration (tiles, attribution, datum, the located sites) for the
check-in page and the plan page."""
from __future__ import annotations

import html
import json
import re

import pytest

from checkin_pwa.extensions import db

from . import factories as f
from .helpers import phone_of

pytestmark = pytest.mark.usefixtures("app_context")

NOT_FOUND = "未找到该页面，或您无权查看。"
# Every GET of one plan an auditor's phone opens.
PLAN_PAGES = ("/plans/{id}", "/plans/{id}/explain", "/plans/{id}/checkin", "/plans/{id}/checkout",
              "/plans/{id}/together", "/plans/{id}/photos", "/plans/{id}/photos/verdict")
SECOND_SITE = (43.8171, 125.3235)


def test_r16_every_page_of_another_teams_plan_is_404_like_a_missing_plan(app):
    me, other = f.auditor(), f.auditor()
    mine = f.plan([me], start=f.local_today(-1), end=f.local_today(1, 17, 0))
    theirs = f.plan([other], start=f.local_today(-1), end=f.local_today(1, 17, 0))
    db.session.commit()
    phone = phone_of(app, me)
    for page in PLAN_PAGES:
        assert phone.get(page.format(id=mine.id)).status_code == 200, page
        missing = phone.get(page.format(id=999999))
        refused = phone.get(page.format(id=theirs.id))
        assert (refused.status_code, missing.status_code) == (404, 404), page
        assert NOT_FOUND in refused.get_data(as_text=True), page
        assert theirs.enterprise.name not in refused.get_data(as_text=True), page


def _map_attributes(page: str, element_id: str) -> dict:
    tag = re.search(rf'<div id="{element_id}"[^>]*>', page, re.S).group(0)
    attributes = {name: html.unescape(double or single)
                  for name, double, single in re.findall(r'data-([a-z-]+)=(?:"([^"]*)"|\'([^\']*)\')', tag)}
    return {"tile-url": attributes["tile-url"], "tile-attribution": attributes["tile-attribution"],
            "datum": attributes["datum"], "sites": json.loads(attributes["sites"])}


def test_the_check_in_page_and_the_plan_page_draw_the_same_map(app):
    app.config.update(TILE_URL="http://127.0.0.1:9/tiles/{z}/{x}/{y}.png", TILE_ATTRIBUTION="© 测试图源",
                      TILE_DATUM="gcj02")
    me = f.auditor()
    plan = f.plan([me], start=f.local_today(-1), end=f.local_today(1, 17, 0),
                  sites=(f.SITE, None, SECOND_SITE))
    db.session.commit()
    phone = phone_of(app, me)
    check_map = _map_attributes(phone.get(f"/plans/{plan.id}/checkin").get_data(as_text=True), "map")
    plan_map = _map_attributes(phone.get(f"/plans/{plan.id}").get_data(as_text=True), "plan-map")
    assert check_map == plan_map
    assert (check_map["tile-url"], check_map["tile-attribution"], check_map["datum"]) == (
        "http://127.0.0.1:9/tiles/{z}/{x}/{y}.png", "© 测试图源", "gcj02")
    # The site without a position is on neither map (the plan page lists it in words).
    assert [(site["lat"], site["lon"]) for site in check_map["sites"]] == [f.SITE, SECOND_SITE]
    assert [site["address"] for site in check_map["sites"]] == ["吉林省集安市工业园区1号", "吉林省集安市工业园区3号"]
