"""The body's plans on the management end (R16, R18, R19): the list's filters each narrow it,
its pages, the CSV export (logged; reads are not), the plan page with the team's check-in
state, photos and explanations; another body's plan and photo are 404, for every role."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from PIL import Image
from sqlalchemy import select

from checkin_pwa.extensions import db
from checkin_pwa.models import AuditLogEntry, AuditPlan, Auditor, CheckEvent, Enterprise, Explanation, Photo

from .. import factories
from ..factories import local_today
from ..helpers import csrf_token_from, phone_of
from .conftest import logged_in

NOT_FOUND = "未找到该页面，或您无权查看。"
EMS = ("管理体系认证", "环境管理体系认证", "ISO14001")


def shown(response) -> list[int]:
    """The plan ids of the list's rows, in order."""
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    return [int(found) for found in re.findall(r'data-plan="(\d+)"', response.get_data(as_text=True))]


def staff_of(agency_row=None, role="readonly", **kwargs):
    person = factories.staff(agency_row, role=role, **kwargs)
    db.session.commit()
    return person


def other_body():
    return factories.agency(code="CNCA-R-2099-002", name="外省某认证有限公司")


def other_body_plan(enterprise_name="大连外机构公司"):
    """A plan of another body, its team that body's auditor; on every filter's side."""
    body = other_body()
    person = factories.auditor(name="张外机构")
    person.agency_id = body.id
    company = Enterprise(agency_id=body.id, name=enterprise_name)
    db.session.add(company)
    db.session.flush()
    plan = factories.plan([person], company=company, start=local_today(-10), end=local_today(-9, 17, 0))
    plan.agency_id = body.id
    db.session.add(CheckEvent(plan_id=plan.id, kind="in", signer_id=person.id, device_lat=41.1, device_lon=126.1,
                              chosen_lat=41.1, chosen_lon=126.1))
    db.session.flush()
    return plan


def check_in(plan, person, *, offline=False, counts=True, minutes_after_start=10):
    at = plan.start_utc + dt.timedelta(minutes=minutes_after_start)
    event = CheckEvent(plan_id=plan.id, kind="in", signer_id=person.id, device_lat=41.1256, device_lon=126.1865,
                       chosen_lat=41.1256, chosen_lon=126.1865, server_time=at, queued_offline=offline,
                       counts_for_team=counts, nearest_site_id=plan.sites[0].id, nearest_site_distance_m=3.0)
    if offline:
        event.device_time = at - dt.timedelta(minutes=40)
        event.device_time_sent = at
        event.flags = [{"code": "offline_sent_later", "action_time": f"{at - dt.timedelta(minutes=40):%Y-%m-%dT%H:%M:%SZ}",
                        "receipt_time": f"{at:%Y-%m-%dT%H:%M:%SZ}"}]
    db.session.add(event)
    db.session.flush()
    return event


@pytest.fixture
def plans(app):
    """Four plans of the body, each alone on one side of each filter, and one of another body."""
    zhang, li, wang = (factories.auditor(name=name) for name in ("张一", "李二", "王三"))
    ended = factories.plan([zhang], company=factories.enterprise("大连甲机械有限公司"),
                           start=local_today(-10), end=local_today(-9, 17, 0))
    under_way = factories.plan([li, wang], company=factories.enterprise("吉林乙化工有限公司"), mode="combined",
                               code="ISO14001", levels=EMS, start=local_today(-1), end=local_today(1, 17, 0))
    coming = factories.plan([wang], company=factories.enterprise("吉林丙食品有限公司"), mode="remote",
                            start=local_today(10), end=local_today(11, 17, 0))
    cancelled = factories.plan([wang], company=factories.enterprise("吉林丁纺织有限公司"), status="cancelled",
                               start=local_today(5), end=local_today(6, 17, 0))
    check_in(ended, zhang)
    foreign = other_body_plan()
    db.session.commit()
    return {"ended": ended.id, "under_way": under_way.id, "coming": coming.id, "cancelled": cancelled.id,
            "foreign": foreign.id, "zhang": zhang, "li": li}


@pytest.fixture
def reader(app, plans):
    return logged_in(app, staff_of(role="readonly"))


