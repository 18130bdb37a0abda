"""The app inside a certification body's intranet page (an iframe), in the phone's browser.

The intranet page is served by a tiny http.server of its own on 127.0.0.1 (another port),
so the frame is cross-origin in every case. Same site: it frames http://127.0.0.1:<app>
(ports do not make another site), and the default SameSite=Lax cookie is enough.
Cross site: it frames http://localhost:<app>, another site, where the app needs
EMBED_CROSS_SITE (SameSite=None; Secure; Partitioned). Both are secure contexts, so
Chromium keeps Secure cookies on plain http here.

What was found about Chromium 156 as Playwright runs it (and pinned by these tests):
- it blocks unpartitioned third-party cookies (DevTools: blockedReasons "UserPreferences"),
  in fresh and persistent profiles alike: only the Partitioned cookie survives;
- Playwright turns off ThirdPartyStoragePartitioning, which Chrome ships on; with
  third-party cookies blocked, a cross-site frame then gets no storage at all (localStorage
  throws SecurityError; the service worker is refused: "The user denied permission to use
  Service Worker"). The cross-site tests run a second Chromium with partitioning back on,
  as Chrome runs it for the auditors.
- Geolocation granted to the context reaches a cross-origin frame only through the
  intranet page's allow="geolocation".
"""
from __future__ import annotations

import functools
import re
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from checkin_pwa.extensions import db
from checkin_pwa.models import CheckEvent

from ..conftest import PHONE_POSITION
from ..factories import PASSWORD

pytestmark = pytest.mark.browser

CROSS_SITE = [{"EMBED_CROSS_SITE": True}]
INTRANET_PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>某认证中心 · 内网</title>
<style>body{{margin:0;font:14px sans-serif}} header{{height:32px;line-height:32px;padding:0 8px}}
iframe{{display:block;width:100%;height:calc(100vh - 32px);border:0}}</style></head>
<body><header>某认证中心 · 内网</header>
<iframe id="checkin-app" title="认证到" src="{src}"{allow}></iframe></body></html>
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 (the base class's name)
        pass


@pytest.fixture
def intranet(tmp_path, live_server):
    """intranet(src, allow="geolocation") -> the URL of a body's page that frames src. Its
    origin is listed in the app's FRAME_ANCESTORS, as the operator does (listed=False: not)."""
    servers = []

    def serve(src: str, allow: str | None = "geolocation", listed: bool = True) -> str:
        folder = tmp_path / f"intranet{len(servers)}"
        folder.mkdir()
        attribute = f' allow="{allow}"' if allow else ""
        (folder / "index.html").write_text(INTRANET_PAGE.format(src=src, allow=attribute), encoding="utf-8")
        server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        if listed:
            live_server.app.config["FRAME_ANCESTORS"] += f" http://127.0.0.1:{server.server_port}"
        return f"http://127.0.0.1:{server.server_port}/index.html"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def chrome_like_browser(browser, browser_type, browser_type_launch_args):
    """Chromium with third-party storage partitioning on, as Chrome ships it: the same
    switches Playwright passes, less ThirdPartyStoragePartitioning in --disable-features
    (Chromium keeps the last copy of a repeated switch)."""
    probe = browser.new_page()
    probe.goto("chrome://version")
    command_line = probe.locator("#command_line").inner_text()
    probe.close()
    match = re.search(r"--disable-features=(\S+)", command_line)
    assert match, command_line
    features = [name for name in match.group(1).split(",") if name != "ThirdPartyStoragePartitioning"]
    args = [*browser_type_launch_args.get("args", []), "--disable-features=" + ",".join(features)]
    chrome = browser_type.launch(**{**browser_type_launch_args, "args": args})
    yield chrome
    chrome.close()


@pytest.fixture
def chrome_like_page(chrome_like_browser, browser_context_args):
    """A phone page (Pixel 7, zh-CN, position granted) in that browser."""
    context = chrome_like_browser.new_context(**browser_context_args)
    yield context.new_page()
    context.close()


def on_localhost(url: str) -> str:
    """The same server under the name localhost: another site than 127.0.0.1."""
    return url.replace("//127.0.0.1:", "//localhost:", 1)


def app_frame(page):
    return page.frame_locator("#checkin-app")


def log_in_inside(page, phone):
    frame = app_frame(page)
    frame.locator("input[name=phone]").fill(phone)
    frame.locator("input[name=password]").fill(PASSWORD)
    frame.get_by_role("button", name="登录").click()
    expect(frame.get_by_role("heading", name="今日审核任务")).to_be_visible()
    return frame


def check_in_inside(frame, plan_id):
    """Open the plan's check-in page from its card, wait for the position, sign."""
    frame.locator(f"#plan-{plan_id}").get_by_role("link", name="签到").click()
    expect(frame.locator("#map")).to_have_attribute("data-geo", "ready")
    expect(frame.locator("#geo-status")).to_contain_text("精度约 12 米")
    frame.get_by_role("button", name="确认并签到").click()
    expect(frame.locator("#check-outcome")).to_contain_text("签到成功")
    expect(frame.locator(f"#plan-{plan_id} .state")).to_have_text("已签到")


def recorded_positions(data, plan_id):
    with data:
        return [(e.kind, e.device_lat, e.device_lon)
                for e in db.session.scalars(select(CheckEvent).where(CheckEvent.plan_id == plan_id))]


def session_cookie(context, host):
    (cookie,) = [c for c in context.cookies() if c["name"] == "session" and c["domain"] == host]
    return cookie


def a_plan_for_one_auditor(data):
    with data as f:
        me = f.auditor(name="李四")
        return f.plan([me]).id, me.phone


def test_same_site_intranet_frame_logs_in_and_checks_in_with_the_default_lax_cookie(page, data, live_server, intranet):
    plan_id, phone = a_plan_for_one_auditor(data)
    top = intranet(live_server.url + "/login")
    page.goto(top)
    frame = log_in_inside(page, phone)
    check_in_inside(frame, plan_id)

    assert page.url == top  # every link and form stayed inside the frame
    assert recorded_positions(data, plan_id) == [("in", PHONE_POSITION["latitude"], PHONE_POSITION["longitude"])]
    cookie = session_cookie(page.context, "127.0.0.1")
    assert cookie["sameSite"] == "Lax" and not cookie["secure"]


@pytest.mark.parametrize("live_server", CROSS_SITE, indirect=True)
def test_cross_site_intranet_frame_checks_in_with_a_partitioned_cookie(chrome_like_page, data, live_server, intranet):
    page = chrome_like_page
    plan_id, phone = a_plan_for_one_auditor(data)
    app_url = on_localhost(live_server.url)
    top = intranet(app_url + "/login")
    page.goto(top)
    frame = log_in_inside(page, phone)
    check_in_inside(frame, plan_id)  # a plain GET, then an htmx POST with its CSRF header

    assert page.url == top
    assert recorded_positions(data, plan_id) == [("in", PHONE_POSITION["latitude"], PHONE_POSITION["longitude"])]
    cookie = session_cookie(page.context, "localhost")
    assert (cookie["sameSite"], cookie["secure"], cookie["httpOnly"]) == ("None", True, True)
    assert cookie["partitionKey"] == "http://127.0.0.1"  # kept for this intranet site only

    # The service worker registers inside the frame too, in the intranet's partition.
    (app_in_frame,) = [f for f in page.frames if urlsplit(f.url).hostname == "localhost"]
    app_in_frame.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=5000)

    # The partition is real: the app opened on its own is not logged in, and logging in
    # there works with the same cookie settings (its own partition).
    page.goto(app_url + "/")
    page.locator("input[name=phone]").fill(phone)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    expect(page.locator(f"#plan-{plan_id} .state")).to_have_text("已签到")
    partitions = sorted(c.get("partitionKey", "") for c in page.context.cookies() if c["name"] == "session")
    assert partitions == ["http://127.0.0.1", "http://localhost"]


