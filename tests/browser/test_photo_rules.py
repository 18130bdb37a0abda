"""The rules an auditor is judged on, shown where they act (R8, R10): the body's photo
requirements (notice 6.2, 6.3) above the first-meeting photos, and on a confidential (涉密)
plan a marker and what the notice (6.7) asks for instead of meeting photos."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser

NOTICE_6_2 = ("签到照片应能识别审核组全体成员（含技术专家、远程审核人员、实习审核人员）及被审核企业；"
              "会议场景照片无法识别审核组全体成员的，应补充1张能识别审核组全体成员的照片；"
              "被审核企业的可识别信息可以是企业标注，也可以是企业参会人员，或其他可以识别企业的信息。")
NOTICE_6_3 = "采用现场审核和远程审核相结合方式时，可将远程审核人员视频参加首末次会的情况进行拍照。"
NOTICE_6_7 = "如涉密单位因涉密要求，无法签到和拍摄首末次会议照片的，计划审核结束日后系统会提示异常，审核员须按要求填写异常说明。"


def open_plan(page, data, confidential: bool) -> int:
    with data as f:
        me = f.auditor(name="张三")
        plan = f.plan([me])
        plan.confidential = confidential
        plan_id, phone = plan.id, me.phone
    page.set_viewport_size({"width": 390, "height": 664})
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    page.goto(f"/plans/{plan_id}")
    return plan_id


def test_r8_the_photo_requirements_of_notice_6_2_stand_above_the_first_meeting_photo_input(page, data):
    open_plan(page, data, confidential=False)
    rules = page.locator("#photo-requirements")
    expect(rules).to_contain_text(NOTICE_6_2)
    expect(rules).to_contain_text(NOTICE_6_3)
    first = page.locator('#photos .photo-group[data-group="first"]')
    expect(first.get_by_role("heading")).to_contain_text("首次会议照片")
    camera = first.locator("label.photo-pick")
    expect(camera).to_be_visible()
    assert rules.bounding_box()["y"] + rules.bounding_box()["height"] <= first.bounding_box()["y"]
    assert rules.bounding_box()["y"] < camera.bounding_box()["y"]
    expect(page.locator(".confidential-mark")).to_have_count(0)
    expect(page.locator("#confidential-note")).to_have_count(0)


def test_r10_a_confidential_plan_shows_its_marker_and_the_explanation_the_notice_asks_for(page, data):
    plan_id = open_plan(page, data, confidential=True)
    expect(page.locator("#plan-facts .enterprise .confidential-mark")).to_have_text("涉密")
    note = page.locator("#confidential-note")
    expect(note).to_contain_text(NOTICE_6_7)
    # In place of the photo requirements, above the first-meeting photos.
    expect(page.locator("#photo-requirements")).to_have_count(0)
    assert note.bounding_box()["y"] < page.locator('#photos .photo-group[data-group="first"]').bounding_box()["y"]
    note.get_by_role("link", name="填写异常说明").click()
    expect(page).to_have_url(f"/plans/{plan_id}/explain")

    page.goto("/")  # today's card carries the marker too, and so does the check-in page
    expect(page.locator(f"#plan-{plan_id} .confidential-mark")).to_have_text("涉密")
    page.goto(f"/plans/{plan_id}/checkin")
    expect(page.locator(f"#plan-{plan_id} .confidential-mark")).to_have_text("涉密")
