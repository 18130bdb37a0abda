"""The installable app shell (R17): a manifest Chromium accepts for installing,
static files precached by the service worker, pages network-first with the last good copy
shown offline (and marked so), an offline page for anything never loaded, a deploy that
replaces the old static cache, and no page of one person kept for the next."""
from __future__ import annotations

import json
import re
import shutil

import pytest
from PIL import Image
from playwright.sync_api import expect

from checkin_pwa import PROJECT_ROOT

from ..conftest import CHROMIUM, login_in_browser

pytestmark = pytest.mark.browser

OFFLINE_BANNER = "离线：显示的是上次加载的内容"


def one_task_today(data):
    with data as f:
        me = f.auditor(name="张三")
        plan = f.plan([me], company=f.enterprise("吉林省某某股份有限公司"), code="ISO9001")
        return me.phone, plan.id


def wait_until_controlled(page):
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")


def wait_until(page, check: str, arg=None, timeout_ms: int = 15000):
    """Poll an async check in the page (wait_for_function takes a returned Promise as true;
    the check is pasted into the function, as the page's CSP forbids eval)."""
    page.evaluate(
        "async (arg) => { const test = " + check + ", end = Date.now() + " + str(timeout_ms) + ";"
        " while (!(await test(arg))) {"
        "   if (Date.now() > end) throw new Error('timed out waiting');"
        "   await new Promise((resolve) => setTimeout(resolve, 50)); } }", arg)


def wait_until_kept(page, path):
    """The worker keeps a page copy after it answered: wait until it is in the cache."""
    wait_until(page, "path => caches.open('pages').then(c => c.match(path)).then(r => r !== undefined)", path)


def open_today_controlled(page, phone):
    """Log in, wait for the worker, then load today's page through it so it keeps a copy."""
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    wait_until_controlled(page)
    page.reload()
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    wait_until_kept(page, "/")


def static_caches(page) -> list[str]:
    return page.evaluate("() => caches.keys().then(k => k.filter(n => n.startsWith('static-')))")


# --- the manifest and the icons ------------------------------------------------------------

