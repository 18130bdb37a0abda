"""The regulator's view in Chromium, on a desktop and a 390 px phone: the regulator logs in
with the password and the second factor, sees both bodies with their figures and the weekly
chart, and drills down to one body's plans and one plan's page and evidence review."""
from __future__ import annotations

import pyotp
import pytest
from playwright.sync_api import expect

from checkin_pwa.extensions import db
from checkin_pwa.models import AuditPlan

from ..console.test_regulator import two_bodies
from .test_console import VIEWPORTS, fits_the_width, log_in_with_password

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_r16_the_regulator_logs_in_with_totp_sees_both_bodies_and_drills_down_to_a_plan(browser, live_server, data,
                                                                                      viewport):
    with data as f:
        a, b = two_bodies()
        person = f.regulator()
        phone, secret = person.phone, person.totp_secret
        codes = {a.id: a.code, b.id: b.code}
        names = {a.id: a.name, b.id: b.name}
        plan = db.session.scalar(db.select(AuditPlan).where(AuditPlan.agency_id == b.id)
                                 .order_by(AuditPlan.start_utc.desc()))
        plan_no, plan_id, a_id, b_id = plan.plan_no, plan.id, a.id, b.id
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  **VIEWPORTS[viewport])
    page = context.new_page()
    try:
        log_in_with_password(page, phone, "Staff#pass1")
        expect(page.get_by_role("heading", name="第二因素验证")).to_be_visible()
        page.get_by_label("验证码").fill(pyotp.TOTP(secret).now())
        page.get_by_role("button", name="登录").click()

        expect(page.get_by_role("heading", name="全部认证机构")).to_be_visible()
        rows = page.locator("tr[data-body]")
        expect(rows).to_have_count(2)
        a_row, b_row = (page.locator(f'tr[data-body="{codes[body]}"]') for body in (a_id, b_id))
        expect(a_row.locator("[data-audits]")).to_have_text("3")
        expect(a_row.locator("[data-overdue]")).to_have_text("4")
        expect(a_row.locator("[data-anomalies]")).to_have_text("1")
        expect(a_row).to_contain_text("100%")
        expect(b_row.locator("[data-audits]")).to_have_text("2")
        expect(b_row.locator("[data-overdue]")).to_have_text("1")
        expect(page.locator("#board-chart svg")).to_be_visible()
        assert fits_the_width(page)

        page.get_by_role("link", name=names[b_id]).click()
        expect(page.get_by_role("heading", name="审核计划")).to_be_visible()
        expect(page.locator("[data-plan-count]")).to_have_text("共 2 个计划")
        page.get_by_role("link", name=plan_no).click()
        expect(page.get_by_text(plan_no).first).to_be_visible()
        assert page.url.endswith(f"/admin/plans/{plan_id}")
        page.goto(f"/admin/plans/{plan_id}/evidence")
        expect(page.get_by_text(plan_no).first).to_be_visible()
        page.go_back()
        page.get_by_role("link", name="返回审核计划列表").click()
        assert f"body={b_id}" in page.url
        expect(page.locator("[data-plan-count]")).to_have_text("共 2 个计划")
    finally:
        context.close()