def test_r18_each_filter_of_the_plan_list_narrows_it_to_the_bodys_own_plans(app_context, reader, plans):
    p = plans
    everything = shown(reader.get("/admin/plans"))
    # By start, latest first; another body's plan never.
    assert everything == [p["coming"], p["cancelled"], p["under_way"], p["ended"]]
    assert shown(reader.get("/admin/plans?sort=start")) == everything[::-1]
    made_in_order = [p["ended"], p["under_way"], p["coming"], p["cancelled"]]  # plan numbers ascending
    assert shown(reader.get("/admin/plans?sort=plan_no")) == made_in_order
    assert shown(reader.get("/admin/plans?sort=-plan_no")) == made_in_order[::-1]
    # The audit time's column heading orders the other way, keeping the filters.
    page = reader.get("/admin/plans?mode=onsite").get_data(as_text=True)
    assert 'aria-sort="descending"' in page and "/admin/plans?mode=onsite&amp;sort=start" in page
    assert shown(reader.get("/admin/plans", query_string={"enterprise": "大连"})) == [p["ended"]]
    assert shown(reader.get("/admin/plans", query_string={"enterprise": "吉林"})) == [p["coming"], p["cancelled"], p["under_way"]]
    assert shown(reader.get("/admin/plans", query_string={"auditor": "张一"})) == [p["ended"]]
    assert shown(reader.get("/admin/plans", query_string={"auditor": p["li"].phone[-6:]})) == [p["under_way"]]
    assert shown(reader.get("/admin/plans?phase=not_started")) == [p["coming"]]
    assert shown(reader.get("/admin/plans?phase=under_way")) == [p["under_way"]]
    assert shown(reader.get("/admin/plans?phase=ended")) == [p["ended"]]
    assert shown(reader.get("/admin/plans?phase=cancelled")) == [p["cancelled"]]
    assert shown(reader.get("/admin/plans?checked=yes")) == [p["ended"]]
    assert shown(reader.get("/admin/plans?checked=no")) == [p["coming"], p["cancelled"], p["under_way"]]
    assert shown(reader.get("/admin/plans?mode=remote")) == [p["coming"]]
    assert shown(reader.get("/admin/plans?mode=combined")) == [p["under_way"]]
    today = local_today().date()
    assert shown(reader.get("/admin/plans", query_string={"from": str(today), "to": str(today)})) == [p["under_way"]]
    assert shown(reader.get("/admin/plans", query_string={"to": str(today - dt.timedelta(days=9))})) == [p["ended"]]
    assert shown(reader.get("/admin/plans", query_string={"l1": EMS[0], "l2": EMS[1]})) == [p["under_way"]]
    assert shown(reader.get("/admin/plans", query_string={"l1": EMS[0], "l2": "质量管理体系认证", "l3": "ISO9001"})) == [
        p["coming"], p["cancelled"], p["ended"]]
    # Filters combine, and the count on top says how many.
    answer = reader.get("/admin/plans", query_string={"enterprise": "吉林", "auditor": "王三", "phase": "not_started"})
    assert shown(answer) == [p["coming"]]
    assert "共 1 个计划" in answer.get_data(as_text=True)


def test_r18_a_filter_value_that_is_not_understood_is_refused_and_filters_nothing(app_context, reader, plans):
    for query in ({"phase": "finished"}, {"mode": "underwater"}, {"from": "2026-13-01"}, {"l2": "质量管理体系认证"}):
        answer = reader.get("/admin/plans", query_string=query)
        assert answer.status_code == 400, query
        assert 'data-plan="' not in answer.get_data(as_text=True)
        assert 'role="alert"' in answer.get_data(as_text=True)
    # Odd text and numbers are read as far as they make sense, never a server error.
    assert shown(reader.get("/admin/plans", query_string={"enterprise": "大\x00连", "auditor": "%_\\"})) == []
    assert shown(reader.get("/admin/plans", query_string={"enterprise": "\x00大连\t", "page": "9" * 30,
                                                           "sort": "<script>"})) == [plans["ended"]]
    text = reader.get("/admin/plans?phase=finished").get_data(as_text=True)
    assert "“finished”不是可选的值" in text


