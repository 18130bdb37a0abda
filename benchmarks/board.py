"""Today's board of a large body: 1,000 audits today and 100,000 in the past year.

Builds a throwaway SQLite database with the real migrations, fills it in bulk (one body, 300
auditors, 2,000 enterprises; 100,000 ended plans spread over the last 365 days with their
team, check-in and check-out events and meeting photos, some missing; 1,000 plans of today
in every state), logs a read-only staff member in through the console's own forms (password
and second factor), then asks, one request after another through the app in this process
(Flask's test client: the whole request, no network):

- static:  GET /static/css/app.css: the ceiling of this stack;
- page:    GET /admin/board: the page with the list's first page (50 rows);
- refresh: GET /admin/board as the page's own refresh asks (HX-Request, HX-Trigger:
           board-list, X-Auto-Refresh): the list alone, what an open board costs every 15 s;
- filtered: the same refresh with the auditor filter of one of today's auditors;
- chart:   GET /admin/board/chart (htmx), the weekly chart of exceptions and anomalies the
           page asks for once shown, computed each time (its 12 weeks hold about 23,000
           plans): the worker's five-minute copy is dropped before each request
           (--chart-requests of them);
- chart kept: the same while the worker's copy is fresh;
- and the chart's two parts as service calls (--chart-requests each): the exceptions per
  week (services.board.exception_days) with its pre-filter, and with the pre-filter made
  to pass every plan (each plan of the weeks judged: the computation before the filter);
  the anomalies per week (services.board.anomaly_days).

It prints a Markdown table: p50 and p95 in ms, each p50 as a ratio of the static file's,
and the SQL statements per request (counted with SQLAlchemy's before_cursor_execute), all
from one run. Nothing here is a test: no timing is asserted.

    .venv/bin/python benchmarks/board.py [--requests 60] [--past 100000] [--today 1000] [--keep]
"""
from __future__ import annotations

