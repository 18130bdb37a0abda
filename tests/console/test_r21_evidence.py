"""The evidence review of one plan for the body's staff (R21): a real-looking audit reads
可信 with its corroborating facts; a suspicious one (far from the site, an offline check-in
from a phone clock hours off, a meeting photo from another day, the same photo bytes in
another plan) reads 存疑 with every reason, most serious first, each with its numbers; the
page's facts cost a fixed number of SQL statements; another body's plan is a 404 (R16)."""
from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from sqlalchemy import event as sa_event, select

from checkin_pwa.domain import clock, geo
from checkin_pwa.extensions import db
from checkin_pwa.models import AuditPlan, CheckEvent, Explanation, Photo
from checkin_pwa.services import evidence_review

from .. import factories
from ..factories import SHANGHAI, local_today
from ..helpers import csrf_token_from, phone_of
from ..test_photos_server import exif_at, jpeg
from .test_plans import NOT_FOUND, logged_in, other_body, other_body_plan, staff_of

pytestmark = pytest.mark.usefixtures("app_context")

FAR = (41.9000, 126.9000)  # about 100 km from factories.SITE


def utc(moment: dt.datetime) -> dt.datetime:
    return factories.to_utc(moment)


def sign(plan, person, kind, at_local, point=factories.SITE, *, accuracy=15.0, skew_s=2.0, offline_minutes=None,
         counts=True):
    """A check event as services.checkin records it: online, or done `offline_minutes`
    before it reached the server, by a phone whose clock is `skew_s` off."""
    receipt = utc(at_local)
    site = plan.sites[0]
    distance = geo.distance_m(geo.Point(*point), geo.Point(site.lat, site.lon))
    event = CheckEvent(plan_id=plan.id, kind=kind, signer_id=person.id, server_time=receipt,
                       device_time=receipt + dt.timedelta(seconds=skew_s),
                       device_time_sent=receipt + dt.timedelta(seconds=skew_s), clock_skew_s=skew_s,
                       device_lat=point[0], device_lon=point[1], device_accuracy_m=accuracy,
                       device_position_time=receipt, chosen_lat=point[0], chosen_lon=point[1], pin_offset_m=0.0,
                       nearest_site_id=site.id, nearest_site_distance_m=distance, flags=[],
                       counts_for_team=counts)
    if offline_minutes:
        acted = receipt - dt.timedelta(minutes=offline_minutes)
        event.queued_offline = True
        event.device_time = acted + dt.timedelta(seconds=skew_s)
        event.flags = [{"code": "offline_sent_later", "action_time": f"{acted:%Y-%m-%dT%H:%M:%SZ}",
                        "receipt_time": f"{receipt:%Y-%m-%dT%H:%M:%SZ}"}]
    db.session.add(event)
    db.session.commit()
    return event


def upload(app, person, plan_id, group, data) -> Photo:
    phone = phone_of(app, person)
    token = csrf_token_from(phone.get(f"/plans/{plan_id}"))
    answer = phone.post(f"/plans/{plan_id}/photos", content_type="multipart/form-data",
                        headers={"X-Checkin-Client": "photos"},
                        data={"csrf_token": token, "group": group, "photo": (io.BytesIO(data), "p.jpg")})
    assert answer.status_code == 201, answer.get_data(as_text=True)
    return db.session.scalars(select(Photo).where(Photo.plan_id == plan_id).order_by(Photo.id.desc())).first()


def ended_plan(person, company=None):
    return factories.plan([person], company=company, start=local_today(-3, 8, 30), end=local_today(-2, 17, 0))


@pytest.fixture
def real_looking(app):
    """A team on site at both meetings, online, with meeting photos whose EXIF agrees."""
    person = factories.auditor(name="赵真")
    plan = ended_plan(person)
    db.session.commit()
    start, end = local_today(-3, 8, 35), local_today(-2, 16, 30)
    sign(plan, person, "in", start, (41.1258, 126.1867))
    sign(plan, person, "out", end, (41.1257, 126.1866))
    for group, at, color in (("first", start, (10, 120, 40)), ("last", end, (40, 10, 120))):
        taken = at.astimezone(SHANGHAI).replace(tzinfo=None) + dt.timedelta(minutes=5)
        upload(app, person, plan.id, group, jpeg(color, exif=exif_at(taken, lat_lon=(41.1259, 126.1866))))
    return plan.id


