"""A combined audit's meeting photographed once (R7, R8) on the phone: the photo chosen on
one plan with "同时用于该企业今日其他审核任务" ticked goes up once, is stored once, and shows on
each of the auditor's plans of that audit without a duplicate flag; the same photo in another
enterprise's plan is still flagged."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from checkin_pwa.extensions import db
from checkin_pwa.models import Photo

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser

PHOTO = Path(__file__).resolve().parents[3] / "shared/fixtures/photos/DSCN0010.jpg"
DUPLICATE = "该照片已用于其他审核计划"


def first_group(page):
    return page.locator('#photos .photo-group[data-group="first"]')


def rows(data, plan_id: int) -> list[dict]:
    with data:
        return [{"id": p.id, "keys": (p.evidence_key, p.display_key, p.thumb_key), "sha": p.sha256_received}
                for p in db.session.scalars(select(Photo).where(Photo.plan_id == plan_id).order_by(Photo.id))]


def test_r8_one_meeting_photo_serves_both_combined_plans_and_is_flagged_only_in_another_enterprise(
        page, data, arrivals):
    with data as f:
        me, colleague = f.auditor(name="张三"), f.auditor(name="李四")
        company = f.enterprise("吉林省某某股份有限公司")
        qms = f.plan([me, colleague], company=company, code="ISO9001").id
        ems = f.plan([colleague, me], company=company, code="ISO14001").id
        theirs = f.plan([colleague], company=company, code="ISO45001").id  # R16: not 张三's
        elsewhere = f.plan([me], code="ISO9001").id  # another enterprise
        phone = me.phone
    page.set_viewport_size({"width": 390, "height": 664})
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    page.goto(f"/plans/{qms}")
    expect(page.locator("#photos input[data-photo-album]")).to_have_count(3)

    first_group(page).get_by_label("同时用于该企业今日其他审核任务（ISO14001）").check()
    first_group(page).locator("input[data-photo-input][capture]").set_input_files(PHOTO)
    tile = first_group(page).locator(".photo-tile[data-photo-id]")
    expect(tile).to_have_count(1, timeout=20_000)
    expect(tile.locator(".photo-shared")).to_have_text("同时用于：ISO14001")
    expect(tile.locator('[data-check="duplicate"]')).to_have_count(0)

    assert arrivals.count(f"/plans/{qms}/photos") == 1  # one upload
    (mine,), (shared,) = rows(data, qms), rows(data, ems)
    assert shared["keys"] == mine["keys"] and shared["sha"] == mine["sha"]  # one stored file
    assert rows(data, theirs) == []
    with data:
        assert len(list(data.app.extensions["photo_store"].keys())) == 3  # evidence, display, thumb

    page.goto(f"/plans/{ems}")
    tile = first_group(page).locator(f"#photo-{shared['id']}")
    expect(tile).to_be_visible()
    expect(tile.locator("img")).to_have_js_property("complete", True)
    assert tile.locator("img").evaluate("img => img.naturalWidth") > 0
    expect(tile.locator(".photo-shared")).to_have_text("同时用于：ISO9001")
    expect(tile.locator('[data-check="duplicate"]')).to_have_count(0)
    expect(page.locator("#photos")).not_to_contain_text(DUPLICATE)

    page.goto(f"/plans/{elsewhere}")
    expect(page.locator("#photos input[data-photo-album]")).to_have_count(3)
    expect(first_group(page).locator("input[data-photo-together]")).to_have_count(0)  # no combined plans here
    first_group(page).locator("input[data-photo-input][capture]").set_input_files(PHOTO)
    tile = first_group(page).locator(".photo-tile[data-photo-id]")
    expect(tile).to_have_count(1, timeout=20_000)
    expect(tile.locator('[data-check="duplicate"]')).to_have_text(DUPLICATE)
