"""What the exception verification queue (R20) and the console's home cost: bounded by the
plans that need doing, not by the body's history; and the open_review marker the queue
reads never drops a plan R10 flags (services.open_reviews)."""
from __future__ import annotations

import datetime as dt
import itertools
import random

import pytest
from sqlalchemy import event, select

from checkin_pwa.domain import audit_exceptions as rules10, clock
from checkin_pwa.extensions import db
from checkin_pwa.models import AuditPlan, CheckEvent, ExceptionVerification, OpenReview, Photo
from checkin_pwa.services import exception_verifications as service
from checkin_pwa.services.checkin import plan_facts
from checkin_pwa.services.plan_status import status_of

from .. import factories
from ..helpers import in_app_context
from .conftest import logged_in
from .test_plans import staff_of
from .test_r20_verifications import QUEUE, ended, rows, signed_with_photos, verify


@pytest.fixture
def manager(app):
    with in_app_context(app):
        return staff_of(role="manager", name="李经理")


def statements_of(app, client, path: str) -> int:
    found = []

    def count(*_args):
        found.append(1)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code == 200, answer.get_data(as_text=True)[:2000]
    return len(found)


def queued(count: int, auditor) -> list[AuditPlan]:
    plans = [ended(10 + n % 20, team=[auditor]) for n in range(count)]
    db.session.commit()
    return plans


@pytest.mark.parametrize("path", [QUEUE, "/admin/"])
def test_r20_queue_and_console_home_statements_do_not_grow_with_the_queued_plans(app, manager, path):
    with in_app_context(app):
        auditor = factories.auditor(name="贾组长")
        queued(5, auditor)
    client = logged_in(app, manager)
    client.get(path)  # the session's first request sets up what later ones reuse
    with_few = statements_of(app, client, path)
    with in_app_context(app):
        queued(45, db.session.merge(auditor))
    with_many = statements_of(app, client, path)
    assert with_few == with_many, (with_few, with_many)
    if path == QUEUE:
        assert len(rows(client.get(QUEUE))) == service.PER_PAGE  # a full page of the 50


def sqlite_work(run) -> int:
    """SQLite's virtual machine steps (in hundreds) while `run` reads the database: the work
    the database does, whatever the machine's load."""
    raw = db.session.connection().connection.dbapi_connection
    steps = [0]

    def step():
        steps[0] += 1
        return 0

    raw.set_progress_handler(step, 100)
    try:
        run()
    finally:
        raw.set_progress_handler(None, 100)
    return steps[0]


def test_r20_a_history_of_clean_plans_costs_the_queue_and_the_banner_no_database_work_on_sqlite(app_context, app, manager):
    auditor = factories.auditor(name="贾组长")
    queued(5, auditor)
    verified_plan = ended(40, team=[auditor])
    db.session.add(ExceptionVerification(agency_id=verified_plan.agency_id, plan_id=verified_plan.id,
                                         staff_id=manager.id, result="confirmed", text="", exceptions=["not_signed"],
                                         deadline=dt.date(2026, 1, 1), form_token="t"))
    db.session.commit()
    body_id = manager.agency_id

    def both():
        now = clock.now()
        page = service.queue(body_id, service.QueueFilter(), 1, now)
        waiting = service.due(body_id, now)
        return page.counts, waiting

    answer = both()
    before = sqlite_work(both)
    for n in range(300):  # a year of audits with a complete record, each checked in and photographed
        signed_with_photos(ended(2 + n % 300, team=[auditor]))
    db.session.commit()
    assert both() == answer
    after = sqlite_work(both)
    assert after <= before * 1.1 + 20, (before, after)


# --- the marker and R10 agree --------------------------------------------------------------

KINDS = ("in", "out")


def build_record(plan, rng: random.Random, shape: dict) -> None:
    """Events, photos and a verification as `shape` says, written through the ORM as the
    services write them."""
    person = plan.team[0].auditor_id
    for kind in KINDS:
        state = shape[kind]
        if state == "none":
            continue
        db.session.add(CheckEvent(plan_id=plan.id, kind=kind, signer_id=person, device_lat=41.1, device_lon=126.1,
                                  chosen_lat=41.1, chosen_lon=126.1, counts_for_team=state == "team",
                                  server_time=plan.start_utc + dt.timedelta(hours=1 if kind == "in" else 7),
                                  nearest_site_distance_m=shape[f"{kind}_distance"]))
    for group in ("first", "last"):
        state = shape[group]
        if state == "none":
            continue
        db.session.add(Photo(plan_id=plan.id, group=group, uploader_id=person, sha256_received=f"{plan.id}{group}",
                             bytes_received=1, format="jpeg", width=1, height=1, evidence_key="k", display_key="k",
                             thumb_key="k", deleted_at=dt.datetime(2026, 1, 1) if state == "deleted" else None))
    if shape["verified"]:
        db.session.add(ExceptionVerification(agency_id=plan.agency_id, plan_id=plan.id, staff_id=shape["staff"],
                                             result="confirmed", text="", exceptions=[], deadline=dt.date(2026, 1, 1),
                                             form_token=f"t{plan.id}"))
    db.session.flush()


DISTANCES = (None, 3.0, rules10.DEVIATION_LIMIT_M, rules10.DEVIATION_LIMIT_M + 0.5, 8300.0)


