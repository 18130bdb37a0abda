"""The maps credit the tiles and Leaflet in plain words: no flag or other emblem in the
attribution corner (R5 check-in map, R9 plan page map)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser

# Tiles from this server (a real PNG whatever the tile), so the attribution control is shown.
LOCAL_TILES = {"TILE_URL": "/static/icons/icon-192.png?z={z}&x={x}&y={y}", "TILE_ATTRIBUTION": "© OpenStreetMap"}


@pytest.mark.parametrize("live_server", [LOCAL_TILES], indirect=True)
@pytest.mark.parametrize("path, map_id", [("/plans/{id}/checkin", "#map"), ("/plans/{id}", "#plan-map")])
def test_r5_r9_map_attribution_is_plain_leaflet_and_the_tiles(page, data, path, map_id):
    with data as f:
        me = f.auditor()
        phone, plan_id = me.phone, f.plan([me]).id
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    page.goto(path.format(id=plan_id))
    corner = page.locator(f"{map_id} .leaflet-control-attribution")
    expect(corner).to_have_text("Leaflet | © OpenStreetMap")
    expect(corner.get_by_role("link", name="Leaflet")).to_have_attribute("href", "https://leafletjs.com")
    expect(corner.locator("svg, img")).to_have_count(0)
