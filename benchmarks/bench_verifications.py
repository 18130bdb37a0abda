"""The exception verification queue (R20) against a large body, in process: CLEAN ended
plans with a clean record (team check-in and check-out, both meetings' photos), OPEN ended
plans with exceptions and no verification, VERIFIED ones with a verification, spread over
the past year. Times the queue's first page and the console banner's counts (best of 3, the
calendar's per-day cache warm after the first), counts SQL statements, and the peak of
Python allocations (tracemalloc) of one run.

    .venv/bin/python benchmarks/bench_verifications.py [CLEAN OPEN VERIFIED]   # default 100000 1000 5000

A throwaway SQLite database (benchmarks/common.py); rows are written with bulk inserts.
"""
from __future__ import annotations

import datetime as dt
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import clean_up, migrate, say, throwaway  # noqa: E402


def main(clean: int, open_: int, verified: int) -> None:
    workdir, _env = throwaway("verifications-")
    migrate()
    from sqlalchemy import event, insert, select

    from checkin_pwa import create_app
    from checkin_pwa.extensions import db
    from checkin_pwa.models import (Agency, AuditPlan, Auditor, CheckEvent, Enterprise, ExceptionVerification, Photo,
                                    PlanSite, Staff, TeamMember)
    from checkin_pwa.services import exception_verifications as service
    from checkin_pwa.services.checkin import server_now

    app = create_app()
    with app.app_context():
        body = Agency(code="CNCA-R-2002-117", name="bench")
        db.session.add(body)
        db.session.flush()
        company = Enterprise(agency_id=body.id, name="bench")
        person = Auditor(name="bench", phone="13800000000", password_hash="x")
        reviewer = Staff(agency_id=body.id, phone="13900000000", name="bench", role="manager", password_hash="x")
        db.session.add_all([company, person, reviewer])
        db.session.flush()
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        total = clean + open_ + verified
        say(f"writing {total} plans")
        db.session.execute(insert(AuditPlan), [
            dict(agency_id=body.id, enterprise_id=company.id, plan_no=f"P{i}", project_code="ISO9001", project_levels=[],
                 start_utc=now - dt.timedelta(days=2 + i % 360, hours=9), end_utc=now - dt.timedelta(days=2 + i % 360),
                 utc_offset_minutes=480, timezone="Asia/Shanghai", mode="onsite", status="valid", required=True,
                 confidential=False) for i in range(total)])
        ids = list(db.session.scalars(select(AuditPlan.id).order_by(AuditPlan.id)))
        db.session.execute(insert(PlanSite), [dict(plan_id=p, position=0, address="x", lat=41.1, lon=126.1) for p in ids])
        db.session.execute(insert(TeamMember), [dict(plan_id=p, auditor_id=person.id, role="leader", position=0)
                                                for p in ids])
        signed = ids[:clean]
        if signed:
            db.session.execute(insert(CheckEvent), [
                dict(plan_id=p, kind=kind, signer_id=person.id, device_lat=41.1, device_lon=126.1, chosen_lat=41.1,
                     chosen_lon=126.1, server_time=now, counts_for_team=True, nearest_site_distance_m=3.0, flags=[],
                     queued_offline=False) for p in signed for kind in ("in", "out")])
            db.session.execute(insert(Photo), [
                dict(plan_id=p, group=group, uploader_id=person.id, sha256_received="h", bytes_received=1, format="jpeg",
                     width=1, height=1, evidence_key="k", display_key="k", thumb_key="k", exif={}, verdicts={})
                for p in signed for group in ("first", "last")])
        if verified:
            db.session.execute(insert(ExceptionVerification), [
                dict(agency_id=body.id, plan_id=p, staff_id=reviewer.id, result="confirmed", text="", exceptions=[],
                     deadline=now.date(), late=False, created_at=now, form_token=f"t{p}") for p in ids[clean + open_:]])
        db.session.commit()

        statements = [0]

        @event.listens_for(db.engine, "before_cursor_execute")
        def count(*_args):
            statements[0] += 1

        print("| what | clean / open / verified plans | best of 3 | SQL statements | peak Python memory |")
        print("|---|---|---|---|---|")
        for label, run in (("queue, first page", lambda: service.queue(body.id, service.QueueFilter(), 1, server_now())),
                           ("banner counts (due)", lambda: service.due(body.id, server_now()))):
            times = []
            for _ in range(3):
                db.session.expire_all()
                statements[0] = 0
                started = time.perf_counter()
                run()
                times.append(time.perf_counter() - started)
            db.session.expire_all()
            tracemalloc.start()
            run()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"| {label} | {clean} / {open_} / {verified} | {min(times) * 1000:.0f} ms | {statements[0]} "
                  f"| {peak / 1e6:.1f} MB |")
    clean_up(workdir, keep=False)


if __name__ == "__main__":
    numbers = [int(arg) for arg in sys.argv[1:4]] or [100_000, 1_000, 5_000]
    main(*numbers)
