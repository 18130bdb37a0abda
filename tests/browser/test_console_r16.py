"""R16 on the management end in Chromium: a staff member of body B, logged in with the
second factor, opens every console URL that names one of body A's rows (its auditor, plan,
photo, notice and attachment, token, plan upload, log entry, staff member, waiting phone
change, evidence review, export file: all /admin routes with an <int:...> id, read from the app) and sees the console's
404 page each time; the buttons' POSTs, sent from the page with its own CSRF token, are
404 too; and nothing is written: body A's audit log and every other table are unchanged."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from checkin_pwa.models import Agency

from ..console.r16_rows import NOT_FOUND, body_a_rows, body_b_admin, database_rows, int_routes, log_of, url_with
from ..factories import STAFF_PASSWORD
from .test_console import VIEWPORTS, log_in_staff

pytestmark = pytest.mark.browser


def test_r16_body_bs_staff_get_404_for_every_console_page_of_body_a(browser, live_server, data):
    app = live_server.app
    with data as f:
        from checkin_pwa.extensions import db

        rows = body_a_rows(app)
        b_phone = body_b_admin().phone
        body_a = db.session.scalar(db.select(Agency.id).filter_by(code=f.agency().code))
        urls = [(endpoint, method, url_with(rule, rows)) for endpoint, rule, method in int_routes(app)]
    pages = [url for _endpoint, method, url in urls if method == "GET"]
    posts = [url for _endpoint, method, url in urls if method == "POST"]
    endpoints = {endpoint for endpoint, _method, _url in urls}
    # Body A's auditor, plan, photo, notice, token, upload and log entry are all among them.
    assert {"console.auditors.person", "console.plans.plan_page", "console.plans.photo", "console.notices.detail",
            "console.notices.attachment", "console.tokens.revoke", "console.uploads.show", "console.log.entry",
            "console.staff.person", "console.plans.evidence", "console.exports.job_file"} <= endpoints

    context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  **VIEWPORTS["desktop"])
    page = context.new_page()
    log_in_staff(page, b_phone, STAFF_PASSWORD)
    expect(page.get_by_role("heading", name="乙方认证有限公司")).to_be_visible()
    with data:
        a_log, everything = log_of(body_a), database_rows()

    for url in pages:
        answer = page.goto(url)
        assert answer.status == 404, url
        expect(page.get_by_text(NOT_FOUND)).to_be_visible()
        expect(page.locator("body")).not_to_contain_text("甲方")  # nothing of body A shows
        expect(page.locator("body")).not_to_contain_text("北京某某认证中心")
    page.goto("/admin/")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    for url in posts:
        answer = page.request.post(live_server.url + url, form={"csrf_token": token})
        assert answer.status == 404, url
        assert NOT_FOUND in answer.text()

    with data:
        assert log_of(body_a) == a_log
        assert database_rows() == everything
    context.close()