def test_manifest_names_the_app_in_chinese_with_any_and_maskable_icons(client):
    response = client.get("/manifest.json")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.data)
    assert manifest["name"].startswith("认证到") and manifest["short_name"] == "认证到"
    assert (manifest["lang"], manifest["start_url"], manifest["scope"], manifest["display"]) == (
        "zh-CN", "/", "/", "standalone")
    assert manifest["theme_color"] == "#1f6feb"
    icons = {(icon["sizes"], icon["purpose"]): icon["src"] for icon in manifest["icons"]}
    assert set(icons) == {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"), ("512x512", "maskable")}
    for (sizes, purpose), src in icons.items():
        served = client.get(src)
        assert served.status_code == 200 and served.mimetype == "image/png"
        side = int(sizes.split("x")[0])
        image = Image.open(PROJECT_ROOT / "checkin_pwa" / src.split("?")[0].lstrip("/"))
        assert image.size == (side, side)
        if purpose == "maskable":
            # Blue to every edge: a launcher's mask may cut anywhere outside the safe zone.
            rgb = image.convert("RGB")
            assert {rgb.getpixel(xy) for xy in [(0, 0), (side - 1, 0), (0, side - 1), (side - 1, side - 1)]} == {(0x1F, 0x6F, 0xEB)}


def test_pages_link_the_icon_and_the_manifest(client):
    html = client.get("/login").get_data(as_text=True)
    assert 'rel="manifest" href="/manifest.json"' in html
    assert 'rel="apple-touch-icon" href="/static/icons/apple-touch-icon.png?v=' in html
    assert 'rel="icon" href="/static/icons/icon-32.png?v=' in html


def test_the_worker_names_its_static_cache_after_the_files(client):
    source = client.get("/service-worker.js").get_data(as_text=True)
    assert "__STATIC_FINGERPRINT__" not in source
    assert "importScripts" in source  # the outbox half is still there


def test_every_script_and_stylesheet_of_ours_is_precached_or_kept_with_the_pages(client):
    # A page opened offline needs its scripts and styles from the worker's cache: a new file
    # left out of the worker's lists (PRECACHE at install; PAGE_CODE, fetched when a kept page
    # names it) works online and silently breaks that page offline.
    source = client.get("/service-worker.js").get_data(as_text=True)
    lists = re.search(r"var PRECACHE = (.*?);\n.*var PAGE_CODE = (.*?);\n", source, re.S)
    listed = set(re.findall(r'"(/static/[^"]+)"', lists.group(1) + lists.group(2)))
    static = PROJECT_ROOT / "checkin_pwa" / "static"
    # The management end's files are left out: its pages work online only (never kept).
    ours = {"/static/" + str(path.relative_to(static)) for folder in ("js", "css")
            for path in (static / folder).glob("*") if path.is_file() and not path.name.startswith("console")}
    assert ours - listed == set()


def test_the_offline_page_needs_no_login_and_names_no_one(client):
    response = client.get("/offline")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "当前没有网络" in html and "csrf" not in html.lower()


def test_chromium_finds_nothing_that_stops_installing(playwright, live_server, tmp_path):
    # Incognito contexts always answer "in-incognito": a persistent profile is needed.
    phone = {k: v for k, v in playwright.devices["Pixel 7"].items() if k != "default_browser_type"}
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, base_url=live_server.url, **phone)
    try:
        page = context.pages[0] if context.pages else context.new_page()
        page.goto("/login")
        wait_until_controlled(page)
        cdp = context.new_cdp_session(page)
        errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
        assert errors == []
        manifest = cdp.send("Page.getAppManifest")
        assert manifest["url"].endswith("/manifest.json") and not manifest.get("errors")
    finally:
        context.close()


# --- offline ---------------------------------------------------------------------------------

def test_r17_offline_today_shows_the_last_copy_marked_offline(page, data):
    phone, plan_id = one_task_today(data)
    open_today_controlled(page, phone)
    expect(page.locator("#offline-banner")).to_be_hidden()

    page.context.set_offline(True)
    page.reload()
    expect(page.locator(f"#plan-{plan_id}")).to_contain_text("吉林省某某股份有限公司")
    expect(page.locator("#offline-banner")).to_be_visible()
    expect(page.locator("#offline-banner")).to_contain_text(OFFLINE_BANNER)
    # The shell came from the precache: the stylesheet applies and htmx runs.
    expect(page.locator(".topbar")).to_have_css("background-color", "rgb(31, 111, 235)")
    page.wait_for_function("() => window.htmx !== undefined")

    # A page this phone never loaded: the offline page, not the browser's error.
    page.goto(f"/plans/{plan_id}/together")
    expect(page.get_by_role("heading", name="当前没有网络")).to_be_visible()
    expect(page.get_by_role("link", name="今日审核任务")).to_be_visible()

    # Back online, the same URL comes from the network again, unmarked.
    page.context.set_offline(False)
    page.goto("/")
    expect(page.locator(f"#plan-{plan_id}")).to_be_visible()
    expect(page.locator("#offline-banner")).to_be_hidden()


def test_r16_logging_out_forgets_the_kept_pages(page, data):
    phone, plan_id = one_task_today(data)
    open_today_controlled(page, phone)
    page.get_by_role("link", name="我的").click()
    page.get_by_role("button", name="退出登录").click()
    expect(page.locator("input[name=phone]")).to_be_visible()
    wait_until(page, "() => caches.open('pages').then(c => c.keys()).then(k => k.length === 0)")

    page.context.set_offline(True)
    page.goto("/")
    expect(page.get_by_role("heading", name="当前没有网络")).to_be_visible()
    expect(page.locator(f"#plan-{plan_id}")).to_have_count(0)


