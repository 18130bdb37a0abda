"""A first visit on a weak uplink: the login page and then today's page, with everything the
service worker fetches on that visit (its install, and today's audit kept for offline use:
the check-in, check-out, plan and explanation pages and the check-in, rule and photo code
they run) comes to at most 100 KB on the wire. The map's code (Leaflet) is not part of it:
it comes when a page with a map opens online; the check-in works offline without it.

The bytes are Chromium's own count of what came over the network for each request
(headers + encoded body, as CDP's encodedDataLength), the worker's requests included and
answers the worker gave from its cache left out; a file the worker took from the browser's
HTTP cache (a versioned static URL the page had just loaded) came over no network and counts
nothing. A byte budget, not a timing."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..factories import PASSWORD
from .test_pwa_shell import wait_until, wait_until_controlled

pytestmark = pytest.mark.browser

VISIT_BUDGET = 100 * 1024
MAP_AND_PHOTO_CODE = ("leaflet", "/js/photos.js", "/js/checkin.js", "/js/plan-map.js", "/js/datum.js")
MAP_CODE = ("leaflet", "/js/plan-map.js", "/js/datum.js")


def on_the_wire(context):
    """Every request of the context, as (url, from the worker?, bytes on the wire) once finished."""
    seen = []

    def finished(request):
        response = request.response()
        if response is None or response.from_service_worker:
            return  # answered by the worker: its own fetch, if any, is counted by itself
        sizes = request.sizes()
        background = request.service_worker is not None and request.headers.get("x-background-fetch") == "1"
        # From the HTTP cache, Chromium counts 0 bytes (encodedDataLength), which Playwright
        # reports as a body of minus the headers it makes up for the answer.
        from_cache = sizes["responseBodySize"] < 0
        seen.append((request.url, request.service_worker is not None, background,
                     0 if from_cache else sizes["responseHeadersSize"] + sizes["responseBodySize"]))

    context.on("requestfinished", finished)
    return seen


def test_first_visit_to_login_and_today_with_todays_audit_kept_offline_is_under_100_kb(page, data):
    with data as f:
        me = f.auditor(name="张三")
        plan_ids = [f.plan([me], code="ISO9001").id]
        phone = me.phone
    seen = on_the_wire(page.context)

    page.goto("/login")
    wait_until_controlled(page)
    # The worker installed on the login page with no map or photo code, and the page loaded none.
    assert [url for url, *_ in seen if any(code in url for code in MAP_AND_PHOTO_CODE)] == []

    at_login = len(seen)
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    expect(page.locator("#offline-ready")).to_be_visible(timeout=30_000)
    # After login the worker kept today's check-in and plan pages and the code they run offline.
    wait_until(page, """async (paths) => {
        const names = await caches.keys(), cache = await caches.open(names.find(n => n.startsWith('static-')));
        return (await Promise.all(paths.map(p => cache.match(p)))).every(Boolean); }""",
               ["/static/js/photos.js", "/static/js/checkin.js", "/static/js/plan-rules.js"])
    wait_until(page, "ids => caches.open('pages').then(c => Promise.all(ids.map(i => c.match('/plans/' + i))))"
               ".then(all => all.every(Boolean))", plan_ids)
    # The page itself (not the worker) loaded no map or photo code on today either, and nobody
    # fetched the map's code.
    assert [url for url, worker, *_ in seen if not worker and any(code in url for code in MAP_AND_PHOTO_CODE)] == []
    assert [url for url, *_ in seen if any(code in url for code in MAP_CODE)] == []

    total = sum(size for *_, size in seen)
    # What the worker fetched on its own after the login: today's audit kept for offline.
    kept = sum(size for i, (_, _, background, size) in enumerate(seen) if background and i >= at_login)
    listing = "\n".join(f"{size:>7} {'sw ' if worker else '   '}{url}"
                        for url, worker, _, size in sorted(seen, key=lambda s: -s[-1]))
    print(f"\nfirst visit: {total} bytes in {len(seen)} requests, {kept} of them keeping today's audit\n{listing}")
    assert total <= VISIT_BUDGET, f"{total} bytes on the wire:\n{listing}"

    # What was kept is enough to sign offline without the map: the check-in point is the phone's
    # position, and the box says the map opens with a network.
    page.context.set_offline(True)
    page.goto(f"/plans/{plan_ids[0]}/checkin")
    expect(page.locator("#offline-banner")).to_be_visible()
    expect(page.locator("#map")).to_have_attribute("data-geo", "ready")
    expect(page.locator("#map")).to_have_text("地图需联网才能打开，签到点为手机当前位置。")
    page.get_by_role("button", name=re.compile("确认并签")).click()
    expect(page.locator("#check-outcome")).to_contain_text("已保存，联网后自动发送")
    [entry] = page.evaluate("async () => (await Outbox.list()).map(e => e.position)")
    assert (entry["pin_lat"], entry["pin_lon"]) == (entry["lat"], entry["lon"]) == ("41.1256", "126.1865")
