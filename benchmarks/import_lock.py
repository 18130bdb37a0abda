"""How long a plan import holds SQLite's write lock (docs/performance.md, "Plan import: the
write lock").

SQLite has one writer: from an import's first INSERT/UPDATE/DELETE to its commit every
other write (an auditor's check-in, a photo) waits, and fails after the busy timeout
(SQLITE_BUSY_TIMEOUT_MS, 5 s). For each size, in a child process on a copy of one
database (the body and its 1,000 auditors already there, as benchmarks/plan_workbook.py):

- new:   the document's plans are all new;
- again: the same document once more with every plan's remarks and first site changed
         (all updated, a history row each).

Each with the import's batches on (CLI, API) and off (the console's commit on SQLite).
Printed: wall time of the import, time from its first write to its commit (the lock),
and the statements it sent while holding the lock (an executemany counts once).

    .venv/bin/python benchmarks/import_lock.py --sizes 1000,10000
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import ROOT, clean_up, migrate, say, throwaway  # noqa: E402
from plan_workbook import document, seed_accounts  # noqa: E402

sys.path.insert(0, str(ROOT))
WRITES = ("INSERT", "UPDATE", "DELETE")


def changed(doc: dict) -> dict:
    doc = copy.deepcopy(doc)
    for entry in doc["plans"]:
        entry["remarks"] = "变更：审核时间调整"
        entry["sites"][0]["address"] += "（新址）"
        entry["sites"][0].pop("lat", None)
        entry["sites"][0].pop("lon", None)
    return doc


def child(path: str, database: str, batches: str) -> None:
    from sqlalchemy import event

    from checkin_pwa import create_app
    from checkin_pwa.extensions import db
    from checkin_pwa.services import plan_import

    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    app = create_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}")
    with app.app_context():
        marks = {"first": None, "statements": 0}

        def before(conn, cursor, statement, parameters, context, executemany):
            if marks["first"] is None and statement.lstrip().upper().startswith(WRITES):
                marks["first"] = time.perf_counter()
            if marks["first"] is not None:
                marks["statements"] += 1

        def committed(conn):
            marks["commit"] = time.perf_counter()

        event.listen(db.engine, "before_cursor_execute", before)
        event.listen(db.engine, "commit", committed)
        began = time.perf_counter()
        summary = plan_import.import_plans(doc, flush_every=plan_import.FLUSH_EVERY if batches == "on" else None)
        ended = time.perf_counter()
        assert summary.accepted, summary.refused[:3]
    print(json.dumps({"seconds": ended - began, "lock": ended - marks["first"] if marks["first"] else 0,
                      "statements": marks["statements"], "plans": len(summary.created) + len(summary.updated)}))


def run_child(path: Path, database: Path, batches: str) -> dict:
    answer = subprocess.run([sys.executable, __file__, "--child", str(path), str(database), batches],
                            cwd=ROOT, env={**os.environ}, check=True, capture_output=True, text=True)
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000", help="plan counts, comma-separated")
    parser.add_argument("--batches", default="off,on", help="off (SQLite's default), on (FLUSH_EVERY), or both")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(*args.child)
    workdir, _env = throwaway("bench-lock-")
    rows = []
    try:
        migrate()
        template = workdir / "bench.sqlite3"
        seed_accounts(template)
        load_before = os.getloadavg()[0]
        for count in (int(size) for size in args.sizes.split(",")):
            first = document(count)
            files = {"new": workdir / f"new-{count}.json", "again": workdir / f"again-{count}.json"}
            files["new"].write_text(json.dumps(first, ensure_ascii=False), encoding="utf-8")
            files["again"].write_text(json.dumps(changed(first), ensure_ascii=False), encoding="utf-8")
            for batches in args.batches.split(","):
                database = workdir / f"db-{count}-{batches}.sqlite3"
                shutil.copy(template, database)
                for step in ("new", "again"):
                    say(f"{count} plans, {step}, batches {batches}…")
                    numbers = run_child(files[step], database, batches)
                    say(f"  {numbers}")
                    rows.append((count, step, batches, numbers))
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{database}{suffix}").unlink(missing_ok=True)
        load_after = os.getloadavg()[0]
    finally:
        clean_up(workdir, args.keep)
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load_before:.1f} → {load_after:.1f}\n")
    print("| plans | import | batches | import s | lock held s | statements under the lock |")
    print("|---:|---|---|---:|---:|---:|")
    for count, step, batches, numbers in rows:
        print(f"| {count:,} | {step} | {batches} | {numbers['seconds']:.1f} | {numbers['lock']:.2f} | "
              f"{numbers['statements']:,} |")


if __name__ == "__main__":
    main()