def test_a_page_that_needs_a_login_is_never_kept_as_that_page(page, data):
    # Not logged in: "/" answers with the login page after a redirect; it must not be kept
    # as "/", or the next offline start would show a login form that cannot work.
    page.goto("/login")
    wait_until_controlled(page)
    page.goto("/")
    expect(page.locator("input[name=phone]")).to_be_visible()
    assert page.evaluate("() => caches.open('pages').then(c => c.keys()).then(k => k.map(r => r.url))") == []


def test_a_deploy_replaces_the_old_static_cache(page, data, live_server, tmp_path):
    phone, _ = one_task_today(data)
    open_today_controlled(page, phone)
    before = static_caches(page)
    assert len(before) == 1

    # A deploy: the same app with a changed stylesheet.
    deployed = tmp_path / "static"
    shutil.copytree(live_server.app.static_folder, deployed)
    with open(deployed / "css" / "app.css", "a", encoding="utf-8") as css:
        css.write("\n/* deploy 2 */\n")
    live_server.app.static_folder = str(deployed)

    page.evaluate("() => navigator.serviceWorker.getRegistration().then(r => r.update())")
    wait_until(page, "old => caches.keys().then(k => { const s = k.filter(n => n.startsWith('static-'));"
                     " return s.length === 1 && s[0] !== old; })", before[0])
    after = static_caches(page)[0]
    css = page.evaluate(
        "name => caches.open(name).then(c => c.match('/static/css/app.css')).then(r => r.text())", after)
    assert css.rstrip().endswith("/* deploy 2 */")
    # The page copies survive an update: the auditor can still open today's tasks offline.
    page.context.set_offline(True)
    page.reload()
    expect(page.locator("#offline-banner")).to_be_visible()


def test_r14_an_attachment_opened_by_its_address_is_not_kept_as_a_page(page, data):
    # Without the link's download attribute the browser navigates to the file, and the
    # worker's network-first page handler sees it: it must pass it through, not keep it.
    from checkin_pwa.services import notices

    phone, _plan_id = one_task_today(data)
    with data:
        from checkin_pwa.models import Auditor
        from checkin_pwa.extensions import db
        me = db.session.scalar(db.select(Auditor).filter_by(phone=phone))
        notice = notices.create_notice(me.agency, "通知", "正文", [("说明.pdf", b"%PDF-1.4\n%test\n")])
        url = f"/notices/{notice.id}/attachments/{notice.attachments[0].id}"
    open_today_controlled(page, phone)
    with page.expect_download():
        page.evaluate("url => { location.href = url; }", url)
    # A page loaded after the file is kept; the file, handled before it, is not.
    page.goto("/tasks")
    wait_until_kept(page, "/tasks")
    kept = page.evaluate("() => caches.open('pages').then(c => c.keys()).then(k => k.map(r => r.url))")
    assert kept and not [u for u in kept if "/attachments/" in u]


def test_r1_the_workers_own_requests_never_set_the_session_cookie(page, data):
    # The worker precaches while the login page is open and keeps today's pages after login;
    # an answer to one of those that came back after a login or a logout set the old session
    # back in the browser (the auditor found themself logged out on their first tap).
    phone, plan_id = one_task_today(data)
    from_worker = []

    def seen(response):
        # The worker's own fetches say so; the pages it forwards for the auditor do not.
        request = response.request
        if request.service_worker is not None and request.headers.get("x-background-fetch") == "1":
            from_worker.append((response.url, response.header_value("set-cookie")))

    page.context.on("response", seen)
    page.goto("/login")
    wait_until_controlled(page)
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    wait_until_kept(page, f"/plans/{plan_id}/checkin")
    urls = [url for url, _ in from_worker]
    assert any(url.endswith("/offline") for url in urls), urls  # the precache was seen
    assert any("/plans/" in url for url in urls), urls  # and the pages kept for offline
    assert [(url, cookie) for url, cookie in from_worker if cookie] == []
