"""Combined audits (R7, manual §2.4) and their meeting photos (R8): one meeting of plans of one
enterprise on one day with a shared team is photographed once. The photo may be attached to
each of the auditor's plans of that audit (one upload, one stored file, a row per plan), and
the same photo in those plans is no duplicate; in another enterprise's plan it still is.

The rule itself is domain.rules.same_audit (pure); the rest goes over HTTP with real SQLite,
the real file store and real JPEGs."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import Image
from sqlalchemy import select

from checkin_pwa.domain.rules import PlanFacts, same_audit
from checkin_pwa.extensions import db
from checkin_pwa.models import Photo

from . import factories as f
from .helpers import csrf_token_from, log_in


UTC = dt.timezone.utc
DAY = dt.datetime(2026, 3, 10, 0, 30, tzinfo=UTC)  # 08:30 in Shanghai


def facts(plan_id=1, enterprise=7, start=DAY, days=1, team=(1, 2), zone="Asia/Shanghai") -> PlanFacts:
    return PlanFacts(plan_id=plan_id, enterprise_id=enterprise, start=start,
                     end=start + dt.timedelta(days=days - 1, hours=8), timezone=zone, mode="onsite",
                     status="valid", team=frozenset(team))


# --- the rule: which plans are one audit ------------------------------------------------------

def test_r7_plans_of_one_enterprise_one_day_and_a_shared_auditor_are_one_audit():
    assert same_audit(facts(1), facts(2, team=(2, 3)))


def test_r7_another_enterprise_is_another_audit():
    assert not same_audit(facts(1), facts(2, enterprise=8))


def test_r7_teams_without_a_common_member_are_two_audits():
    assert not same_audit(facts(1, team=(1, 2)), facts(2, team=(3, 4)))


def test_r7_plans_without_a_common_day_are_two_audits():
    assert not same_audit(facts(1, days=2), facts(2, start=DAY + dt.timedelta(days=2)))


def test_r7_a_day_in_common_is_enough():
    """QMS over three days, EMS on its last day: the EMS meetings are held with the QMS ones."""
    assert same_audit(facts(1, days=3), facts(2, start=DAY + dt.timedelta(days=2)))


def test_r7_days_are_each_plans_own_calendar_days():
    # 23:30 UTC on the 9th is the 10th in Shanghai: the same day as DAY there.
    late = dt.datetime(2026, 3, 9, 23, 30, tzinfo=UTC)
    assert same_audit(facts(1), PlanFacts(2, 7, late, late + dt.timedelta(minutes=20), "Asia/Shanghai",
                                          "onsite", "valid", frozenset({1})))
    assert not same_audit(facts(1), PlanFacts(2, 7, late, late + dt.timedelta(minutes=20), "UTC",
                                              "onsite", "valid", frozenset({1})))


# --- over HTTP ---------------------------------------------------------------------------------

def jpeg(color) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return out.getvalue()


def send(client, plan_id: int, data: bytes, group: str = "first", **fields):
    token = csrf_token_from(client.get(f"/plans/{plan_id}"))
    form = {"csrf_token": token, "group": group, "photo": (io.BytesIO(data), "meeting.jpg", "image/jpeg"), **fields}
    return client.post(f"/plans/{plan_id}/photos", data=form, content_type="multipart/form-data",
                       headers={"X-Checkin-Client": "photos"})


def rows(plan_id: int) -> list[Photo]:
    db.session.expire_all()
    return list(db.session.scalars(select(Photo).where(Photo.plan_id == plan_id).order_by(Photo.id)))


@pytest.fixture
def audit(app):
    """QMS and EMS of one enterprise today (张三 on both), OHSMS of the same enterprise whose
    team is others only, and a plan of another enterprise (张三 on it too)."""
    zhang, li, wang = f.auditor(name="张三"), f.auditor(name="李四"), f.auditor(name="王五")
    company = f.enterprise("吉林省某某股份有限公司")
    plans = {
        "qms": f.plan([zhang, li], company=company, code="ISO9001"),
        "ems": f.plan([li, zhang], company=company, code="ISO14001"),
        "ohsms": f.plan([li, wang], company=company, code="ISO45001"),
        "elsewhere": f.plan([zhang], code="ISO9001"),
    }
    db.session.commit()
    client = app.test_client()
    log_in(client, zhang)
    return client, {name: plan.id for name, plan in plans.items()}


def test_r8_one_meeting_photo_for_the_combined_plans_is_one_file_and_a_row_per_plan(app_context, app, audit):
    client, plans = audit
    store = app.extensions["photo_store"]
    page = client.get(f"/plans/{plans['qms']}").get_data(as_text=True)
    assert "同时用于该企业今日其他审核任务（ISO14001）" in page  # R16: not ISO45001, 张三 is not on it

    response = send(client, plans["qms"], jpeg((10, 20, 30)), together="on")

    assert response.status_code == 201
    assert "同时用于：ISO14001" in response.get_data(as_text=True)
    [mine], [shared] = rows(plans["qms"]), rows(plans["ems"])
    assert rows(plans["ohsms"]) == [] and rows(plans["elsewhere"]) == []
    assert (shared.group, shared.sha256_received) == ("first", mine.sha256_received)
    assert (shared.evidence_key, shared.display_key, shared.thumb_key) == \
        (mine.evidence_key, mine.display_key, mine.thumb_key)
    assert len([key for key, _ in store.keys()]) == 3  # evidence, display copy, thumbnail: once
    assert mine.verdicts["duplicate"]["outcome"] == shared.verdicts["duplicate"]["outcome"] == "ok"
    ems_page = client.get(f"/plans/{plans['ems']}").get_data(as_text=True)
    assert f'id="photo-{shared.id}"' in ems_page and "同时用于：ISO9001" in ems_page
    assert "该照片已用于其他审核计划" not in ems_page
    assert client.get(f"/photos/{shared.id}/thumb").get_data() == store.read(mine.thumb_key)

    # The same again (a retry whose answer was lost): nothing new anywhere.
    assert send(client, plans["qms"], jpeg((10, 20, 30)), together="on").status_code == 201
    assert len(rows(plans["qms"])) == len(rows(plans["ems"])) == 1


def test_r8_unticked_the_photo_stays_with_its_plan_and_other_photos_are_never_shared(app_context, audit):
    client, plans = audit
    send(client, plans["qms"], jpeg((1, 2, 3)))
    send(client, plans["qms"], jpeg((4, 5, 6)), group="other", together="on")
    assert len(rows(plans["qms"])) == 2
    assert rows(plans["ems"]) == []


def test_r8_the_same_photo_in_the_combined_plans_is_no_duplicate_but_in_another_enterprise_it_is(app_context, audit):
    client, plans = audit
    photo = jpeg((200, 30, 30))
    send(client, plans["qms"], photo)
    second = send(client, plans["ems"], photo)  # uploaded on its own, not shared
    assert "该照片已用于其他审核计划" not in second.get_data(as_text=True)
    assert rows(plans["ems"])[0].verdicts["duplicate"]["outcome"] == "ok"

    third = send(client, plans["elsewhere"], photo)
    assert "该照片已用于其他审核计划" in third.get_data(as_text=True)
    (flagged,) = rows(plans["elsewhere"])
    assert sorted(flagged.verdicts["duplicate"]["plan_nos"]) == sorted(
        p.plan_no for p in (rows(plans["qms"])[0].plan, rows(plans["ems"])[0].plan))
    # ...and the combined plans' photo is now flagged for that other enterprise only.
    qms_page = client.get(f"/plans/{plans['qms']}").get_data(as_text=True)
    assert "该照片已用于其他审核计划" in qms_page
    assert rows(plans["qms"])[0].verdicts["duplicate"]["plan_nos"] == [flagged.plan.plan_no]


def test_r8_a_combined_plan_whose_group_is_full_is_skipped_and_the_others_get_the_photo(app_context, audit):
    client, plans = audit
    for i in range(3):
        assert send(client, plans["ems"], jpeg((i * 60, 0, 0))).status_code == 201
    response = send(client, plans["qms"], jpeg((0, 0, 250)), together="on")
    assert response.status_code == 201
    answer = response.get_data(as_text=True)
    assert "同时用于：" not in answer
    assert "未用于 ISO14001：首次会议照片最多 3 张，请先删除一张再添加。" in answer
    assert len(rows(plans["qms"])) == 1 and len(rows(plans["ems"])) == 3


def test_r8_a_combined_plan_holding_the_photo_as_its_other_meeting_keeps_it_there(app_context, audit):
    client, plans = audit
    photo = jpeg((90, 90, 0))
    send(client, plans["ems"], photo, group="last")
    response = send(client, plans["qms"], photo, together="on")
    assert "未用于 ISO14001：" in response.get_data(as_text=True)
    assert [row.group for row in rows(plans["ems"])] == ["last"]
