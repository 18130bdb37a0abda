"""The app served at /checkin/ of a site, in the phone's browser: behind a proxy that strips
the prefix and says X-Forwarded-Prefix (nginx's `location /checkin/ { proxy_pass
http://app/; ... }`, tests/sub_path.py). Everything outside /checkin/ belongs to another
application: any request the pages, scripts or worker make there is recorded and fails."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..sub_path import PREFIX, Proxy
from .test_offline_outbox import controlled, events, wait_for

pytestmark = pytest.mark.browser

PHOTO = Path(__file__).resolve().parents[3] / "shared/fixtures/photos/DSCN0010.jpg"
KEEP = 30_000  # ms: today's pages fetched and kept on a 2-core machine


@pytest.fixture
def escaped(live_server):
    """The live server as a site with the app at /checkin/; the paths asked for outside it."""
    outside: list[str] = []
    inner = live_server.app.wsgi_app
    proxy = Proxy(inner, strip=True, header=True)

    def site(environ, start_response):
        if not environ.get("PATH_INFO", "").startswith(PREFIX + "/"):
            outside.append(environ.get("PATH_INFO", ""))
        return proxy(environ, start_response)

    live_server.app.wsgi_app = site
    yield outside
    live_server.app.wsgi_app = inner


@pytest.fixture
def browser_context_args(browser_context_args, live_server):
    # Relative paths in page.goto resolve under the prefix.
    return {**browser_context_args, "base_url": f"{live_server.url}{PREFIX}/",
            "permissions": ["geolocation", "background-sync"]}


def test_at_checkin_an_auditor_logs_in_checks_in_adds_a_photo_and_works_offline(page, data, escaped, live_server):
    app_url = f"{live_server.url}{PREFIX}/"
    with data as f:
        me = f.auditor(name="张三")
        online, offline = f.plan([me], code="ISO9001").id, f.plan([me], code="ISO14001").id
        phone = me.phone

    page.goto("login")
    # Another application of the site keeps caches of its own on the phone (one origin).
    page.evaluate("""() => Promise.all(["pages", "static-intranet"].map(name => caches.open(name)
        .then(c => c.put("/intranet/", new Response("the intranet's own page")))))""")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", f.PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    assert page.url == app_url
    # Today's plans are kept on the phone by the worker, which is the app's, at /checkin/.
    expect(page.locator("#offline-ready")).to_contain_text("今日任务已保存到本机", timeout=KEEP)
    controlled(page)
    worker = page.evaluate("""() => navigator.serviceWorker.getRegistration()
        .then(r => ({scope: r.scope, script: r.active.scriptURL}))""")
    assert worker == {"scope": app_url, "script": app_url + "service-worker.js"}
    ours = page.evaluate("() => caches.keys().then(names => names.filter(n => n.startsWith('/checkin/')))")
    assert sorted(name.split("static-")[0] for name in ours) == [f"{PREFIX}/", f"{PREFIX}/pages"]
    cached = page.evaluate("""names => Promise.all(names.map(n => caches.open(n).then(c => c.keys())
        .then(rs => rs.map(r => new URL(r.url).pathname)))).then(l => l.flat())""", ours)
    assert f"{PREFIX}/offline" in cached and f"{PREFIX}/static/js/outbox.js" in cached
    assert f"{PREFIX}/plans/{offline}/checkin" in cached
    assert all(path.startswith(PREFIX + "/") for path in cached), cached

    # Check in online, from the link on today's page.
    page.locator(f"#plan-{online} a[href$='/plans/{online}/checkin']").first.click()
    expect(page.locator("#map")).to_have_attribute("data-geo", "ready")
    page.get_by_role("button", name="确认并签到").click()
    expect(page.locator("#check-outcome")).to_contain_text("签到成功")

    # A meeting photo on the plan's page; its thumbnail comes back from under the prefix.
    page.goto(f"plans/{online}")
    first = page.locator('#photos .photo-group[data-group="first"]')
    first.locator("input[data-photo-input][capture]").set_input_files(PHOTO)
    tile = first.locator(".photo-tile[data-photo-id] img")
    expect(tile).to_have_count(1, timeout=KEEP)
    assert tile.get_attribute("src").startswith(f"{PREFIX}/photos/")
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=tile.element_handle())

    # No network: today's page and a check-in page never opened come from the worker's copy;
    # the check-in waits in the outbox and is sent when the network is back.
    page.context.set_offline(True)
    page.goto("")
    expect(page.locator("#offline-banner")).to_be_visible()
    page.goto(f"plans/{offline}/checkin")
    expect(page.locator("#offline-banner")).to_be_visible()
    expect(page.locator("#map")).to_have_attribute("data-geo", "ready")
    page.get_by_role("button", name="确认并签到").click()
    expect(page.locator("#check-outcome")).to_contain_text("已保存，联网后自动发送")
    page.goto("history")  # never loaded: the worker's offline page
    expect(page.locator("#offline")).to_be_visible()
    page.context.set_offline(False)
    page.goto("")
    assert wait_for(page, lambda: len(events(data, offline)) == 1)
    expect(page.locator("#outbox-badge")).to_be_hidden(timeout=KEEP)

    # Logging out forgets this app's kept pages, and nothing of the other application's.
    page.get_by_role("link", name="我的").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator("input[name=phone]")).to_be_visible()
    page.wait_for_function("() => caches.has('/checkin/pages').then(kept => !kept)")
    others = page.evaluate("""() => Promise.all(["pages", "static-intranet"].map(name =>
        caches.open(name).then(c => c.match("/intranet/")).then(r => r ? r.text() : null)))""")
    assert others == ["the intranet's own page"] * 2

    # The management end is at /checkin/admin/.
    page.goto("admin/")
    expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
    assert page.url.startswith(f"{app_url}admin/login")

    assert escaped == [], f"requests outside {PREFIX}/: {escaped}"
