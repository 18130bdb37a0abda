"""What the benchmarks share: where things are, a throwaway migrated database, progress lines,
requests timed in process.

Each benchmark runs the app against its own temporary SQLite database and secret key (the
repository's instance/ key and database are left alone), on 127.0.0.1 only.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"  # never anything else
FIXTURES = Path(os.environ.get("PHOTO_FIXTURES", ROOT.parent / "shared" / "fixtures" / "photos"))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def say(message: str) -> None:
    """A progress line on stderr (stdout carries the results)."""
    print(message, file=sys.stderr, flush=True)


def require_chromium() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        raise SystemExit(f"{CHROMIUM} not found (set CHROMIUM_PATH, or apt-get install chromium)")


def throwaway(prefix: str, **settings: str) -> tuple[Path, dict[str, str]]:
    """A temporary folder holding the database, and the app's settings for it (no map tiles,
    a fresh secret key, plus `settings`), also put into os.environ: the app's config is read
    from there when this process creates an app or seeds plans."""
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    env = {"DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
           "SECRET_KEY": "bench-" + os.urandom(16).hex(), "TILE_URL": "", **settings}
    os.environ.update(env)
    return workdir, env


def migrate(root: Path = ROOT) -> None:
    """Brings the database of os.environ's DATABASE_URL to the newest schema (of the
    checkout at `root`)."""
    subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=root,
                   env={**os.environ}, check=True, capture_output=True)


def clean_up(workdir: Path, keep: bool) -> None:
    if keep:
        say(f"kept {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)


def timed(send, requests: int, warmup: int, before_each=lambda: None):
    """`send(n)` for n in range(warmup) first (templates compiled, statements cached), then
    for the next `requests` numbers, each after `before_each()` (a meter's reset), timed:
    yields (response, wall ms, CPU ms of this process) right after each timed request, so
    the caller reads its meters before the next one. Every answer must be a 200."""
    for n in range(warmup):
        response = send(n)
        assert response.status_code == 200, (n, response.status_code)
    for n in range(warmup, warmup + requests):
        before_each()
        wall, cpu = time.perf_counter(), time.process_time()
        response = send(n)
        wall_ms, cpu_ms = (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
        assert response.status_code == 200, (n, response.status_code)
        yield response, wall_ms, cpu_ms
