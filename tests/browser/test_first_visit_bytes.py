"""A first visit on a weak uplink: the login page and then today's page, with everything the
service worker fetches on that visit. The pages and the worker's install (its precache) come
to at most 100 KB on the wire (about 67 KB). Keeping today's audit for offline use adds its
check-in, check-out, plan and explanation pages and the map, check-in and photo code they run
(about 100 KB more: Leaflet alone is 40 KB): the whole visit stays under 175 KB.

The bytes are Chromium's own count of what came over the network for each request
(headers + encoded body, as CDP's encodedDataLength), the worker's requests included and
answers the worker gave from its cache left out. A byte budget, not a timing."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..factories import PASSWORD
from .test_pwa_shell import wait_until, wait_until_controlled

pytestmark = pytest.mark.browser

SHELL_BUDGET = 100 * 1024
VISIT_BUDGET = 175 * 1024
MAP_AND_PHOTO_CODE = ("leaflet", "/js/photos.js", "/js/checkin.js", "/js/plan-map.js", "/js/datum.js")


def on_the_wire(context):
    """Every request of the context, as (url, from the worker?, bytes on the wire) once finished."""
    seen = []

    def finished(request):
        response = request.response()
        if response is None or response.from_service_worker:
            return  # answered by the worker: its own fetch, if any, is counted by itself
        sizes = request.sizes()
        background = request.service_worker is not None and request.headers.get("x-background-fetch") == "1"
        seen.append((request.url, request.service_worker is not None, background,
                     sizes["responseHeadersSize"] + max(sizes["responseBodySize"], 0)))

    context.on("requestfinished", finished)
    return seen


def test_first_visit_to_login_and_today_is_under_100_kb_with_the_workers_fetches(page, data):
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
               ["/static/vendor/leaflet-1.9.4/leaflet.js", "/static/vendor/leaflet-1.9.4/images/marker-icon.png",
                "/static/js/photos.js", "/static/js/checkin.js", "/static/js/datum.js"])
    wait_until(page, "ids => caches.open('pages').then(c => Promise.all(ids.map(i => c.match('/plans/' + i))))"
               ".then(all => all.every(Boolean))", plan_ids)
    # The page itself (not the worker) loaded no map or photo code on today either.
    assert [url for url, worker, *_ in seen if not worker and any(code in url for code in MAP_AND_PHOTO_CODE)] == []

    total = sum(size for *_, size in seen)
    # What the worker fetched on its own after the login: today's audit kept for offline.
    kept = sum(size for i, (_, _, background, size) in enumerate(seen) if background and i >= at_login)
    listing = "\n".join(f"{size:>7} {'sw ' if worker else '   '}{url}"
                        for url, worker, _, size in sorted(seen, key=lambda s: -s[-1]))
    print(f"\nfirst visit: {total} bytes in {len(seen)} requests, {kept} of them keeping today's audit\n{listing}")
    assert total - kept <= SHELL_BUDGET, f"{total - kept} bytes without the offline copies:\n{listing}"
    assert total <= VISIT_BUDGET, f"{total} bytes on the wire:\n{listing}"