def test_r18_the_plan_list_is_paginated_on_the_server_with_the_filters_kept(app_context, app):
    person = factories.auditor(name="赵多")
    company = factories.enterprise("通化多计划有限公司")
    made = [factories.plan([person], company=company, start=local_today(-day), end=local_today(-day, 17, 0)).id
            for day in range(45)]
    factories.plan([person], start=local_today(-2), end=local_today(-2, 17, 0))  # another enterprise
    db.session.commit()
    reader = logged_in(app, staff_of())
    first = reader.get("/admin/plans?enterprise=多计划")
    assert shown(first) == made[:20]
    text = first.get_data(as_text=True)
    assert "共 45 个计划" in text and "第 1 / 3 页" in text
    assert "/admin/plans?page=2&amp;enterprise=" in text  # the next page keeps the filter
    assert shown(reader.get("/admin/plans?enterprise=多计划&page=3")) == made[40:]
    # Past the last page: the last one, said so.
    beyond = reader.get("/admin/plans?enterprise=多计划&page=99")
    assert shown(beyond) == made[40:] and "没有该页" in beyond.get_data(as_text=True)
    # htmx gets only the list, and the URL to push holds the question.
    partial = reader.get("/admin/plans?enterprise=多计划&page=2", headers={"HX-Request": "true"})
    assert shown(partial) == made[20:40]
    assert "<html" not in partial.get_data(as_text=True)
    assert "page=2" in partial.headers["HX-Push-Url"] and "enterprise=" in partial.headers["HX-Push-Url"]


def test_r18_the_plan_page_shows_the_plan_as_imported_and_each_members_check_in(app_context, app, plans):
    zhang, li = plans["zhang"], plans["li"]
    plan = db.session.get(AuditPlan, plans["under_way"])
    plan.confidential = True
    plan.remarks = "审核方式: 现场+远程\n请带安全帽"
    plan.sites[0].address = "吉林省集安市工业园区8号"
    check_in(plan, li, minutes_after_start=5)
    wang_id = plan.team[1].auditor_id
    check_in(plan, db.session.get(Auditor, wang_id), offline=True, counts=False, minutes_after_start=50)
    db.session.add(Explanation(plan_id=plan.id, author_id=li.id, text="企业停电，推迟签到"))
    db.session.commit()
    reader = logged_in(app, staff_of())
    page = reader.get(f"/admin/plans/{plan.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for value in (plan.plan_no, "吉林乙化工有限公司", "ISO14001", "环境管理体系认证", "11721Q0123R1M", "监督审核",
                  "吉林省通化市", "现场+远程", "请带安全帽", "吉林省集安市工业园区8号", "41.125600, 126.186500",
                  "Asia/Shanghai", "企业停电，推迟签到", "进行中"):
        assert value in text, value
    start = local_today(-1, 8, 30).strftime("%Y-%m-%d %H:%M")
    assert start in text  # on the plan's clock
    # Each member's own check-in: the leader's counts; the other's came later from offline.
    li_row = re.search(rf'<tr data-member="{li.id}">(.*?)</tr>', text, re.S).group(1)
    assert "08:35:00（服务器时间）" in li_row
    wang_row = re.search(rf'<tr data-member="{wang_id}">(.*?)</tr>', text, re.S).group(1)
    assert "离线" in wang_row and "09:20:00（服务器时间）" in wang_row
    assert "作为本人证据保存" in wang_row
    # Plans this body does not have, and the other body's: the same 404.
    for plan_id in (plans["foreign"], 999999):
        answer = reader.get(f"/admin/plans/{plan_id}")
        assert answer.status_code == 404 and NOT_FOUND in answer.get_data(as_text=True)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def upload_photo(app, person, plan_id) -> Photo:
    phone = phone_of(app, person)
    token = csrf_token_from(phone.get(f"/plans/{plan_id}"))
    answer = phone.post(f"/plans/{plan_id}/photos", content_type="multipart/form-data",
                        headers={"X-Checkin-Client": "photos"},
                        data={"csrf_token": token, "group": "first", "photo": (io.BytesIO(jpeg()), "a.jpg")})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return db.session.scalars(select(Photo).where(Photo.plan_id == plan_id)).one()


