"""What one upload of each hostile photo costs the server, measured from outside.

Serves the app with gunicorn (one worker, 4 threads: the `make run` worker's shape) on
127.0.0.1 over a throwaway SQLite database built by the real migrations, logs in one
auditor and sends each case of tests/test_r8_hostile_photos.py (the same generators), plus
real photos for comparison, one at a time, each to a fresh plan. While a request runs it
samples /proc every 5 ms for the web worker and every process under it (its decoder
processes, kept from one upload to the next, and any that replaces one), and reports per
upload:

- CPU: the worker's user + system time over the request, plus the decoder's for the picture:
  its own report in the server's log when it answered, else what the samples saw it use (a
  decoder stopped at its limit is counted at most 5 ms short);
- peak RSS: the decoder's high-water mark for the picture (it resets it before each; from its
  report, else the samples), and how far the worker's VmRSS rose.

It prints a Markdown table (docs/security.md quotes it). Nothing here is a test.

    .venv/bin/python benchmarks/bench_hostile_uploads.py
"""
from __future__ import annotations

import io
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_http import Gunicorn  # noqa: E402  (the same server wrapper as the HTTP benchmark)

TICK = os.sysconf("SC_CLK_TCK")
PHOTOS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "photos"


def cases() -> list[tuple[str, str, bytes]]:
    from PIL import Image

    from tests.test_r8_hostile_photos import hostile_exif_jpeg, many_scans, png

    def saved(image, fmt, **options) -> bytes:
        out = io.BytesIO()
        image.save(out, fmt, **options)
        return out.getvalue()

    heic = (PHOTOS / "IMG_5195.HEIC").read_bytes()
    return [
        ("progressive JPEG, 2,000 scans (4000 x 3000)", "scans.jpg", many_scans(2000)),
        ("progressive JPEG, 32 scans, 50 MP (the most scans let through)", "scans32.jpg",
         many_scans(32, size=(8160, 6120))),
        ("PNG 1 x 50,000,000", "thin.png", png(1, 50_000_000)),
        ("PNG 50,000,000 x 1", "wide.png", png(50_000_000, 1)),
        ("PNG 7000 x 7000 RGB, 160 kB (49 MP: the most pixels let through)", "big.png",
         saved(Image.new("RGB", (7000, 7000), (10, 200, 30)), "PNG")),
        ("HEIC cut at half", "cut.heic", heic[:len(heic) // 2]),
        ("JPEG whose EXIF claims 5,000 tags", "exif.jpg", hostile_exif_jpeg()),
        ("real: HMD Nokia 8.3, 12 MP JPEG", "HMD_Nokia_8.3_5G.jpg", (PHOTOS / "HMD_Nokia_8.3_5G.jpg").read_bytes()),
        ("real: iPhone 13 Pro Max, 12 MP HEIC", "iphone_13_pro_max.HEIC",
         (PHOTOS / "iphone_13_pro_max.HEIC").read_bytes()),
    ]


# --- /proc ----------------------------------------------------------------------------------

def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def descendants(pid: int) -> list[int]:
    out, todo = [], children(pid)
    while todo:
        child = todo.pop()
        out.append(child)
        todo += children(child)
    return out


def cpu_s(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICK


def status_kb(pid: int, name: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(name + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


DECODER_REPORT = re.compile(r"picture decoder: \w+, ([\d.]+) s CPU, (\d+) MB peak")


class Sampler(threading.Thread):
    """Samples the worker and its descendants until stopped."""

    def __init__(self, worker: int):
        super().__init__(daemon=True)
        self.worker = worker
        self.stop = threading.Event()
        self.child_cpu: dict[int, float] = {}
        self.child_hwm: dict[int, int] = {}
        self.worker_rss = status_kb(worker, "VmRSS") or 0
        self.worker_rss_start = self.worker_rss
        self.worker_cpu_start = cpu_s(worker) or 0.0
        # Decoders waiting from earlier uploads: what they used before this one is not its.
        self.known = {pid: cpu_s(pid) or 0.0 for pid in descendants(worker)}

    def run(self) -> None:
        while not self.stop.is_set():
            self.worker_rss = max(self.worker_rss, status_kb(self.worker, "VmRSS") or 0)
            for pid in descendants(self.worker):
                used, hwm = cpu_s(pid), status_kb(pid, "VmHWM")
                if used is None:
                    continue
                used -= self.known.get(pid, 0.0)
                self.child_cpu[pid] = max(self.child_cpu.get(pid, 0.0), used)
                if hwm is not None and (pid not in self.known or used > 0.005):
                    self.child_hwm[pid] = max(self.child_hwm.get(pid, 0), hwm)
            time.sleep(0.005)

    def result(self) -> tuple[float, int, int]:
        self.stop.set()
        self.join()
        self.worker_cpu = (cpu_s(self.worker) or 0.0) - self.worker_cpu_start
        for pid in descendants(self.worker):  # a decoder that took this picture: its peak is this picture's
            used, hwm = cpu_s(pid), status_kb(pid, "VmHWM")
            if used is not None and hwm is not None and used > self.known.get(pid, -1.0):
                self.child_cpu[pid] = max(self.child_cpu.get(pid, 0.0), used - self.known.get(pid, 0.0))
                self.child_hwm[pid] = max(self.child_hwm.get(pid, 0), hwm)
        cpu = (cpu_s(self.worker) or 0.0) - self.worker_cpu_start + sum(self.child_cpu.values())
        return cpu, max(self.child_hwm.values(), default=0), self.worker_rss - self.worker_rss_start


# --- the run ----------------------------------------------------------------------------------

def main() -> int:
    from flask_migrate import upgrade

    from checkin_pwa import create_app
    from checkin_pwa.config import Config
    from checkin_pwa.extensions import db
    from tests import factories as f
    from tests.helpers import HttpPhone

    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    try:
        database = work / "checkin.sqlite3"
        env = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "bench-hostile",
               "PHOTO_STORAGE_DIR": str(work / "photos"), "TILE_URL": "", "LOGIN_LIMIT_PER_ADDRESS": "1000 per minute"}
        all_cases = cases()
        app = create_app(Config, SQLALCHEMY_DATABASE_URI=env["DATABASE_URL"], SECRET_KEY="bench-hostile")
        with app.app_context():
            upgrade()
            person = f.auditor()
            plans = [f.plan([person]) for _ in all_cases]
            db.session.commit()
            phone_no, plan_ids = person.phone, [plan.id for plan in plans]
            limits = {name: app.config[name] for name in ("PHOTO_DECODE_CPU_S", "PHOTO_DECODE_MEMORY_MB")}
            db.engine.dispose()
        server = Gunicorn(env, workers=1, threads=4, log_path=work / "gunicorn.log")
        try:
            [worker] = children(server.proc.pid)
            phone = HttpPhone(f"http://127.0.0.1:{server.port}", phone_no)
            # Warm up: the worker's decoder starts on its first upload.
            warm = io.BytesIO()
            __import__("PIL.Image").Image.new("RGB", (32, 32)).save(warm, "JPEG")
            token = phone.token(f"/plans/{plan_ids[0]}")
            phone.request(f"/plans/{plan_ids[0]}/photos", fields={"csrf_token": token, "group": "other"},
                          files={"photo": ("warm.jpg", warm.getvalue())}, headers={"X-Checkin-Client": "photos"})
            rows = []
            for (label, name, data), plan_id in zip(all_cases, plan_ids):
                token = phone.token(f"/plans/{plan_id}")
                logged = len(server.log_path.read_text())
                sampler = Sampler(worker)
                sampler.start()
                began = time.monotonic()
                status, _body = phone.request(f"/plans/{plan_id}/photos",
                                              fields={"csrf_token": token, "group": "first"},
                                              files={"photo": (name, data)},
                                              headers={"X-Checkin-Client": "photos"})
                wall = time.monotonic() - began
                cpu, child_kb, worker_kb = sampler.result()
                # The decoder's own report of this picture when it answered (its CPU and peak,
                # exact where a 5 ms sample of a 10 ms picture may miss it).
                report = DECODER_REPORT.search(server.log_path.read_text()[logged:])
                if report:
                    cpu = max(cpu, sampler.worker_cpu + float(report.group(1)))
                    child_kb = int(report.group(2)) * 1024
                rows.append((label, len(data), status, wall, cpu, child_kb, worker_kb))
                print(f"{label}: {status}, {cpu:.2f} s CPU", file=sys.stderr)
        finally:
            server.proc.terminate()
            server.proc.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"Limits: PHOTO_DECODE_CPU_S={limits['PHOTO_DECODE_CPU_S']}, "
          f"PHOTO_DECODE_MEMORY_MB={limits['PHOTO_DECODE_MEMORY_MB']}; {os.cpu_count()} cores.\n")
    print("| input | bytes sent | answer | wall s | CPU s (worker + decoder) | decoder peak RSS | worker RSS growth |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, size, status, wall, cpu, child_kb, worker_kb in rows:
        child = f"{child_kb / 1024:.0f} MB" if child_kb else "no decoder"
        print(f"| {label} | {size:,} | {status} | {wall:.2f} | {cpu:.2f} | {child} | {worker_kb / 1024:.0f} MB |")
    worst_cpu = max(rows, key=lambda row: row[4])
    worst_rss = max(rows, key=lambda row: row[5])
    print(f"\nWorst CPU: {worst_cpu[4]:.2f} s ({worst_cpu[0]}); worst decoder peak RSS: "
          f"{worst_rss[5] / 1024:.0f} MB ({worst_rss[0]}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
