"""Cross-audit anomalies on the console (R21): the body's list with each row's auditor,
numbers and plans, filters by kind and date, pages, R16 (another body's records never
appear), a fixed number of SQL statements whatever the number of anomalies, the evidence
review's anomalies_for_plan, and "sent later" judged against when the phone's session was
seen online (the session's own requests, not the outbox's)."""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest
from sqlalchemy import event, func, select

from checkin_pwa.domain.geo import Point, destination
from checkin_pwa.extensions import db
from checkin_pwa.models import CheckEvent, Enterprise, OnlineStretch, Photo
from checkin_pwa.services import anomalies as service

from .. import factories
from ..factories import SITE, local_today, to_utc
from ..helpers import log_in
from .test_plans import logged_in, other_body, staff_of

pytestmark = pytest.mark.usefixtures("app_context")

JILIN = Point(*SITE)


def east(km: float) -> Point:
    return destination(JILIN, 90.0, km * 1000)


def sign(plan, person, at: dt.datetime, point: Point, kind="in", accuracy=20.0, **extra):
    row = CheckEvent(plan_id=plan.id, kind=kind, signer_id=person.id, device_lat=point.lat, device_lon=point.lon,
                     device_accuracy_m=accuracy, chosen_lat=point.lat, chosen_lon=point.lon,
                     server_time=to_utc(at), **extra)
    db.session.add(row)
    db.session.flush()
    return row


def rows(response) -> list[tuple[str, set[int]]]:
    """(kind, plan ids) of the list's rows, in order."""
    assert response.status_code in (200, 400), response.get_data(as_text=True)[:2000]
    return [(kind, {int(p) for p in plans.split()}) for kind, plans in
            re.findall(r'<tr data-kind="(\w+)" data-plans="([\d ]*)"', response.get_data(as_text=True))]


def travel_pair(person, day=-1, km=420.0, minutes=20, company=None):
    """Two plans of `person`, checked in `km` apart `minutes` apart on `day`."""
    first = factories.plan([person], company=company, start=local_today(day, 8, 0), end=local_today(day, 12, 0))
    second = factories.plan([person], company=company, start=local_today(day, 13, 0), end=local_today(day, 17, 0),
                            sites=((east(km).lat, east(km).lon),))
    sign(first, person, local_today(day, 9, 0), JILIN)
    sign(second, person, local_today(day, 9, minutes), east(km))
    return first, second


@pytest.fixture
def travel(app):
    person = factories.auditor(name="赵远行")
    first, second = travel_pair(person)
    db.session.commit()
    return {"person": person, "first": first.id, "second": second.id}


def test_r21_the_list_shows_impossible_travel_with_its_numbers_the_auditor_and_the_plans(app, travel):
    client = logged_in(app, staff_of(role="readonly"))
    response = client.get("/admin/anomalies")
    assert rows(response) == [("travel", {travel["first"], travel["second"]})]
    page = response.get_data(as_text=True)
    assert "赵远行" in page
    assert "420 km" in page and "1,260 km/h" in page and "20 分钟" in page
    assert f'href="/admin/plans/{travel["second"]}"' in page and f'href="/admin/plans/{travel["first"]}"' in page
    client.get("/lang/en")
    english = client.get("/admin/anomalies").get_data(as_text=True)
    assert "Impossible travel" in english and "420 km apart: 1,260 km/h needed, in 20 min" in english


def test_r21_every_staff_role_reads_the_list_and_the_nav_links_it(app, travel):
    for n, role in enumerate(("readonly", "manager", "admin")):
        client = logged_in(app, staff_of(role=role, phone=f"1370000000{n}"))
        response = client.get("/admin/anomalies")
        assert response.status_code == 200
        assert 'href="/admin/anomalies"' in client.get("/admin/").get_data(as_text=True)