@pytest.fixture
def suspicious(app):
    return suspicious_plan(app)


def suspicious_plan(app) -> dict:
    """Far from the site, checked in offline from a phone clock three hours off, a meeting
    photo taken two days earlier, and a last-meeting photo whose bytes another plan holds."""
    person, other = factories.auditor(name="钱疑"), factories.auditor(name="孙他")
    plan = ended_plan(person)
    elsewhere = factories.plan([other], start=local_today(-20), end=local_today(-19, 17, 0))
    db.session.commit()
    start, end = local_today(-3, 8, 40), local_today(-2, 16, 30)
    sign(plan, person, "in", start, FAR, accuracy=30.0, skew_s=3 * 3600.0, offline_minutes=20)
    sign(plan, person, "out", end)
    two_days_before = start.astimezone(SHANGHAI).replace(tzinfo=None) - dt.timedelta(days=2)
    upload(app, person, plan.id, "first", jpeg((200, 200, 10), exif=exif_at(two_days_before)))
    copied = jpeg((5, 5, 250))
    upload(app, other, elsewhere.id, "other", copied)
    upload(app, person, plan.id, "last", copied)
    db.session.add(Explanation(plan_id=plan.id, author_id=person.id, text="厂区在外地分厂，已报备。",
                               created_at=utc(local_today(-1, 9, 0))))
    db.session.commit()
    return {"plan": plan.id, "elsewhere": elsewhere.id, "elsewhere_no": elsewhere.plan_no}


def summary_of(page: str) -> tuple[str, list[str]]:
    level = re.search(r'class="evidence-level" data-level="(\w+)"><strong>([^<]+)</strong>', page)
    codes = re.findall(r'<li class="reason reason-\w+" data-code="(\w+)"', page)
    return level.group(2), codes


def reason(page: str, code: str) -> str:
    found = re.search(rf'data-code="{code}"[^>]*>\s*<span class="reason-level">[^<]*</span>([^<]*)</li>', page)
    return found.group(1).strip()


def test_r21_a_real_looking_audit_reads_credible_with_what_corroborates_it(app, real_looking):
    reader = logged_in(app, staff_of(role="readonly"))
    # The plan page leads to the review.
    assert f'/admin/plans/{real_looking}/evidence"' in reader.get(f"/admin/plans/{real_looking}").get_data(as_text=True)
    answer = reader.get(f"/admin/plans/{real_looking}/evidence")
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    level, codes = summary_of(page)
    assert level == "可信"
    assert codes == ["on_site", "on_site", "photos_time_ok", "photos_place_ok"]
    assert reason(page, "on_site").startswith("签到位置距最近的计划审核地址 0.03 公里（定位精度 15 米）")
    assert reason(page, "photos_time_ok") == "拍摄时间与对应会议一致的照片：2 张。"
    # The photos large (the display copy) with the badges the team sees, from the staff route.
    assert page.count('class="evidence-photo"') == 2
    assert re.search(r'<img src="/admin/photos/\d+/display"', page)
    assert ">时间与签到一致<" in page and ">时间与签退一致<" in page
    # The timeline: online events with their server time, device time and skew.
    assert page.count('data-timeline="event"') == 2 and "离线记录，稍后送达" not in page
    assert "+0 分钟" in page


