"""Exception verification (R20) in Chromium: on a desktop an audit manager opens the queue
from the navigation, reads the team's explanation, records the body's verification and the
queue then shows the plan as 已核实; on a 390 px phone the queue stacks; the auditor's plan
page and explain page show the same deadline as the console, from the same function."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from checkin_pwa.domain.audit_exceptions import review_deadline
from checkin_pwa.extensions import db
from checkin_pwa.models import Explanation

from ..conftest import login_in_browser
from ..factories import local_today
from .test_console import fits_the_width
from .test_console_plans import staff_page

pytestmark = pytest.mark.browser


def ended_plan_with_explanation(f, days_ago: int = 3):
    """A plan of 贾组长 that ended `days_ago` days ago with nobody checked in, explained."""
    leader = f.auditor(name="贾组长")
    plan = f.plan([leader], company=f.enterprise("通化丙制药有限公司"), start=local_today(-days_ago - 1),
                  end=local_today(-days_ago, 17, 0))
    db.session.add(Explanation(plan_id=plan.id, author_id=leader.id, text="企业临时停产，审核组改为次日到场。"))
    return plan, leader


def test_r20_a_manager_records_a_verification_on_desktop_and_the_queue_shows_it_verified(browser, live_server, data):
    with data as f:
        plan, _leader = ended_plan_with_explanation(f)
        ids = {"plan": plan.id, "plan_no": plan.plan_no, "deadline": review_deadline(local_today(-3).date()).day}
        manager = f.staff(role="manager", name="李经理").phone
    context, page = staff_page(browser, live_server, "desktop", manager)
    page.get_by_role("link", name="异常核实").first.click()
    expect(page.get_by_role("heading", name="异常核实")).to_be_visible()
    rows = page.locator("#verification-list tr[data-plan]")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text("通化丙制药有限公司")
    expect(row).to_contain_text("未签到")
    expect(row).to_contain_text("企业临时停产")
    expect(row.locator("[data-state]")).to_have_text("待核实")
    expect(row.locator("[data-deadline]")).to_have_text(ids["deadline"].isoformat())
    expect(page.locator('[data-count-state="to_verify"]')).to_have_attribute("data-count", "1")

    row.get_by_role("link", name=ids["plan_no"]).click()
    expect(page.locator("#verification-state [data-state]")).to_have_text("待核实")
    expect(page.locator("#no-verifications")).to_be_visible()
    page.get_by_label("计划临时调整").check()
    page.get_by_label("核实说明").fill("已电话核实：企业停产一天，审核组次日完成审核。")
    page.get_by_role("button", name="保存核实").click()
    expect(page.get_by_text("核实已保存。")).to_be_visible()
    expect(page.locator("#verification-state [data-state]")).to_have_text("已核实")
    current = page.locator("article.verification.current")
    expect(current).to_contain_text("计划临时调整")
    expect(current).to_contain_text("李经理")
    expect(current).to_contain_text("按时核实")
    expect(current).to_contain_text("已电话核实：企业停产一天")

    # The queue: nothing left to do; the plan is under 已核实.
    page.get_by_role("link", name="返回核实列表").click()
    expect(page.locator("#verification-list tr[data-plan]")).to_have_count(0)
    expect(page.locator('[data-count-state="verified"]')).to_have_attribute("data-count", "1")
    page.get_by_label("状态").select_option("verified")
    expect(page).to_have_url(f"{live_server.url}/admin/verifications?state=verified")
    verified = page.locator(f'#verification-list tr[data-plan="{ids["plan"]}"]')
    expect(verified.locator("[data-state]")).to_have_text("已核实")
    expect(verified).to_contain_text("计划临时调整")
    context.close()


def test_r20_the_queue_fits_a_390_px_phone(browser, live_server, data):
    with data as f:
        ended_plan_with_explanation(f, days_ago=30)
        manager = f.staff(role="manager", name="李经理").phone
    context, page = staff_page(browser, live_server, "phone", manager)
    page.goto("/admin/verifications")
    row = page.locator("#verification-list tr[data-plan]")
    expect(row).to_have_count(1)
    expect(row.locator("[data-state]")).to_have_text("! 已逾期")
    assert fits_the_width(page)
    context.close()


def test_r20_the_auditors_plan_page_shows_the_deadline_the_console_shows(browser, live_server, data, page):
    with data as f:
        plan, leader = ended_plan_with_explanation(f)
        deadline = review_deadline(local_today(-3).date())
        ids = {"plan": plan.id, "phone": leader.phone, "deadline": deadline.day.isoformat(),
               "basis": "按周一至周五估算" if deadline.estimated else "工作日按国家法定节假日安排计算"}
        manager = f.staff(role="readonly", name="周只读").phone
    context, console = staff_page(browser, live_server, "desktop", manager)
    console.goto(f"/admin/verifications/{ids['plan']}")
    shown = console.locator("#verification-deadline [data-deadline]")
    expect(shown).to_have_text(ids["deadline"])

    login_in_browser(page, ids["phone"])
    page.goto(f"/plans/{ids['plan']}")
    on_plan = page.locator(".review-deadline")
    expect(on_plan).to_have_attribute("data-deadline", ids["deadline"])
    expect(on_plan).to_contain_text(f"即 {ids['deadline']} 前")
    expect(on_plan).to_contain_text(ids["basis"])
    page.goto(f"/plans/{ids['plan']}/explain")
    expect(page.locator(".review-deadline")).to_have_attribute("data-deadline", ids["deadline"])
    context.close()