def test_r16_another_bodys_records_never_appear(app, travel):
    body = other_body()
    outsider = factories.auditor(name="钱外机构")
    outsider.agency_id = body.id
    company = Enterprise(agency_id=body.id, name="外机构企业")
    db.session.add(company)
    db.session.flush()
    theirs = travel_pair(outsider, company=company)
    for plan in theirs:
        plan.agency_id = body.id
    # Their photo has the same bytes as ours, in another enterprise: not ours to see.
    ours_photo = factories.plan([travel["person"]], start=local_today(-2), end=local_today(-2, 17, 0))
    add_photo(ours_photo, travel["person"], "c" * 64, local_today(-2, 10, 0))
    add_photo(theirs[0], outsider, "c" * 64, local_today(-1, 10, 0))
    db.session.commit()

    mine = logged_in(app, staff_of(role="readonly"))
    shown = rows(mine.get("/admin/anomalies"))
    assert shown == [("travel", {travel["first"], travel["second"]})]
    page = mine.get("/admin/anomalies").get_data(as_text=True)
    assert "钱外机构" not in page and theirs[0].plan_no not in page

    other_staff = factories.staff(body, phone="13600000009", role="admin")
    db.session.commit()
    theirs_seen = rows(logged_in(app, other_staff).get("/admin/anomalies"))
    assert theirs_seen == [("travel", {theirs[0].id, theirs[1].id})]


def add_photo(plan, person, sha: str, at: dt.datetime, group="other", exif=None):
    row = Photo(plan_id=plan.id, group=group, uploader_id=person.id, uploaded_at=to_utc(at),
                sha256_received=sha, bytes_received=1000, format="jpeg", width=10, height=10,
                evidence_key=f"e-{sha}-{plan.id}", display_key="d", thumb_key="t", exif=exif or {})
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def every_kind(app):
    """One anomaly of each kind but late_send (tested through the phone below)."""
    zhao, qian = factories.auditor(name="赵一"), factories.auditor(name="钱二")
    made = {}
    first, second = travel_pair(zhao, day=-3)
    made["travel"] = {first.id, second.id}
    # Qian on two plans on the same day, 300 km apart.
    a = factories.plan([qian], start=local_today(-5, 8, 30), end=local_today(-5, 17, 0))
    b = factories.plan([qian], start=local_today(-5, 9, 0), end=local_today(-5, 17, 0),
                       sites=((east(300).lat, east(300).lon),))
    made["overlap"] = {a.id, b.id}
    # The same bytes in two enterprises' plans.
    add_photo(a, qian, "a" * 64, local_today(-5, 10, 0))
    add_photo(b, qian, "a" * 64, local_today(-4, 10, 0))
    made["photo_reuse"] = {a.id, b.id}
    # A first-meeting photo taken at 15:00 for a check-in at 09:00.
    c = factories.plan([qian], start=local_today(-10, 8, 30), end=local_today(-10, 17, 0))
    sign(c, qian, local_today(-10, 9, 0), JILIN)
    taken = local_today(-10, 15, 5).replace(tzinfo=None).isoformat()  # the camera's clock, Beijing time
    add_photo(c, qian, "b" * 64, local_today(-10, 15, 10), group="first",
              exif={"taken_at": {"status": "read", "value": taken, "source": "DateTimeOriginal"},
                    "offset": {"status": "read", "value": "+08:00"}, "raw": {"Make": "x" * 200}})
    db.session.flush()
    made["exif_time"] = {c.id}
    db.session.commit()
    return made, c


def test_r21_filters_by_kind_and_date_range(app, every_kind):
    made, _photo_plan = every_kind
    client = logged_in(app, staff_of(role="readonly"))
    found = rows(client.get("/admin/anomalies"))
    assert {kind for kind, _ in found} == {"travel", "overlap", "photo_reuse", "exif_time"}
    for kind, plans in found:
        assert plans == made[kind]
    assert rows(client.get("/admin/anomalies?kind=overlap")) == [("overlap", made["overlap"])]
    four_days_ago = local_today(-4).date().isoformat()
    assert {k for k, _ in rows(client.get(f"/admin/anomalies?since={four_days_ago}"))} == {"travel", "photo_reuse"}
    day = local_today(-10).date().isoformat()
    assert rows(client.get(f"/admin/anomalies?since={day}&until={day}")) == [("exif_time", made["exif_time"])]
    text = client.get(f"/admin/anomalies?since={day}&until={day}").get_data(as_text=True)
    assert "6.1" in text and "15:05" in text and "09:00" in text