def shapes(rng: random.Random, count: int, staff_id: int):
    # Every way the team's events can be (missing, not counting for the team, counting), each
    # photo group (missing, removed, present), then random mixes of all the rest.
    fixed = [dict(zip(("in", "out", "first", "last"), combo))
             for combo in itertools.product(("none", "other", "team"), ("none", "team"),
                                            ("none", "deleted", "present"), ("none", "present"))]
    for n in range(count):
        shape = fixed[n] if n < len(fixed) else {
            "in": rng.choice(("none", "other", "team")), "out": rng.choice(("none", "other", "team")),
            "first": rng.choice(("none", "deleted", "present")), "last": rng.choice(("none", "deleted", "present"))}
        shape.update(in_distance=rng.choice(DISTANCES), out_distance=rng.choice(DISTANCES),
                     verified=rng.random() < 0.2, staff=staff_id,
                     mode=rng.choice(("onsite", "onsite", "onsite", "remote")),
                     status=rng.choice(("valid", "valid", "valid", "cancelled")),
                     days_ago=rng.choice((-2, 0, 1, 3, 9, 40)))
        yield shape
    # A complete record but for one event at each distance around R5's limit.
    for kind, distance in itertools.product(KINDS, DISTANCES):
        other = "out" if kind == "in" else "in"
        yield {"in": "team", "out": "team", "first": "present", "last": "present", f"{kind}_distance": distance,
               f"{other}_distance": 3.0, "verified": False, "staff": staff_id, "mode": "onsite", "status": "valid",
               "days_ago": 3}


def test_r10_the_marker_the_queue_reads_never_drops_a_plan_r10_flags(app_context, app, manager):
    """Plans of every kind of record: each one R10 flags once its audit is over (not verified)
    has the marker, and the queue lists exactly the plans R10 flags."""
    rng = random.Random(20)
    auditor = factories.auditor(name="贾组长")
    plans = []
    for shape in shapes(rng, 110, manager.id):
        plan = ended(shape["days_ago"], team=[auditor], mode=shape["mode"], status=shape["status"])
        build_record(plan, rng, shape)
        plans.append(plan)
    db.session.commit()
    now = clock.now()
    marked = set(db.session.scalars(select(OpenReview.plan_id)))
    verified = set(db.session.scalars(select(ExceptionVerification.plan_id)))
    flagged = set()
    for plan in plans:
        status = status_of(plan, now)
        if rules10.audit_over(plan_facts(plan), now) and status.exceptions and plan.id not in verified:
            flagged.add(plan.id)
            assert plan.id in marked, (plan.id, status.exceptions)
    # The marker is narrow too: every plan it lists is one R10 may flag.
    for plan in plans:
        if plan.id in marked:
            assert plan.id not in verified and plan.mode != "remote" and plan.status != "cancelled"
    listed = {plan.id for plan, _standing in service.open_standings(manager.agency_id, now)}
    assert listed == flagged and len(flagged) > 20 and len(set(p.id for p in plans) - flagged) > 20


def test_r20_the_marker_follows_the_record_where_it_changes(app_context, app, manager):
    plan = ended(3)
    db.session.commit()

    def marked() -> bool:
        db.session.commit()
        return db.session.get(OpenReview, plan.id) is not None

    assert marked()  # nothing signed
    signed_with_photos(plan)
    assert not marked()  # a complete record near the site
    photo = db.session.scalar(select(Photo).where(Photo.plan_id == plan.id, Photo.group == "first"))
    photo.deleted_at = dt.datetime(2026, 1, 1)  # removed from its group, as services.photos does
    assert marked()
    photo.deleted_at = None
    assert not marked()
    db.session.add(CheckEvent(plan_id=plan.id, kind="in", signer_id=plan.team[0].auditor_id, device_lat=41.1,
                              device_lon=126.1, chosen_lat=41.1, chosen_lon=126.1, counts_for_team=False,
                              nearest_site_distance_m=9000.0))
    assert not marked()  # a member's own event far away does not count for the team (R3)
    photo.deleted_at = dt.datetime(2026, 1, 2)
    assert marked()
    plan.status = "cancelled"
    assert not marked()
    plan.status = "valid"
    assert marked()
    client = logged_in(app, manager)
    assert plan.id in rows(client.get(QUEUE))
    assert verify(client, plan.id).status_code == 303  # the console's verification, as staff record it
    assert not marked() and plan.id not in rows(client.get(QUEUE))


def test_r20_the_verified_count_is_the_verified_list_at_every_range_edge(app_context, app, manager):
    """The database counts the verified plans it can place alone; the count equals the list
    the plans' own calendars give, for plans ending around now and around the range's ends,
    on the clocks farthest from UTC."""
    auditor = factories.auditor(name="贾组长")
    now = clock.now()
    base = now.astimezone(dt.timezone.utc).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    for n, (hours, zone) in enumerate(itertools.product(range(-80, 4, 5), ("Asia/Shanghai", "Pacific/Kiritimati",
                                                                        "Pacific/Pago_Pago"))):
        plan = ended(3, team=[auditor])
        plan.end_utc = base + dt.timedelta(hours=hours)
        plan.start_utc = plan.end_utc - dt.timedelta(hours=6)
        plan.timezone = zone
        db.session.add(ExceptionVerification(agency_id=plan.agency_id, plan_id=plan.id, staff_id=manager.id,
                                             result="confirmed", text="", exceptions=[], deadline=dt.date(2026, 1, 1),
                                             form_token=f"t{n}"))
    db.session.commit()
    today = now.date()
    days = [None] + [today + dt.timedelta(days=d) for d in (-3, -2, -1, 0)]
    checked = 0
    for start, end in itertools.product(days, days):
        if start and end and start > end:
            continue
        wanted = service.QueueFilter(rules10.VERIFIED, start, end)
        assert service.verified_count(manager.agency_id, now, wanted) == \
            len(service.verified_standings(manager.agency_id, now, wanted)), (start, end)
        checked += 1
    assert checked > 10 and service.verified_count(manager.agency_id, now) > 20