import argparse
import datetime as dt
import random
import os
import re
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, clean_up, migrate, say, throwaway  # noqa: E402

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
STAFF_PHONE = "13700009999"
STAFF_PASSWORD = "Bench#pass1"
STAFF_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
SITE = (41.1256, 126.1865)
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def seed(app, past: int, today_count: int, rng: random.Random) -> int:
    """The body's rows in bulk; returns the id of one of today's auditors."""
    from sqlalchemy import insert
    from werkzeug.security import generate_password_hash

    from checkin_pwa.extensions import db
    from checkin_pwa.models import Agency, AuditPlan, Auditor, CheckEvent, Enterprise, Photo, Staff, TeamMember

    with app.app_context():
        agency = Agency(code="CNCA-R-BENCH", name="基准测试认证中心")
        db.session.add(agency)
        db.session.flush()
        hashed = generate_password_hash(STAFF_PASSWORD, method="pbkdf2:sha256:1000")
        db.session.add(Staff(agency_id=agency.id, phone=STAFF_PHONE, name="基准只读", role="readonly",
                             password_hash=hashed, must_change_password=False, totp_secret=STAFF_SECRET))
        db.session.execute(insert(Auditor), [
            {"phone": f"1360000{i:04d}", "name": f"审核员{i}", "id_type": "id_card", "id_number": f"1101011980{i:08d}",
             "agency_id": agency.id, "password_hash": hashed, "must_change_password": False} for i in range(300)])
        db.session.execute(insert(Enterprise), [
            {"agency_id": agency.id, "name": f"吉林省企业{i}有限公司"} for i in range(2000)])
        auditor_ids = list(db.session.scalars(db.select(Auditor.id)))
        enterprise_ids = list(db.session.scalars(db.select(Enterprise.id)))
        now = dt.datetime.now(SHANGHAI)
        today = now.date()
        regions = ["吉林省通化市", "吉林省长春市", "辽宁省大连市", "辽宁省沈阳市", "黑龙江省哈尔滨市"]
        projects = ["ISO9001", "ISO14001", "ISO45001", "ISO27001"]

        plans, kinds = [], []
        for n in range(past + today_count):
            if n < past:
                first = today - dt.timedelta(days=rng.randint(1, 365))
                days = rng.choice((0, 0, 1, 2))
                start = dt.datetime.combine(first, dt.time(8, 30), SHANGHAI)
                end = dt.datetime.combine(first + dt.timedelta(days=days), dt.time(17, 0), SHANGHAI)
            else:
                start = dt.datetime.combine(today, dt.time(rng.randint(7, 14), rng.choice((0, 30))), SHANGHAI)
                end = dt.datetime.combine(today + dt.timedelta(days=rng.choice((0, 1, 2))), dt.time(17, 0), SHANGHAI)
            roll = rng.random()
            mode = "remote" if roll < 0.05 else "onsite"
            status = "cancelled" if 0.05 <= roll < 0.07 else "valid"
            plans.append({"agency_id": agency.id, "enterprise_id": rng.choice(enterprise_ids),
                          "plan_no": f"BENCH-{n:06d}", "project_code": rng.choice(projects),
                          "project_levels": ["管理体系认证", "质量管理体系认证", "ISO9001"], "required": True,
                          "start_utc": naive(start), "end_utc": naive(end), "timezone": "Asia/Shanghai",
                          "region": rng.choice(regions), "mode": mode, "status": status})
            kinds.append((n < past, start, end))
        say(f"  {len(plans)} plans")
        db.session.execute(insert(AuditPlan), plans)
        plan_ids = list(db.session.scalars(db.select(AuditPlan.id).order_by(AuditPlan.id)))
        team, events, photos = [], [], []
        for plan_id, (ended, start, end) in zip(plan_ids, kinds):
            members = rng.sample(auditor_ids, rng.randint(1, 3))
            for position, person in enumerate(members):
                team.append({"plan_id": plan_id, "auditor_id": person, "role": "leader" if position == 0 else "member",
                             "position": position})
            signed_in = rng.random() < (0.9 if ended else 0.6) and start < dt.datetime.now(SHANGHAI)
            if signed_in:
                at = start + dt.timedelta(minutes=rng.randint(-20, 60))
                far = 8000.0 if rng.random() < 0.02 else 40.0
                events.append({"plan_id": plan_id, "kind": "in", "signer_id": members[0], "server_time": naive(at),
                               "device_lat": SITE[0], "device_lon": SITE[1], "chosen_lat": SITE[0],
                               "chosen_lon": SITE[1], "nearest_site_distance_m": far})
                if ended and rng.random() < 0.95:
                    events.append({"plan_id": plan_id, "kind": "out", "signer_id": members[0],
                                   "server_time": naive(end - dt.timedelta(minutes=20)), "device_lat": SITE[0],
                                   "device_lon": SITE[1], "chosen_lat": SITE[0], "chosen_lon": SITE[1],
                                   "nearest_site_distance_m": 40.0})
            if ended:
                for group in ("first", "last"):
                    if rng.random() < 0.93:
                        digest = f"{plan_id:032x}{group:>32}"[:64]
                        photos.append({"plan_id": plan_id, "group": group, "uploader_id": members[0],
                                       "sha256_received": digest, "bytes_received": 1000, "format": "jpeg",
                                       "width": 64, "height": 48, "evidence_key": digest, "display_key": digest,
                                       "thumb_key": digest, "uploaded_at": naive(start)})
        say(f"  {len(team)} team members, {len(events)} events, {len(photos)} photos")
        for model, rows in ((TeamMember, team), (CheckEvent, events), (Photo, photos)):
            for at in range(0, len(rows), 20_000):
                db.session.execute(insert(model), rows[at: at + 20_000])
        # Bulk inserts pass by the flush that keeps the open_review marker: read it once.
        from checkin_pwa.services import open_reviews

        open_reviews.refresh(db.session.connection())
        db.session.commit()
        found = db.session.scalar(db.select(TeamMember.auditor_id).where(TeamMember.plan_id == plan_ids[-1]))
        db.session.remove()
        return found


def log_in(client) -> None:
    import pyotp

    page = client.get("/admin/login").get_data(as_text=True)
    answer = client.post("/admin/login", data={"phone": STAFF_PHONE, "password": STAFF_PASSWORD,
                                                "csrf_token": _TOKEN.search(page).group(1)})
    assert answer.status_code == 303, answer.status_code
    page = client.get("/admin/login/code").get_data(as_text=True)
    answer = client.post("/admin/login/code", data={"code": pyotp.TOTP(STAFF_SECRET).now(),
                                                     "csrf_token": _TOKEN.search(page).group(1)})
    assert answer.status_code == 303, answer.get_data(as_text=True)[:500]


def measure(app, client, path: str, headers: dict, requests: int, fresh: bool = False) -> tuple[list[float], int]:
    """Milliseconds of each request, and the statements of the last one."""
    from sqlalchemy import event

    from checkin_pwa.extensions import db

    with app.app_context():
        engine = db.engine
    times, statements = [], []

    def count(*_args):
        statements.append(1)

    for n in range(requests + 3):
        statements.clear()
        if fresh:
            app.extensions.pop("board_charts", None)
        event.listen(engine, "before_cursor_execute", count)
        began = time.perf_counter()
        answer = client.get(path, headers=headers)
        body = answer.get_data()
        elapsed = (time.perf_counter() - began) * 1000
        event.remove(engine, "before_cursor_execute", count)
        assert answer.status_code == 200 and body, (path, answer.status_code)
        if n >= 3:  # the first three warm the caches
            times.append(elapsed)
    return times, len(statements)


