"""R11 today's page (and the help page) tells how to put the app on the home screen, in the
way this browser allows: its own install prompt, the steps for iPhone Safari or another
Android browser, "open in the browser" inside WeChat; nothing once the app runs installed."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..conftest import CHROMIUM, PHONE_POSITION, login_in_browser

pytestmark = pytest.mark.browser

PIXEL_UA = ("Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/126.0.0.0 Mobile Safari/537.36")
WECHAT_UA = PIXEL_UA + " XWEB/1300133 MMWEBSDK/20240404 MicroMessenger/8.0.49.2600(0x2800313D) WeChat/arm64 Weixin NetType/4G Language/zh_CN ABI/arm64"


def device(playwright, name):
    return {k: v for k, v in playwright.devices[name].items() if k != "default_browser_type"}


@pytest.fixture
def open_today(browser, playwright, live_server, data):
    """A phone of the given kind, logged in, on today's page."""
    with data as f:
        phone = f.auditor().phone
    contexts = []

    def open_as(name="Pixel 7", *, user_agent=None, init_script=None, path="/"):
        options = {**device(playwright, name), "base_url": live_server.url, "locale": "zh-CN",
                   "timezone_id": "Asia/Shanghai", "geolocation": PHONE_POSITION, "permissions": ["geolocation"]}
        if user_agent:
            options["user_agent"] = user_agent
        context = browser.new_context(**options)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        login_in_browser(page, phone)
        expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
        if path != "/":
            page.goto(path)
        return page

    yield open_as
    for context in contexts:
        context.close()


def hint(page):
    return page.locator("#install-hint")


def test_r11_inside_wechat_the_hint_says_open_in_the_browser(open_today):
    page = open_today(user_agent=WECHAT_UA)
    expect(hint(page)).to_be_visible()
    expect(hint(page)).to_contain_text("请在浏览器中打开")
    expect(hint(page)).to_contain_text("在浏览器中打开")
    expect(hint(page).locator(".install-steps:visible")).to_have_count(0)
    expect(page.get_by_role("button", name="安装到主屏幕")).to_be_hidden()


def test_r11_iphone_safari_gets_the_add_to_home_screen_steps_until_dismissed(open_today):
    page = open_today("iPhone 13")
    steps = hint(page).locator("ol[data-when=ios]")
    expect(steps).to_be_visible()
    expect(steps).to_contain_text("分享按钮")
    expect(steps).to_contain_text("添加到主屏幕")
    expect(hint(page).locator("ol[data-when=android]")).to_be_hidden()
    expect(hint(page).locator(".install-wechat")).to_be_hidden()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.get_by_role("button", name="不再提示").click()
    expect(hint(page)).to_be_hidden()
    page.reload()
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    expect(hint(page)).to_be_hidden()
    # The help page still has it, without the dismiss button.
    page.goto("/help")
    expect(hint(page).locator("ol[data-when=ios]")).to_be_visible()
    expect(page.get_by_role("button", name="不再提示")).to_have_count(0)


def test_r11_another_android_browser_gets_the_menu_steps(open_today):
    page = open_today("Pixel 7", user_agent=PIXEL_UA)
    steps = hint(page).locator("ol[data-when=android]")
    expect(steps).to_be_visible()
    expect(steps).to_contain_text("添加到主屏幕")
    expect(steps).to_contain_text("添加到桌面")


@pytest.mark.parametrize("kind, script", [
    ("iPhone 13", "Object.defineProperty(Navigator.prototype, 'standalone', {get: () => true})"),
    # Headless Chromium opens no installed-app window, so the display mode is answered here.
    ("Pixel 7", """(() => { const real = window.matchMedia.bind(window);
        window.matchMedia = q => /display-mode:\\s*standalone/.test(q)
          ? {matches: true, media: q, onchange: null, addEventListener() {}, removeEventListener() {},
             addListener() {}, removeListener() {}, dispatchEvent() { return true; }}
          : real(q); })()"""),
])
def test_r11_no_hint_once_the_app_runs_installed(open_today, kind, script):
    page = open_today(kind, init_script=script)
    expect(hint(page)).to_have_attribute("data-installed", "")  # the script ran and saw it
    expect(hint(page)).to_be_hidden()
    page.goto("/help")
    expect(page.get_by_role("heading", name="帮助")).to_be_visible()
    expect(hint(page)).to_have_attribute("data-installed", "")
    expect(hint(page)).to_be_hidden()


def test_r11_the_browsers_own_install_prompt_is_offered_where_it_exists(playwright, live_server, data, tmp_path):
    """Chromium fires beforeinstallprompt for an installable app in a real profile (the
    engagement check waived); the hint then offers the browser's own install."""
    with data as f:
        phone = f.auditor().phone
    context = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, base_url=live_server.url, locale="zh-CN",
        args=["--bypass-app-banner-engagement-checks"], **device(playwright, "Pixel 7"))
    try:
        page = context.pages[0] if context.pages else context.new_page()
        login_in_browser(page, phone)
        expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.reload()
        button = page.get_by_role("button", name="安装到主屏幕")
        expect(button).to_be_visible()
        expect(hint(page).locator("ol[data-when=android]")).to_be_hidden()
        box = button.bounding_box()
        assert box["height"] >= 44
    finally:
        context.close()