def test_r21_a_suspicious_audit_reads_doubtful_with_its_reasons_ranked(app, suspicious):
    reader = logged_in(app, staff_of(role="readonly"))
    page = reader.get(f"/admin/plans/{suspicious['plan']}/evidence").get_data(as_text=True)
    level, codes = summary_of(page)
    assert level == "存疑"
    # Most serious first: the doubtful reasons, then what to verify, then notes, then what corroborates.
    assert codes[:4] == ["far_from_site", "duplicate_photo", "photo_other_day", "skew_offline"]
    assert codes.index("clock_skew" if "clock_skew" in codes else "sent_later") > 3
    assert codes[-1] in ("on_site", "photos_place_ok", "explained")
    assert re.match(r"签到位置距最近的计划审核地址 104\.7 公里（超过 50 公里，已不在同一地区）。", reason(page, "far_from_site"))
    assert reason(page, "duplicate_photo") == "与其他审核计划中的照片字节完全相同的照片：1 张（涉及 1 个其他计划）。"
    assert re.match(r"拍摄时间与对应会议相隔一天以上的照片：1 张（最多相差 50\.7 小时；", reason(page, "photo_other_day"))
    assert reason(page, "skew_offline").startswith("签到为离线操作，手机时钟与服务器相差 180 分钟（超过 1 小时）")
    assert reason(page, "explained") == "审核组已填写说明：1 条。"
    # The same bytes: the body's own other plan by number, linked to its review.
    assert f'<a href="/admin/plans/{suspicious["elsewhere"]}/evidence">{suspicious["elsewhere_no"]}</a>' in page
    assert "该照片已用于其他审核计划" in page and "拍摄时间与签到相差 2 天" in page
    # Places in text: the distance and the accuracy of the signed point.
    assert re.search(r"104\.\d+ 公里：吉林省集安市工业园区1号", page) and "30 米" in page
    # The timeline: the offline check-in with its provenance and the phone's skew, and the explanation.
    row = re.search(r'<tr data-timeline="event" data-kind="in">(.*?)</tr>', page, re.S).group(1)
    assert "离线记录，稍后送达" in row and "+180 分钟" in row and 'class="flagged"' in row
    assert 'data-timeline="explanation"' in page and "厂区在外地分厂，已报备。" in page


def test_r21_the_review_costs_the_same_statements_however_many_photos_and_events(app, suspicious):
    statements = []

    def count(*args):
        statements.append(1)

    def cost(plan_id: int) -> int:
        db.session.expire_all()
        plan = db.session.get(AuditPlan, plan_id)
        statements.clear()
        sa_event.listen(db.engine, "before_cursor_execute", count)
        try:
            evidence_review.review(plan, clock.now())
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    before = cost(suspicious["plan"])
    plan = db.session.get(AuditPlan, suspicious["plan"])
    person = plan.team[0].auditor
    member = factories.auditor(name="李增")
    plan.team.append(factories.TeamMember(auditor_id=member.id, role="member", position=1))
    db.session.commit()
    sign(plan, member, "in", local_today(-3, 9, 50), offline_minutes=5, counts=False)
    for i in range(3):
        upload(app, person, plan.id, "other", jpeg((i * 60, 90, 9)))
    third = factories.plan([factories.auditor()], start=local_today(-30), end=local_today(-29, 17, 0))
    db.session.commit()
    shared = jpeg((77, 7, 177))
    upload(app, third.team[0].auditor, third.id, "other", shared)
    upload(app, person, plan.id, "other", shared)
    for text in ("说明一", "说明二"):
        db.session.add(Explanation(plan_id=plan.id, author_id=person.id, text=text))
    db.session.commit()
    assert cost(suspicious["plan"]) == before


@pytest.mark.parametrize("role", ["readonly", "manager", "admin"])
def test_r16_another_bodys_plan_has_no_evidence_review(app, role, real_looking):
    foreign = other_body_plan()
    db.session.commit()
    ours = logged_in(app, staff_of(role=role))
    assert ours.get(f"/admin/plans/{real_looking}/evidence").status_code == 200
    for plan_id in (foreign.id, 999999):
        answer = ours.get(f"/admin/plans/{plan_id}/evidence")
        assert answer.status_code == 404 and NOT_FOUND in answer.get_data(as_text=True)
    theirs = logged_in(app, staff_of(other_body(), role=role, phone="13900009999"), offset_steps=1)
    assert theirs.get(f"/admin/plans/{foreign.id}/evidence").status_code == 200
    assert theirs.get(f"/admin/plans/{real_looking}/evidence").status_code == 404