def time_calls(app, call, requests: int) -> tuple[list[float], int]:
    """Milliseconds of each call inside an app context, and the statements of the last one."""
    from sqlalchemy import event

    from checkin_pwa.extensions import db

    times, statements = [], []

    def count(*_args):
        statements.append(1)

    with app.app_context():
        for n in range(requests + 1):
            statements.clear()
            event.listen(db.engine, "before_cursor_execute", count)
            began = time.perf_counter()
            call()
            elapsed = (time.perf_counter() - began) * 1000
            event.remove(db.engine, "before_cursor_execute", count)
            db.session.remove()
            if n >= 1:
                times.append(elapsed)
    return times, len(statements)


def chart_parts(app, requests: int) -> list[tuple[str, list[float], int]]:
    """The chart's exceptions with and without the pre-filter, and its anomalies."""
    from sqlalchemy import select, true

    from checkin_pwa.extensions import db
    from checkin_pwa.models import Agency
    from checkin_pwa.services import board
    from checkin_pwa.domain import clock

    with app.app_context():
        agency_id = db.session.scalar(select(Agency.id))
    now = clock.now()
    found = []
    with_filter = time_calls(app, lambda: board.exception_days(agency_id, now), requests)
    kept = board.may_have_exception
    board.may_have_exception = lambda _agency_id: true()
    try:
        every_plan = time_calls(app, lambda: board.exception_days(agency_id, now), requests)
        with app.app_context():
            unfiltered = board.exception_days(agency_id, now)
    finally:
        board.may_have_exception = kept
    with app.app_context():
        assert board.exception_days(agency_id, now) == unfiltered  # the same counts either way
    flagged = sum(1 for _day, exceptional in unfiltered if exceptional)
    say(f"  the weeks hold {len(unfiltered)} plans, {flagged} with an exception")
    found.append((f"chart's exceptions, every plan judged (before; {len(unfiltered)} plans)", *every_plan))
    found.append((f"chart's exceptions, the pre-filter's plans judged (after; {flagged} flagged)", *with_filter))
    found.append(("chart's anomalies (services.anomalies over the 12 weeks)",
                  *time_calls(app, lambda: board.anomaly_days(agency_id, now), requests)))
    return found


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=60, help="timed requests per row (default 60)")
    parser.add_argument("--past", type=int, default=100_000, help="plans in the past year (default 100000)")
    parser.add_argument("--today", type=int, default=1000, help="plans of today (default 1000)")
    parser.add_argument("--chart-requests", type=int, default=15, help="timed computed charts (default 15)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    args = parser.parse_args()

    workdir, _env = throwaway("board-bench-")
    try:
        say("migrating")
        migrate()
        sys.path.insert(0, str(ROOT))
        from checkin_pwa import create_app

        app = create_app()
        rng = random.Random(12)
        say("seeding")
        began = time.perf_counter()
        auditor = seed(app, args.past, args.today, rng)
        say(f"  seeded in {time.perf_counter() - began:.0f} s")
        client = app.test_client()
        log_in(client)
        refresh = {"HX-Request": "true", "HX-Trigger": "board-list", "X-Auto-Refresh": "1"}
        htmx = {"HX-Request": "true"}
        rows = [("static", "/static/css/app.css", {}, False),
                ("page", "/admin/board", {}, False),
                ("refresh", "/admin/board", refresh, False),
                ("filtered", f"/admin/board?auditor={auditor}", refresh, False),
                ("chart", "/admin/board/chart", htmx, True),
                ("chart kept", "/admin/board/chart", htmx, False)]
        results = []
        for name, path, headers, fresh in rows:
            say(f"measuring {name}")
            times, statements = measure(app, client, path, headers,
                                        args.chart_requests if fresh else args.requests, fresh)
            results.append((name, percentile(times, 0.5), percentile(times, 0.95), statements))
        say("measuring the chart's parts")
        for name, times, statements in chart_parts(app, args.chart_requests):
            results.append((name, percentile(times, 0.5), percentile(times, 0.95), statements))
        static = results[0][1]
        print(f"{args.today} audits today, {args.past} in the past year; {args.requests} requests per row, "
              f"one after another, Python {sys.version.split()[0]}")
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
