"""The exception verification queue (R20) and the console's home (its banner of verifications
due) of a large body: 1,000 audits today and 100,000 in the past year.

The body is benchmarks/board.py's (the same seed: team, check-in and check-out events and
meeting photos, some missing, about a quarter of the past plans with an R10 exception).
A body that keeps up then has its older exceptions verified: every plan that may have an
exception and ended more than 14 days ago gets a verification, but one in twenty, left
overdue. A read-only staff member logs in through the console's forms; one request after
another through the app in this process (Flask's test client: the whole request, no network):

- static: GET /static/css/app.css, the ceiling of this stack;
- home:   GET /admin/, the console's first page (today's counts and the banner of
          verifications due today or tomorrow, or overdue);
- queue:  GET /admin/verifications, the queue's first page (what needs doing, 20 rows, and
          the counts per state);
- queue, list: the same as the filters and the pager ask for it (htmx: the list alone).

It prints a Markdown table: p50 and p95 in ms, each p50 as a ratio of the static file's, and
the SQL statements of one request (SQLAlchemy's before_cursor_execute); and the queue's
sizes. Nothing here is a test: no timing is asserted.

    .venv/bin/python benchmarks/bench_verifications.py [--requests 40] [--past 100000] [--today 1000]
"""
from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from board import STAFF_PHONE, log_in, measure, percentile, seed  # noqa: E402
from common import ROOT, clean_up, migrate, say, throwaway  # noqa: E402

KEPT_UP_DAYS = 14  # exceptions older than this are verified, but one in twenty


def verify_backlog(app, rng: random.Random) -> tuple[int, int]:
    """Verifications of the older plans that may have an exception, written in bulk (one in
    twenty left overdue). Returns (verified, left)."""
    from sqlalchemy import insert, select

    from checkin_pwa.extensions import db
    from checkin_pwa.models import AuditPlan, ExceptionVerification, Staff
    from checkin_pwa.services import exception_verifications as service

    with app.app_context():
        reviewer = db.session.scalar(select(Staff).where(Staff.phone == STAFF_PHONE))
        now = dt.datetime.now(dt.timezone.utc)
        cutoff = now.replace(tzinfo=None) - dt.timedelta(days=KEPT_UP_DAYS)
        older = [(plan, standing) for plan, standing in service.open_standings(reviewer.agency_id, now)
                 if plan.end_utc < cutoff]
        chosen = [(plan, standing) for plan, standing in older if rng.random() >= 0.05]
        db.session.execute(insert(ExceptionVerification), [
            dict(agency_id=reviewer.agency_id, plan_id=plan.id, staff_id=reviewer.id, result="confirmed",
                 text="与审核组电话核实，情况属实。", exceptions=["not_signed"], deadline=standing.deadline.day,
                 late=False, created_at=plan.end_utc + dt.timedelta(days=3), form_token=f"bench-{plan.id}")
            for plan, standing in chosen])
        _refresh_markers(db)
        db.session.commit()
        db.session.remove()
        return len(chosen), len(older) - len(chosen)


def _refresh_markers(db) -> None:
    """Bulk inserts bypass the flush that keeps the open_review marker: read it once for all
    (a no-op on a tree without the marker)."""
    try:
        from checkin_pwa.services import open_reviews
    except ImportError:
        return
    open_reviews.refresh(db.session.connection())


def queue_sizes(app) -> dict:
    from sqlalchemy import select

    from checkin_pwa.extensions import db
    from checkin_pwa.models import Staff
    from checkin_pwa.services import exception_verifications as service
    from checkin_pwa.domain import clock

    with app.app_context():
        staff = db.session.scalar(select(Staff).where(Staff.phone == STAFF_PHONE))
        counts = service.queue(staff.agency_id, service.QueueFilter(), 1, clock.now()).counts
        db.session.remove()
        return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=40, help="timed requests per row (default 40)")
    parser.add_argument("--past", type=int, default=100_000, help="plans in the past year (default 100000)")
    parser.add_argument("--today", type=int, default=1000, help="plans of today (default 1000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    args = parser.parse_args()

    workdir, _env = throwaway("verifications-bench-")
    try:
        say("migrating")
        migrate()
        sys.path.insert(0, str(ROOT))
        from checkin_pwa import create_app
        from checkin_pwa.extensions import db

        app = create_app()
        rng = random.Random(12)
        say("seeding")
        seed(app, args.past, args.today, rng)
        with app.app_context():
            _refresh_markers(db)
            db.session.commit()
            db.session.remove()
        verified, left = verify_backlog(app, rng)
        say(f"  {verified} verified, {left} older ones left overdue")
        client = app.test_client()
        log_in(client)
        rows = [("static file", "/static/css/app.css", {}),
                ("console home (banner)", "/admin/", {}),
                ("queue, first page", "/admin/verifications", {}),
                ("queue, the list alone (htmx)", "/admin/verifications", {"HX-Request": "true"})]
        results = []
        for name, path, headers in rows:
            say(f"measuring {name}")
            times, statements = measure(app, client, path, headers, args.requests)
            results.append((name, percentile(times, 0.5), percentile(times, 0.95), statements))
        static = results[0][1]
        counts = queue_sizes(app)
        print(f"{args.today} audits today, {args.past} in the past year; queue: {counts}; "
              f"{args.requests} requests per row, one after another, Python {sys.version.split()[0]}")
        print()
        print("| request | p50 ms | p95 ms | p50 / static | SQL statements |")
        print("|---|---:|---:|---:|---:|")
        for name, p50, p95, statements in results:
            print(f"| {name} | {p50:.1f} | {p95:.1f} | {p50 / static:.0f}x | {statements} |")
        say(f"load average at the end: {' '.join(f'{n:.1f}' for n in os.getloadavg())}")
    finally:
        clean_up(workdir, args.keep)


if __name__ == "__main__":
    main()