def test_r21_odd_filters_are_clear_and_change_nothing(app, travel):
    client = logged_in(app, staff_of(role="readonly"))
    for query in ("since=2026-13-45", "until=%00%01", "kind=<script>", "since=2000-01-01", "page=99999999999999999999"):
        response = client.get(f"/admin/anomalies?{query}")
        assert response.status_code in (200, 400)
        assert "<script>" not in response.get_data(as_text=True).split("</header>")[-1]
    bad = client.get("/admin/anomalies?since=2026-13-45")
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.get_data(as_text=True)
    assert rows(bad) == [("travel", {travel["first"], travel["second"]})]
    long = client.get("/admin/anomalies?since=2000-01-01").get_data(as_text=True)
    assert "92" in long


def test_r21_the_list_is_paginated(app, monkeypatch):
    person = factories.auditor(name="孙多")
    for day in range(-13, -1):
        travel_pair(person, day=day)
    db.session.commit()
    client = logged_in(app, staff_of(role="readonly"))
    assert len(rows(client.get("/admin/anomalies"))) == 12  # one travel a day
    monkeypatch.setattr(service, "PER_PAGE", 5)
    first = client.get("/admin/anomalies?kind=travel")
    assert len(rows(first)) == 5 and "第 1 / 3 页" in first.get_data(as_text=True)
    following = re.search(r'href="(/admin/anomalies\?[^"]*page=2[^"]*)"', first.get_data(as_text=True)).group(1)
    assert "kind=travel" in following  # the pager keeps the filters
    last = client.get("/admin/anomalies?kind=travel&page=3")
    assert len(rows(last)) == 2 and "第 3 / 3 页" in last.get_data(as_text=True)
    seen = {plan for page in (1, 2, 3) for _, plans in rows(client.get(f"/admin/anomalies?kind=travel&page={page}"))
            for plan in plans}
    assert len(seen) == 24


def _statements(app, client, path) -> int:
    engine = db.engines[None] if hasattr(db, "engines") else db.engine
    seen = []

    def count(*args):
        seen.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get(path).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(seen)


def test_r21_the_list_costs_the_same_statements_for_2_and_20_anomalies(app):
    person = factories.auditor(name="周量")
    db.session.commit()
    client = logged_in(app, staff_of(role="readonly"))
    counted = []
    for days in (range(-3, -1), range(-21, -3)):
        for day in days:
            first, second = travel_pair(person, day=day)
            add_photo(first, person, f"{day:+04d}".ljust(64, "f"), local_today(day, 10, 0))
            other = factories.plan([person], start=local_today(day, 8), end=local_today(day, 9))
            add_photo(other, person, f"{day:+04d}".ljust(64, "f"), local_today(day, 11, 0))
        db.session.commit()
        counted.append(_statements(app, client, "/admin/anomalies"))
    assert len(rows(client.get("/admin/anomalies?kind=photo_reuse"))) == 20
    assert counted[0] == counted[1]


def test_r21_anomalies_for_plan_lists_that_plans_own(app, travel, every_kind):
    made, _ = every_kind
    listed = service.anomalies_for_plan(travel["first"])
    assert [(row.anomaly.kind, set(row.anomaly.plan_ids)) for row in listed] == \
        [("travel", {travel["first"], travel["second"]})]
    assert [name for _, name in listed[0].auditors] == ["赵远行"]
    overlap_plan = min(made["overlap"])
    assert {row.anomaly.kind for row in service.anomalies_for_plan(overlap_plan)} == {"overlap", "photo_reuse"}
    assert service.anomalies_for_plan(999999) == []


# --- sent later while the session was online --------------------------------------------------

def stretches() -> list[OnlineStretch]:
    db.session.expire_all()
    return list(db.session.scalars(select(OnlineStretch).order_by(OnlineStretch.id)))


