"""Where a request's time goes: the today page and the check-in POST, one at a time, in process.

The same data as bench_http.py (a throwaway database filled through the real import), the
requests sent through Flask's test client (no HTTP server, no concurrency), and no profiler:
only SQLAlchemy events and Flask's template signals, so the numbers are close to real
speed. For each scenario it prints the median per request of:

- total:     the whole request, as the test client sees it;
- render:    Jinja rendering (includes any lazy loads and translations inside templates);
- sql exec:  time inside the driver's execute (SQLite's own work; row fetching in Python is
             not counted here), and the number of statements;
- commit:    the transaction's commit (in WAL mode with synchronous=FULL: one fsync);
- python:    the rest: routing, session and login, CSRF, the ORM building objects, the rules.

    .venv/bin/python benchmarks/where_time_goes.py [--requests 200] [--profile]

--profile also runs each scenario under cProfile (slower, so its times are inflated) and
prints the app's own functions by cumulative time: which step of the request costs what.
"""
from __future__ import annotations

import argparse
import cProfile
import html
import pstats
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_http as bench  # noqa: E402  (the same data and form as the HTTP benchmark)
from common import migrate, throwaway, timed  # noqa: E402


class Meter:
    """Per-request sums of SQL, commit and render time, fed by events."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sql_ms = self.sql_in_render_ms = self.commit_ms = self.render_ms = 0.0
        self.statements = 0
        self.rendering = False
        self._sql_began = self._render_began = self._commit_began = 0.0

    def before_sql(self, *args, **kwargs) -> None:
        self._sql_began = time.perf_counter()

    def after_sql(self, *args, **kwargs) -> None:
        elapsed = (time.perf_counter() - self._sql_began) * 1000
        self.sql_ms += elapsed
        if self.rendering:
            self.sql_in_render_ms += elapsed
        self.statements += 1

    def before_commit(self, *args, **kwargs) -> None:
        self._commit_began = time.perf_counter()

    def after_commit(self, *args, **kwargs) -> None:
        self.commit_ms += (time.perf_counter() - self._commit_began) * 1000

    def before_render(self, *args, **kwargs) -> None:
        self.rendering = True
        self._render_began = time.perf_counter()

    def after_render(self, *args, **kwargs) -> None:
        self.render_ms += (time.perf_counter() - self._render_began) * 1000
        self.rendering = False

    def python_ms(self, total_ms: float) -> float:
        """What is left once rendering, SQL outside rendering and the commit are taken off."""
        return total_ms - self.render_ms - (self.sql_ms - self.sql_in_render_ms) - self.commit_ms


def login(client, phone: str) -> str:
    page = client.get("/login").get_data(as_text=True)
    token = bench._FORM_TOKEN.search(page).group(1)
    response = client.post("/login", data={"phone": phone, "password": bench.PASSWORD, "csrf_token": token})
    assert response.status_code == 303, f"login of {phone}: {response.status_code}"
    page = html.unescape(client.get("/").get_data(as_text=True))
    return bench._HEADER_TOKEN.search(page).group(1)


def profile(send, numbers) -> pstats.Stats:
    profiler = cProfile.Profile()
    profiler.enable()
    for n in numbers:
        send(n)
    profiler.disable()
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs = lambda: stats  # keep paths: the filter above matches on them
    return stats


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="requests per scenario")
    parser.add_argument("--profile", action="store_true", help="also profile each scenario")
    args = parser.parse_args()

    workdir, _ = throwaway("checkin-where-", LOGIN_LIMIT_PER_ADDRESS="100000 per minute")
    try:
        migrate()
        warmup = 20
        needed = args.requests * (2 if args.profile else 1) + warmup
        plans = bench.seed(bench.plan_document(1, {bench.writer_phone(0): needed}))
        writer_plans = plans[bench.writer_phone(0)]

        from flask import before_render_template, template_rendered
        from sqlalchemy import event

        from checkin_pwa import create_app
        from checkin_pwa.extensions import db

        app = create_app()
        meter = Meter()
        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", meter.before_sql)
        event.listen(engine, "after_cursor_execute", meter.after_sql)
        event.listen(db.session, "after_flush_postexec", meter.before_commit)  # flush done: DBAPI commit next
        event.listen(db.session, "after_commit", meter.after_commit)
        before_render_template.connect(meter.before_render, app)
        template_rendered.connect(meter.after_render, app)

        reader, writer = app.test_client(), app.test_client()
        login(reader, bench.reader_phone(0))
        token = login(writer, bench.writer_phone(0))
        htmx = {"HX-Request": "true", "X-CSRFToken": token}

        def today(_n):
            return reader.get("/")

        def checkin(n):
            return writer.post(f"/plans/{writer_plans[n]}/checkin", data=bench.checkin_form(token), headers=htmx)

        profiles: dict[str, pstats.Stats] = {}
        print("| request | total ms | render ms | sql exec ms | statements | commit ms | python ms |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, send in (("today (GET /)", today), ("checkin (htmx POST)", checkin)):
            rows = []
            for _response, total, _cpu in timed(send, args.requests, warmup=warmup, before_each=meter.reset):
                rows.append((total, meter.render_ms, meter.sql_ms, meter.statements, meter.commit_ms,
                             meter.python_ms(total)))
            total, render, sql, statements, commit, python = (statistics.median(c) for c in zip(*rows))
            print(f"| {name} | {total:.1f} | {render:.1f} | {sql:.1f} | {statements:.0f} | "
                  f"{commit:.1f} | {python:.1f} |")
            if args.profile:
                profiles[name] = profile(send, range(warmup + args.requests, warmup + 2 * args.requests))
        print("\n(medians per request; render includes any SQL run from templates; python is the "
              "total minus render, SQL outside render and commit)")
        for name, stats in profiles.items():
            print(f"\n## {name}: the app's functions by cumulative time ({args.requests} requests, "
                  "under cProfile)")
            stats.sort_stats("cumulative").print_stats(r"checkin_pwa/(?!.*templates)", 15)
            print(f"## {name}: any function by own time")
            stats.sort_stats("tottime").print_stats(12)
        with app.app_context():
            db.engine.dispose()
        return 0
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