def test_r21_the_review_reads_in_english_too(app, suspicious):
    reader = logged_in(app, staff_of(role="manager"))
    reader.get("/lang/en")
    page = reader.get(f"/admin/plans/{suspicious['plan']}/evidence").get_data(as_text=True)
    level, codes = summary_of(page)
    assert level == "Doubtful" and codes[0] == "far_from_site"
    assert re.match(r"Check-in point 104\.7 km from the nearest planned address \(more than 50 km: another area\)\.$",
                    reason(page, "far_from_site"))
    assert "Offline record, delivered later" in page and "证据" not in page


def test_r21_a_cross_audit_anomaly_of_the_team_makes_the_review_doubtful_and_is_listed(app):
    """The record of plan B alone looks real (signed on its own site), but its auditor signed
    plan A in another province half an hour before: impossible travel, listed with its
    numbers, and the summary says so first."""
    person = factories.auditor(name="周两地")
    dalian = (38.9140, 121.6147)  # about 460 km from factories.SITE
    a = ended_plan(person)
    b = factories.plan([person], company=factories.enterprise("大连某某制造有限公司"), sites=(dalian,),
                       start=local_today(-3, 8, 30), end=local_today(-2, 17, 0))
    db.session.commit()
    sign(a, person, "in", local_today(-3, 9, 0))
    sign(b, person, "in", local_today(-3, 9, 30), dalian)
    sign(b, person, "out", local_today(-2, 16, 30), dalian)
    reader = logged_in(app, staff_of(role="readonly"))
    page = reader.get(f"/admin/plans/{b.id}/evidence").get_data(as_text=True)
    level, codes = summary_of(page)
    assert level == "存疑" and codes[0] == "cross_audit"
    assert reason(page, "cross_audit").startswith("跨审核异常：")
    row = re.search(r'<li data-kind="travel">(.*?)</li>', page, re.S).group(1)
    assert "周两地" in row and f'<a href="/admin/plans/{a.id}/evidence">{a.plan_no}</a>' in row
    assert "km/h" in row or "公里/小时" in row


def test_r21_plans_without_a_record_or_a_located_site_have_a_review_too(app):
    """A plan not started, a remote one, and one whose site could not be located (its
    check-in has no distance): each reads, saying why in words."""
    person = factories.auditor(name="吴无址")
    coming = factories.plan([person], start=local_today(5), end=local_today(6, 17, 0))
    remote = factories.plan([person], mode="remote", start=local_today(-3), end=local_today(-2, 17, 0))
    nowhere = factories.plan([person], sites=(None,), start=local_today(-3), end=local_today(-2, 17, 0))
    db.session.add(CheckEvent(plan_id=nowhere.id, kind="in", signer_id=person.id, server_time=nowhere.start_utc,
                              device_lat=41.1, device_lon=126.1, chosen_lat=41.1, chosen_lon=126.1,
                              site_not_located=True, flags=[{"code": "site_not_located"}]))
    db.session.commit()
    reader = logged_in(app, staff_of(role="readonly"))
    expected = {coming.id: ("可信", ["not_checked_in_yet"]), remote.id: ("可信", ["no_check_in_needed"]),
                nowhere.id: ("需核实", ["site_not_located", "no_check_out", "photos_missing"])}
    for plan_id, (level, first_codes) in expected.items():
        page = reader.get(f"/admin/plans/{plan_id}/evidence").get_data(as_text=True)
        assert summary_of(page)[0] == level
        assert sorted(summary_of(page)[1]) == sorted(first_codes)
    page = reader.get(f"/admin/plans/{nowhere.id}/evidence").get_data(as_text=True)
    assert reason(page, "site_not_located") == "签到：审核计划上报的审核地址无法在地图上定位。"
    assert "服务器尚未收到任何记录。" in reader.get(f"/admin/plans/{coming.id}/evidence").get_data(as_text=True)