def test_r21_a_session_is_seen_online_at_most_once_a_minute_and_not_by_the_outbox(app):
    person = factories.auditor()
    factories.plan([person])
    db.session.commit()
    client = app.test_client()
    log_in(client, person)
    assert client.get("/").status_code == 200
    seen = stretches()
    assert len(seen) == 1 and seen[0].auditor_id == person.id
    first_last = seen[0].last_at
    assert client.get("/").status_code == 200
    assert [(s.first_at, s.last_at) for s in stretches()] == [(seen[0].first_at, first_last)]
    # A minute on (the cookie's own mark moved back), the same stretch goes on.
    with client.session_transaction() as cookie:
        cookie["seen"] = int(time.time()) - 61
    client.get("/")
    assert len(stretches()) == 1 and stretches()[0].last_at >= first_last
    # The outbox's replays and the worker's fetches say nothing of the auditor being there.
    with client.session_transaction() as cookie:
        cookie["seen"] = int(time.time()) - 61
    for row in stretches():
        row.first_at -= dt.timedelta(hours=1)
        row.last_at -= dt.timedelta(hours=1)
    db.session.commit()
    before = [(s.first_at, s.last_at) for s in stretches()]
    client.get("/session/csrf", headers={"X-Outbox": "1"})
    client.get("/", headers={"X-Background-Fetch": "1"})
    assert [(s.first_at, s.last_at) for s in stretches()] == before
    # After a gap, a request of its own starts a new stretch.
    client.get("/")
    assert len(stretches()) == 2


def test_r21_r17_a_check_in_sent_later_by_a_phone_seen_online_meanwhile_is_listed(app):
    person = factories.auditor(name="吴晚发")
    plan = factories.plan([person], start=local_today(-1, 0, 5), end=local_today(1, 17, 0))
    honest = factories.plan([person], start=local_today(-1, 0, 5), end=local_today(1, 17, 0))
    db.session.commit()
    phone = app.test_client()
    log_in(phone, person)
    assert phone.get("/").status_code == 200
    # The phone was online from 40 minutes ago on (the stretch its requests made, moved back).
    for row in stretches():
        row.first_at -= dt.timedelta(minutes=40)
    db.session.commit()

    from ..test_r17_offline_server import reading, replay

    now = time.time()
    # Claimed done an hour ago, offline: arrives now, 40 minutes after the phone was seen online.
    answer = replay(phone, f"/plans/{plan.id}/checkin", "k-late", reading(at_s=now - 3600, sent_s=now, queued_offline="1"))
    assert answer.status_code == 200, answer.get_data(as_text=True)[:500]
    # Claimed done 3 minutes ago: the outbox sent it as soon as it could.
    answer = replay(phone, f"/plans/{honest.id}/checkin", "k-fresh", reading(at_s=now - 180, sent_s=now, queued_offline="1"))
    assert answer.status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(CheckEvent).where(CheckEvent.session_ref.is_not(None))) == 2

    client = logged_in(app, staff_of(role="readonly"))
    response = client.get("/admin/anomalies?kind=late_send")
    assert rows(response) == [("late_send", {plan.id})]
    assert "吴晚发" in response.get_data(as_text=True)
    assert "40 分钟" in response.get_data(as_text=True)


def test_r21_the_evidence_review_lists_the_plans_anomalies(app, travel):
    quiet = factories.plan([factories.auditor()], start=local_today(-1), end=local_today(-1, 17, 0))
    db.session.commit()
    client = logged_in(app, staff_of(role="readonly"))
    page = client.get(f"/admin/plans/{travel['first']}/evidence").get_data(as_text=True)
    section = page.split('id="evidence-anomalies"')[1].split("</section>")[0]
    assert 'data-kind="travel"' in section and "赵远行" in section
    assert "两地相距 420 km，需时速 1,260 km/h" in section
    assert f'href="/admin/plans/{travel["second"]}/evidence"' in section
    quiet_page = client.get(f"/admin/plans/{quiet.id}/evidence").get_data(as_text=True)
    assert "data-kind=" not in quiet_page.split('id="evidence-anomalies"')[1].split("</section>")[0]


