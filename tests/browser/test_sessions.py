"""R1 sessions in the phone's browser against another site: a page elsewhere cannot end
the auditor's session."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser

# Another site (the browser is handed this page; nothing leaves the machine) whose page
# sends a form to the app as soon as it is opened: a cross-site POST, so the browser sends
# no SameSite=Lax session cookie with it and the app refuses it for want of a CSRF token.
OTHER_SITE = "http://evil.example/"
SELF_SUBMITTING = """<!doctype html><meta charset="utf-8"><title>优惠</title>
<form method="post" action="{action}"><input name="text" value="x"></form>
<script>document.forms[0].submit()</script>"""


@pytest.mark.parametrize("target", ["/logout", "/login"])
def test_r1_a_form_on_another_site_does_not_log_the_auditor_out(page, data, live_server, target):
    with data as f:
        phone = f.auditor().phone
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()

    page.route(OTHER_SITE, lambda route: route.fulfill(
        content_type="text/html", body=SELF_SUBMITTING.format(action=live_server.url + target)))
    page.goto(OTHER_SITE)
    expect(page).to_have_url(live_server.url + target)
    expect(page.get_by_text("表单已过期")).to_be_visible()

    page.goto("/")
    expect(page).to_have_url(re.compile(re.escape(live_server.url) + "/$"))
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()


def test_r1_a_kept_login_copied_before_logout_is_refused_after_it(page, browser, data, live_server):
    """The login outlives closing the app (a cookie with an expiry); logging out still ends
    it on the server, so a copy taken before (another browser, a backup) gets the login page."""
    with data as f:
        phone = f.auditor().phone
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    session = next(cookie for cookie in page.context.cookies() if cookie["name"] == "session")
    assert session["expires"] > 0, "kept when the app is closed"

    elsewhere = browser.new_context(base_url=live_server.url)
    try:
        elsewhere.add_cookies([session])
        copy = elsewhere.new_page()
        copy.goto("/")
        expect(copy.get_by_role("heading", name="今日审核任务")).to_be_visible()  # the copy works before

        page.get_by_role("navigation", name="主导航").get_by_role("link", name="我的").click()
        page.get_by_role("button", name="退出登录").click()
        expect(page).to_have_url(re.compile(r"/login$"))

        copy.goto("/")
        expect(copy).to_have_url(re.compile(r"/login\?next="))
    finally:
        elsewhere.close()
