"""Text a body's system sent (a site address from a plan import) is shown on the maps as
text: markup in it never becomes an element of the page, on the plan page's map (R9) or
the check-in map (R5). The CSP stops scripts, not an image laid over the map."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x id=evil style="position:fixed;inset:0;width:100vw;height:100vh">'


def plan_with_hostile_address(data) -> tuple[str, int]:
    with data as f:
        me = f.auditor(name="张三")
        plan = f.plan([me])
        plan.sites[0].address = HOSTILE
        return me.phone, plan.id


@pytest.mark.parametrize("path, map_id", [("/plans/{id}", "#plan-map"), ("/plans/{id}/checkin", "#map")])
def test_r9_r5_a_site_address_with_markup_is_shown_as_text_in_the_map_tooltip(page, data, path, map_id):
    phone, plan_id = plan_with_hostile_address(data)
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    page.goto(path.format(id=plan_id))
    marker = page.locator(f"{map_id} path.site-marker")
    expect(marker).to_have_count(1)
    if map_id == "#map":  # the pin starts on the site: wait for it, then point below it
        expect(page.locator("#map")).to_have_attribute("data-geo", "ready")
    box = marker.bounding_box()
    marker.hover(position={"x": box["width"] / 2, "y": box["height"] - 3})
    tooltip = page.locator(f"{map_id} .leaflet-tooltip")
    expect(tooltip).to_have_text(HOSTILE)  # the address as written, characters and all
    expect(page.locator("#evil")).to_have_count(0)
    expect(page.locator(f"{map_id} img:not(.leaflet-tile):not(.leaflet-marker-icon)"
                        ":not(.leaflet-marker-shadow)")).to_have_count(0)