def test_r16_staff_see_their_bodys_photos_and_another_bodys_are_not_found(app_context, app, plans):
    own = upload_photo(app, plans["li"], plans["under_way"])
    foreign_plan = db.session.get(AuditPlan, plans["foreign"])
    foreign = upload_photo(app, foreign_plan.team[0].auditor, foreign_plan.id)
    reader = logged_in(app, staff_of())
    page = reader.get(f"/admin/plans/{plans['under_way']}").get_data(as_text=True)
    assert f"/admin/photos/{own.id}/thumb" in page
    for kind in ("thumb", "display"):
        answer = reader.get(f"/admin/photos/{own.id}/{kind}")
        assert answer.status_code == 200 and answer.mimetype == "image/jpeg"
        assert Image.open(io.BytesIO(answer.data)).format == "JPEG"
        missing = reader.get(f"/admin/photos/{foreign.id}/{kind}")
        assert missing.status_code == 404 and NOT_FOUND in missing.get_data(as_text=True)
    # The other body's staff see theirs, and not ours.
    their_staff = logged_in(app, staff_of(other_body(), phone="13900000999"))
    assert their_staff.get(f"/admin/photos/{foreign.id}/thumb").status_code == 200
    assert their_staff.get(f"/admin/photos/{own.id}/thumb").status_code == 404
    assert their_staff.get(f"/admin/plans/{plans['under_way']}").status_code == 404
    assert shown(their_staff.get("/admin/plans")) == [plans["foreign"]]
    # A deleted photo is gone for staff too.
    own.deleted_at = own.uploaded_at
    db.session.commit()
    assert reader.get(f"/admin/photos/{own.id}/thumb").status_code == 404


def test_r18_reads_are_not_logged_and_the_csv_export_of_the_filtered_list_is(app_context, app, plans):
    person = staff_of(role="readonly", name="钱只读")
    reader = logged_in(app, person)
    before = db.session.scalar(select(db.func.count()).select_from(AuditLogEntry))
    assert reader.get("/admin/plans?enterprise=吉林").status_code == 200
    assert reader.get(f"/admin/plans/{plans['ended']}").status_code == 200
    assert db.session.scalar(select(db.func.count()).select_from(AuditLogEntry)) == before
    # The list links its export with the same filters.
    assert "/admin/plans.csv?enterprise=" in reader.get("/admin/plans?enterprise=吉林").get_data(as_text=True)
    answer = reader.get("/admin/plans.csv", query_string={"enterprise": "吉林", "phase": "not_started"})
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(answer.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["计划编号", "受审核企业", "认证项目"]
    assert [row[1] for row in rows[1:]] == ["吉林丙食品有限公司"]
    assert rows[1][10] == "远程审核" and rows[1][12] == "未开始"
    db.session.expire_all()
    entry = db.session.scalars(select(AuditLogEntry).where(AuditLogEntry.action == "plans_exported")).one()
    assert entry.staff_id == person.id and entry.after["plans"] == 1
    assert entry.after["filters"] == {"enterprise": "吉林", "phase": "not_started"}


def test_search_text_drops_what_a_database_refuses_and_keeps_the_words():
    from checkin_pwa.domain.filters import search_text

    assert search_text("  大连\x00甲\t机械 \u200b", 100) == "大连 甲 机械"
    assert search_text(None, 10) == "" and search_text("张" * 300, 100) == "张" * 100


def test_r18_the_plan_list_and_page_speak_english_too(app_context, reader, plans):
    reader.get("/lang/en")
    text = reader.get("/admin/plans").get_data(as_text=True)
    for words in ("4 plans", "Under way", "Not started", "Cancelled", "Ended", "Export as CSV", "Start, latest first"):
        assert words in text, words
    page = reader.get(f"/admin/plans/{plans['ended']}").get_data(as_text=True)
    assert "(server time)" in page and "Time zone: Asia/Shanghai (UTC+08:00)" in page
    assert "服务器" not in page and "审核计划" not in page


def test_r18_changing_a_project_level_resets_the_levels_below_it(app_context, reader, plans):
    """The auditors' cascade: the level just changed (htmx names it) drops the ones below,
    whose options changed; the list and the URL follow, the selects come back out of band."""
    answer = reader.get("/admin/plans", query_string={"l1": EMS[0], "l2": "质量管理体系认证", "l3": "ISO9001"},
                        headers={"HX-Request": "true", "HX-Trigger-Name": "l1"})
    assert shown(answer) == [plans["coming"], plans["cancelled"], plans["under_way"], plans["ended"]]
    assert "l2=" not in answer.headers["HX-Push-Url"] and "l1=" in answer.headers["HX-Push-Url"]
    text = answer.get_data(as_text=True)
    assert 'id="project-selects" class="project-selects" hx-swap-oob="true"' in text
    assert 'hx-include="#plan-filters"' in text and 'hx-target="#plan-list"' in text
    assert "环境管理体系认证" in text and "质量管理体系认证" in text  # level 2's options under level 1