def test_r21_the_sql_narrowing_never_drops_an_overlap_or_a_reused_photo_the_rules_would_flag(app):
    """The list's SQL only narrows to candidates (pairs of one auditor's overlapping plans with
    located sites; photos whose bytes more than one enterprise has) and domain.anomalies
    decides: on a generated body, the findings from the candidates are exactly the rules'
    findings from every row, read plainly. Distances measured on the sphere for the list are
    the exact ones once shown."""
    import random

    from checkin_pwa.domain import anomalies as rules
    from checkin_pwa.models import AuditPlan, TeamMember

    rng = random.Random(2126)
    people = [factories.auditor() for _ in range(6)]
    companies = [factories.enterprise() for _ in range(4)]
    plans = []
    for _ in range(90):
        start = local_today(rng.randrange(-11, 1), rng.choice((7, 8, 9, 10, 12)), rng.choice((0, 30)))
        team = rng.sample(people, rng.choice((1, 2, 2, 3)))
        sites = [(p.lat, p.lon) for p in (destination(JILIN, rng.uniform(0, 360), rng.uniform(0, 120_000))
                                         for _ in range(rng.choice((1, 1, 2))))]
        if rng.random() < 0.1:
            sites = [(None, None)]
        plan = factories.plan(team, company=rng.choice(companies), start=start,
                              end=start + dt.timedelta(minutes=30 * rng.randrange(1, 18)), sites=sites,
                              status="cancelled" if rng.random() < 0.05 else "valid",
                              mode="remote" if rng.random() < 0.05 else "onsite")
        if rng.random() < 0.1:
            plan.team[-1].role = "remote"
        plans.append(plan)
    photos = []
    for n in range(60):
        plan = rng.choice(plans)
        photo = add_photo(plan, rng.choice(people), f"{rng.randrange(12):064x}",
                          local_today(rng.randrange(-12, 1), rng.randrange(7, 19)))
        photo.evidence_key += f"-{n}"
        if rng.random() < 0.1:
            photo.deleted_at = photo.uploaded_at
        photos.append(photo)
    db.session.commit()

    agency_id = plans[0].agency_id
    start, end = service.day_bounds(local_today(-8).date(), local_today(-2).date())
    lo, hi = start - service.PAD, end + service.PAD
    every_assignment = [
        rules.Assignment(member.auditor_id, plan.id, plan.start_utc, plan.end_utc,
                         tuple(rules.Point(s.lat, s.lon) if s.lat is not None else None for s in plan.sites))
        for plan in db.session.scalars(select(AuditPlan)) for member in plan.team
        if plan.start_utc < hi and plan.end_utc > lo and plan.status != "cancelled" and plan.mode != "remote"
        and member.role != "remote"]
    flagged = rules.overlapping_plans(every_assignment)
    candidates = service.overlap_candidates(db.session.connection(), agency_id, lo, hi)
    assert len(flagged) >= 5
    assert sorted(rules.overlapping_pairs(candidates), key=_order) == sorted(flagged, key=_order)
    assert len(candidates) < len(every_assignment) ** 2 / 2

    def in_range(found):
        return sorted((a for a in found if start <= a.at < end), key=_order)

    every_photo = [rules.PhotoBytes(p.id, p.plan_id, p.plan.enterprise_id, p.sha256_received, p.uploader_id,
                                    p.uploaded_at) for p in db.session.scalars(select(Photo)) if p.deleted_at is None]
    reused = in_range(rules.reused_photos(every_photo))
    assert len(reused) >= 5
    assert in_range(rules.reused_photos(service._reused_bytes(db.session.connection(), agency_id, lo, hi, None))) \
        == reused

    facts = service.gather(agency_id, start, end)
    assert [rules.exact(a) for a in rules.find_all(facts, exact=False)] == rules.find_all(facts)
    listed = service.body_anomalies(agency_id, local_today(-8).date(), local_today(-2).date(), None, 1, per_page=500)
    assert sorted((row.anomaly for row in listed.rows), key=_order) == in_range(rules.find_all(facts))


def _order(anomaly):
    return anomaly.at, anomaly.kind, anomaly.auditor_ids, anomaly.plan_ids