def test_cross_site_frame_without_embed_cross_site_refuses_the_login_clearly(chrome_like_page, data, live_server, intranet):
    """The default Lax cookie is never stored in a cross-site frame: the login form comes
    back refused (CSRF, in Chinese), nothing crashes, and nobody is logged in."""
    page = chrome_like_page
    _, phone = a_plan_for_one_auditor(data)
    page.goto(intranet(on_localhost(live_server.url) + "/login"))
    frame = app_frame(page)
    frame.locator("input[name=phone]").fill(phone)
    frame.locator("input[name=password]").fill(PASSWORD)
    frame.get_by_role("button", name="登录").click()
    expect(frame.get_by_text("表单已过期或并非由本应用提交")).to_be_visible()
    assert [c for c in page.context.cookies() if c["name"] == "session"] == []


def test_frame_without_allow_geolocation_cannot_locate_and_says_so(page, data, live_server, intranet):
    """A cross-origin frame gets the position only when the intranet page delegates it
    (allow="geolocation"), whatever the phone allows: the map shows its denial message
    and the button stays grey."""
    plan_id, phone = a_plan_for_one_auditor(data)
    page.goto(intranet(live_server.url + "/login", allow=None))
    frame = log_in_inside(page, phone)
    frame.locator(f"#plan-{plan_id}").get_by_role("link", name="签到").click()
    expect(frame.locator("#map")).to_have_attribute("data-geo", "error")
    expect(frame.locator("#geo-status")).to_contain_text("定位权限被拒绝")
    expect(frame.get_by_role("button", name="确认并签到")).to_be_disabled()
    assert recorded_positions(data, plan_id) == []


def test_an_intranet_not_listed_in_frame_ancestors_cannot_frame_the_app(page, data, live_server, intranet):
    """By default only the app's own pages may frame it: a page of an origin the operator
    did not list gets no login form in its frame (the browser refuses to show the app)."""
    with page.expect_console_message(lambda message: "frame-ancestors 'self'" in message.text):
        page.goto(intranet(live_server.url + "/login", listed=False))
    expect(page.get_by_text("某认证中心 · 内网")).to_be_visible()
    expect(app_frame(page).locator("input[name=phone]")).to_have_count(0)
