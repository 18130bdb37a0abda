"""Memory of a burst of photo uploads: eight detailed 12 MP camera JPEGs (tests/photo_inputs.py,
about 4 MB each, each made distinct by a comment segment) sent at once to gunicorn as a server
runs it (two gthread workers of four threads, gunicorn.conf.py's shape on two cores), each to
a plan of its own, over a throwaway SQLite database built by the real migrations.

Every 10 ms during the burst it reads /proc for both workers and every process under them
(each worker's decoder processes) and reports the peak of their
sum, as resident memory (VmRSS, which counts shared pages once per process) and
as proportional memory (Pss from smaps_rollup: shared pages split between their sharers, the
honest total); then the same after the burst, once every answer is in and 3 s have passed.

Each server configuration is started in turn: with --before COMMIT first that commit's app
code (a git worktree), then this checkout's with MALLOC_ARENA_MAX=2 (as the systemd unit sets
it), without it, and with one decode at a time per web worker (PHOTO_DECODE_WORKERS=1). Nothing here is a test.

    .venv/bin/python benchmarks/bench_photo_burst.py [--before COMMIT]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_hostile_uploads import descendants, status_kb  # noqa: E402

VENV_BIN = ROOT / ".venv" / "bin"
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")
BURST = 8
PHOTO_SCRIPT = {"X-Checkin-Client": "photos"}  # as static/js/photos.js asks


def pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def workers_of(master: int) -> list[int]:
    return [int(p) for task in Path(f"/proc/{master}/task").glob("*")
            for p in (task / "children").read_text().split()]


def together(workers: list[int]) -> tuple[int, int]:
    """(sum of VmRSS, sum of Pss) in kB of the workers and everything under them."""
    pids = [*workers, *(pid for worker in workers for pid in descendants(worker))]
    return sum(status_kb(pid, "VmRSS") or 0 for pid in pids), sum(pss_kb(pid) for pid in pids)


def start(root: Path, env: dict, log: Path) -> tuple[subprocess.Popen, int]:
    out = open(log, "w")
    proc = subprocess.Popen([str(VENV_BIN / "gunicorn"), "--bind", "127.0.0.1:0", "--workers", "2",
                             "--worker-class", "gthread", "--threads", "4", "--chdir", str(root), "wsgi:app"],
                            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text())
        if found and len(workers_of(proc.pid)) == 2:
            return proc, int(found.group(1))
        if proc.poll() is not None:
            raise SystemExit(log.read_text())
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not start: {log}")


def run(label: str, root: Path, env: dict, work: Path, phone_no: str, plans: list[int], photos: list[bytes],
        warm: bytes) -> dict:
    from tests.helpers import HttpPhone

    proc, port = start(root, env, work / f"gunicorn-{len(label)}.log")
    try:
        base = f"http://127.0.0.1:{port}"
        phones = [HttpPhone(base, phone_no) for _ in range(BURST)]
        tokens = [phone.token(f"/plans/{plan}") for phone, plan in zip(phones, plans)]
        # Warm-up: small uploads on both workers, so each has its decoders before the burst.
        warmers = [threading.Thread(target=phone.request, args=(f"/plans/{plan}/photos",),
                                    kwargs={"fields": {"csrf_token": token, "group": "other"},
                                            "files": {"photo": (f"warm{i}.jpg", warm + bytes([i]))}, "headers": PHOTO_SCRIPT})
                   for i, (phone, plan, token) in enumerate(zip(phones, plans, tokens))]
        for thread in warmers:
            thread.start()
        for thread in warmers:
            thread.join()
        workers = workers_of(proc.pid)
        time.sleep(2)
        rss_start, pss_start = together(workers)
        answers: list[int] = []
        senders = [threading.Thread(target=lambda p=phone, plan=plan, t=token, d=data: answers.append(
                       p.request(f"/plans/{plan}/photos", fields={"csrf_token": t, "group": "first"},
                                 files={"photo": ("camera.jpg", d)}, headers=PHOTO_SCRIPT)[0]))
                   for phone, plan, token, data in zip(phones, plans, tokens, photos)]
        peak_rss = peak_pss = 0
        began = time.monotonic()
        for thread in senders:
            thread.start()
        while any(thread.is_alive() for thread in senders):
            rss, pss = together(workers)
            peak_rss, peak_pss = max(peak_rss, rss), max(peak_pss, pss)
            time.sleep(0.01)
        wall = time.monotonic() - began
        time.sleep(3)
        rss_after, pss_after = together(workers)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return {"label": label, "answers": sorted(answers), "wall_s": wall, "rss_start": rss_start, "pss_start": pss_start,
            "peak_rss": peak_rss, "peak_pss": peak_pss, "rss_after": rss_after, "pss_after": pss_after}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", metavar="COMMIT", help="also measure the app code of COMMIT first")
    args = parser.parse_args()

    from flask_migrate import upgrade
    from PIL import Image
    import io

    from checkin_pwa import create_app
    from checkin_pwa.config import Config
    from checkin_pwa.extensions import db
    from tests import factories as f
    from tests.photo_inputs import detailed_12mp

    work = Path(tempfile.mkdtemp(prefix="bench-burst-"))
    configurations = []
    try:
        camera = detailed_12mp(work / "camera.jpg").read_bytes()
        # Distinct photos (a resend of the same bytes is answered without decoding): a comment each.
        photos = [camera[:2] + b"\xff\xfe\x00\x08burst" + bytes([i]) + camera[2:] for i in range(BURST)]
        small = io.BytesIO()
        Image.new("RGB", (64, 48), (10, 120, 200)).save(small, "JPEG", comment=b"warm")
        runs = []
        if args.before:
            tree = work / "before"
            subprocess.run(["git", "worktree", "add", "--detach", str(tree), args.before], cwd=ROOT, check=True,
                           capture_output=True)
            configurations.append((f"`{args.before}`, MALLOC_ARENA_MAX=2", tree, "2"))
        configurations += [("now, MALLOC_ARENA_MAX=2", ROOT, "2"), ("now, MALLOC_ARENA_MAX unset", ROOT, None),
                           ("now, MALLOC_ARENA_MAX=2, PHOTO_DECODE_WORKERS=1", ROOT, "2")]
        for label, root, arenas in configurations:
            database = work / f"checkin-{len(runs)}.sqlite3"
            env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
            env.update({"DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "bench-burst", "TILE_URL": "",
                        "PHOTO_STORAGE_DIR": str(work / f"photos-{len(runs)}"),
                        "LOGIN_LIMIT_PER_ADDRESS": "1000 per minute"})
            if arenas:
                env["MALLOC_ARENA_MAX"] = arenas
            if "PHOTO_DECODE_WORKERS=1" in label:  # one decode at a time per web worker
                env["PHOTO_DECODE_WORKERS"] = "1"
            app = create_app(Config, SQLALCHEMY_DATABASE_URI=env["DATABASE_URL"], SECRET_KEY="bench-burst")
            with app.app_context():
                upgrade()
                person = f.auditor()
                plans = [f.plan([person]) for _ in range(BURST)]
                db.session.commit()
                phone_no, plan_ids = person.phone, [plan.id for plan in plans]
                db.engine.dispose()
            print(f"{label} ...", file=sys.stderr)
            runs.append(run(label, root, env, work, phone_no, plan_ids, photos, small.getvalue()))
            print(runs[-1], file=sys.stderr)
    finally:
        if args.before:
            subprocess.run(["git", "worktree", "remove", "--force", str(work / "before")], cwd=ROOT,
                           capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    def mb(kb: int) -> str:
        return f"{kb / 1024:.0f}"

    print(f"Eight {len(photos[0]) / 1e6:.1f} MB 12 MP JPEGs at once; two gthread workers of 4 threads; "
          f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}.\n")
    print("| code | answers | burst s | before burst RSS / PSS MB | peak RSS / PSS MB | 3 s after RSS / PSS MB |")
    print("|---|---|---:|---:|---:|---:|")
    for r in runs:
        print(f"| {r['label']} | {', '.join(map(str, r['answers']))} | {r['wall_s']:.1f} "
              f"| {mb(r['rss_start'])} / {mb(r['pss_start'])} | {mb(r['peak_rss'])} / {mb(r['peak_pss'])} "
              f"| {mb(r['rss_after'])} / {mb(r['pss_after'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
