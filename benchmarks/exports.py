"""An XLSX export of 100,000 rows (seconds, peak memory), as a ratio to writing the same rows
with the csv module.

A large body's year: PLANS plans spread over a year, each with a team of two who both check
in and out (4 events a plan: 100,000 check-in events). Each measurement runs once, in a fresh
process of its own, through the app's export path (services.exports.records → the columns in
Chinese → the file): `xlsx` is services.exports.write_xlsx (openpyxl write-only), as the
export's job runs it; `csv` writes the same rows with csv.writer to a file. Peak memory is the process's
resident size sampled every 20 ms, less what it was just before the export began.

    .venv/bin/python benchmarks/exports.py [--plans 25000] [--kinds csv,xlsx,csv-only,xlsx-only] [--keep]

Each measurement also counts the SQL statements the export ran.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, clean_up, migrate, say, throwaway  # noqa: E402

YEAR_START = dt.date(2025, 1, 1)


def seed(plans: int) -> int:
    """The body, its auditors and `plans` plans of 2025 with 4 events each; returns the body's id."""
    from sqlalchemy import insert

    from checkin_pwa import create_app
    from checkin_pwa.extensions import db
    from checkin_pwa.models import Agency, AuditPlan, Auditor, CheckEvent, Enterprise, PlanSite, TeamMember

    app = create_app()
    with app.app_context():
        body = Agency(code="CNCA-R-BENCH", name="大型认证机构")
        db.session.add(body)
        db.session.flush()
        people = [Auditor(phone=f"139{i:08d}", name=f"审核员{i}", agency_id=body.id, password_hash="x")
                  for i in range(400)]
        companies = [Enterprise(agency_id=body.id, name=f"某某制造有限公司{i}") for i in range(2000)]
        db.session.add_all(people + companies)
        db.session.flush()
        plan_rows, site_rows, team_rows, event_rows = [], [], [], []
        for i in range(plans):
            day = YEAR_START + dt.timedelta(days=i * 365 // plans)
            start = dt.datetime(day.year, day.month, day.day, 0, 30)  # 08:30 Beijing
            plan_rows.append({"id": i + 1, "agency_id": body.id, "enterprise_id": companies[i % 2000].id,
                              "plan_no": f"P-2025-{i:06d}", "project_code": "ISO9001",
                              "project_levels": ["管理体系认证", "质量管理体系认证", "ISO9001"], "required": True,
                              "certificate_no": "11721Q0123R1M", "activity": "监督审核", "start_utc": start,
                              "end_utc": start + dt.timedelta(hours=32, minutes=30), "utc_offset_minutes": 480,
                              "timezone": "Asia/Shanghai", "region": "吉林省通化市", "mode": "onsite",
                              "confidential": False, "remarks": "", "status": "valid", "imported_at": start})
            site_rows.append({"id": i + 1, "plan_id": i + 1, "position": 0, "address": f"吉林省集安市工业园区{i}号",
                              "lat": 41.1, "lon": 126.1})
            pair = (people[i % 400], people[(i + 1) % 400])
            for position, (person, role) in enumerate(zip(pair, ("leader", "member"))):
                team_rows.append({"plan_id": i + 1, "auditor_id": person.id, "role": role, "position": position})
                for kind, hours in (("in", 0.2), ("out", 32.3)):
                    event_rows.append({"plan_id": i + 1, "kind": kind, "signer_id": person.id,
                                       "counts_for_team": position == 0, "server_time": start + dt.timedelta(hours=hours),
                                       "device_time": start + dt.timedelta(hours=hours, seconds=-3),
                                       "clock_skew_s": -3.0, "queued_offline": False, "device_lat": 41.1002,
                                       "device_lon": 126.1003, "device_accuracy_m": 12.0, "chosen_lat": 41.1002,
                                       "chosen_lon": 126.1003, "pin_offset_m": 0.0, "nearest_site_id": i + 1,
                                       "nearest_site_distance_m": 36.5, "site_not_located": False,
                                       "warning_confirmed": False, "flags": []})
        for model, rows in ((AuditPlan, plan_rows), (PlanSite, site_rows), (TeamMember, team_rows),
                            (CheckEvent, event_rows)):
            for start in range(0, len(rows), 5000):
                db.session.execute(insert(model), rows[start:start + 5000])
        db.session.commit()
        return body.id


def rss_kb() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 1024


def measure(kind: str, agency_id: int, out: str) -> dict:
    """One export of the year's check-in events, in this (fresh) process. `csv` and `xlsx`
    read the rows from the database as the export does; `csv-only` and `xlsx-only` first read
    them all into a list (not measured) and then time the writing alone."""
    from checkin_pwa import create_app
    from checkin_pwa.console.exports.columns import TITLES, header, rows
    from checkin_pwa.domain.filters import PlanFilters
    from checkin_pwa.extensions import db
    from checkin_pwa.services import exports
    from sqlalchemy import event

    app = create_app()
    filters = PlanFilters(date_from=YEAR_START, date_to=dt.date(2025, 12, 31))
    now = dt.datetime(2026, 6, 1, tzinfo=dt.timezone.utc)
    with app.test_request_context("/"):
        if kind.endswith("-only"):
            records = list(rows("events", exports.records("events", agency_id, filters, now)))
            kind = kind[:-5]
        else:
            records = None
        statements = 0

        def count(*_args) -> None:
            nonlocal statements
            statements += 1

        event.listen(db.engine, "before_cursor_execute", count)
        base = peak = rss_kb()
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.wait(0.02):
                peak = max(peak, rss_kb())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        began = time.perf_counter()
        if records is None:
            records = rows("events", exports.records("events", agency_id, filters, now))
        if kind == "xlsx":
            count = exports.write_xlsx(out, str(TITLES["events"]), header("events"), records)
        else:
            count = 0
            with open(out, "w", newline="", encoding="utf-8-sig") as target:
                writer = csv.writer(target)
                writer.writerow(header("events"))
                for row in records:
                    writer.writerow(row)
                    count += 1
        seconds = time.perf_counter() - began
        ran = statements
        done.set()
        sampler.join()
        peak = max(peak, rss_kb())
    return {"rows": count, "seconds": round(seconds, 2), "peak_mib": round((peak - base) / 1024, 1),
            "statements": ran, "bytes": os.path.getsize(out)}


def child(kind: str, agency_id: int, out: str, queue) -> None:
    queue.put(measure(kind, agency_id, out))


def ratios(results: dict) -> dict:
    """XLSX against CSV, for the pairs measured."""
    found = {}
    if "xlsx" in results and "csv" in results:
        found["ratio_seconds"] = round(results["xlsx"]["seconds"] / max(results["csv"]["seconds"], 0.01), 2)
        found["ratio_peak"] = round(results["xlsx"]["peak_mib"] / max(results["csv"]["peak_mib"], 0.1), 2)
    if "xlsx-only" in results and "csv-only" in results:
        found["ratio_writing_seconds"] = round(results["xlsx-only"]["seconds"]
                                               / max(results["csv-only"]["seconds"], 0.01), 2)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", type=int, default=25_000, help="plans in the year (4 events each)")
    parser.add_argument("--kinds", default="csv,xlsx,csv-only,xlsx-only",
                        help="which of csv, xlsx, csv-only, xlsx-only to measure")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and files")
    options = parser.parse_args()
    workdir, _env = throwaway("bench-exports-")
    try:
        say("migrating")
        migrate()
        say(f"seeding {options.plans} plans, {options.plans * 4} events")
        agency_id = seed(options.plans)
        results = {}
        spawn = multiprocessing.get_context("spawn")
        for kind in options.kinds.split(","):
            say(f"exporting as {kind}")
            queue = spawn.Queue()
            target = workdir / f"events-{kind}.{kind.split('-')[0]}"
            process = spawn.Process(target=child, args=(kind, agency_id, str(target), queue))
            process.start()
            results[kind] = queue.get()
            process.join()
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        print(json.dumps({"when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
                          "cpus": os.cpu_count(), "load": os.getloadavg()[0], **results, **ratios(results)},
                         ensure_ascii=False, indent=2))
        return 0
    finally:
        clean_up(workdir, options.keep)


if __name__ == "__main__":
    sys.exit(main())
