"""Cross-audit anomalies in Chromium (R21): on a desktop a read-only staff member opens the
list from the console's navigation, narrows it to impossible travel, reads the auditor and
the numbers ("两地相距 420 km，需时速 1,260 km/h") and opens the plan's console page. On a
390 px phone the same list stacks with nothing wider than the screen."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..factories import SITE, local_today, to_utc
from .test_console import fits_the_width
from .test_console_plans import staff_page

pytestmark = pytest.mark.browser


def travel_and_overlap(f) -> dict:
    """Yesterday 赵远行 checked in at Jilin at 09:00 and 420 km east at 09:20 (for two plans
    of the same hours); the day before, 钱重叠 was on two plans 300 km apart at the same hours."""
    from checkin_pwa.domain.geo import Point, destination
    from checkin_pwa.extensions import db
    from checkin_pwa.models import CheckEvent

    far, very_far = destination(Point(*SITE), 90.0, 420_000), destination(Point(*SITE), 90.0, 300_000)
    zhao, qian = f.auditor(name="赵远行"), f.auditor(name="钱重叠")
    first = f.plan([zhao], company=f.enterprise("吉林甲机械有限公司"), start=local_today(-1, 8, 0), end=local_today(-1, 12, 0))
    second = f.plan([zhao], company=f.enterprise("大连乙化工有限公司"), start=local_today(-1, 8, 0),
                    end=local_today(-1, 12, 0), sites=((far.lat, far.lon),))
    for plan, point, minute in ((first, Point(*SITE), 0), (second, far, 20)):
        db.session.add(CheckEvent(plan_id=plan.id, kind="in", signer_id=zhao.id, device_lat=point.lat,
                                  device_lon=point.lon, device_accuracy_m=15, chosen_lat=point.lat,
                                  chosen_lon=point.lon, server_time=to_utc(local_today(-1, 9, minute))))
    f.plan([qian], start=local_today(-2, 8, 30), end=local_today(-2, 17, 0))
    f.plan([qian], start=local_today(-2, 8, 30), end=local_today(-2, 17, 0), sites=((very_far.lat, very_far.lon),))
    return {"second": second.id, "second_no": second.plan_no, "staff": f.staff(role="readonly", name="钱只读").phone}


def test_r21_the_list_shows_impossible_travel_with_its_numbers_and_opens_the_plan(browser, live_server, data):
    with data as f:
        ids = travel_and_overlap(f)
    context, page = staff_page(browser, live_server, "desktop", ids["staff"])
    page.get_by_role("link", name="跨审核异常").click()
    expect(page.get_by_role("heading", name="跨审核异常")).to_be_visible()
    rows = page.locator("#anomaly-list tr[data-kind]")
    expect(rows).to_have_count(3)  # the travel, and each auditor's overlapping plans

    page.get_by_label("类型").select_option(label="不可能的行程")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"kind=travel"))
    travel = rows.first
    expect(travel).to_contain_text("赵远行")
    expect(travel).to_contain_text("两地相距 420 km，需时速 1,260 km/h")
    expect(travel).to_contain_text("用时 20 分钟")

    travel.get_by_role("link", name=ids["second_no"]).click()
    expect(page).to_have_url(re.compile(rf"/admin/plans/{ids['second']}$"))
    expect(page.locator("main")).to_contain_text("大连乙化工有限公司")
    context.close()


def test_r21_the_list_stacks_on_a_390_px_phone(browser, live_server, data):
    with data as f:
        ids = travel_and_overlap(f)
    context, page = staff_page(browser, live_server, "phone", ids["staff"])
    page.goto("/admin/anomalies")
    expect(page.locator("#anomaly-list tr[data-kind]")).to_have_count(3)
    expect(page.locator("#anomaly-list tr[data-kind=\"overlap\"]").last).to_contain_text("两地相距 300 km")
    assert fits_the_width(page)
    context.close()
