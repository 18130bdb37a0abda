"""Lighthouse (mobile) on the login, today, check-in and plan pages, first and repeat load.

Serves the app as bench_http.py does (gunicorn, a throwaway SQLite database filled through
the real plan import: one auditor with three must-sign plans today), logs in over HTTP, and
runs Lighthouse against one headless Chromium with its own profile:

- first load:  Lighthouse's default storage reset (no HTTP cache, no service worker);
- repeat load: the same page again with --disable-storage-reset, so the service worker the
               first load installed and the HTTP cache are in play, as on a phone that opened
               the app before.

Logged-in pages get the session cookie through --extra-headers. Lighthouse's defaults:
mobile emulation (Moto G Power), simulated slow 4G. It prints a Markdown table (scores of
performance, accessibility, best practices and SEO; bytes transferred; requests) and each
failing accessibility / best-practices audit, and writes the raw reports next to
benchmarks/results/ (ignored by git). Nothing is asserted.

Lighthouse itself is not a project dependency (it is not vendored and no node_modules is
committed): install it once outside the repository and point the script at it,

    npm install --prefix /tmp/lh lighthouse@12.8.2
    CHROME_PATH=/usr/bin/chromium .venv/bin/python benchmarks/lighthouse.py --lighthouse /tmp/lh/node_modules/.bin/lighthouse
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_http import HOST, ROOT, VENV_BIN, Gunicorn, Session, plan_document, reader_phone, seed  # noqa: E402

CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
_DEVTOOLS = re.compile(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/")


class Chromium:
    """One headless Chromium with a profile of its own, driven by Lighthouse over CDP."""

    def __init__(self, binary: str, profile: Path, log_path: Path):
        self._log = open(log_path, "w")
        self.log_path = log_path
        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--remote-debugging-port=0",
             f"--user-data-dir={profile}", "--no-first-run", "--no-default-browser-check",
             "about:blank"],
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = _DEVTOOLS.search(log_path.read_text())
            if found:
                self.port = int(found.group(1))
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise SystemExit(f"chromium did not start: see {log_path}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


def run_lighthouse(lighthouse: str, url: str, port: int, cookie: str | None, repeat: bool,
                   out: Path) -> dict:
    command = [lighthouse, url, f"--port={port}", "--output=json", f"--output-path={out}",
               "--only-categories=" + ",".join(CATEGORIES), "--quiet", "--max-wait-for-load=30000"]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": cookie}))
    if repeat:
        command.append("--disable-storage-reset")
    subprocess.run(command, check=True, env={**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")})
    return json.loads(out.read_text())


def summary(report: dict) -> dict:
    audits = report["audits"]
    requests = audits.get("network-requests", {}).get("details", {}).get("items", [])
    return {
        "scores": {c: round(100 * (report["categories"][c]["score"] or 0)) for c in CATEGORIES},
        "bytes": int(audits["total-byte-weight"]["numericValue"]),
        "requests": len(requests),
        "from_network": sum(1 for r in requests if r.get("transferSize", 0) > 0),
        "failed": sorted(
            f"{c}: {audits[ref['id']]['title']}"
            for c in ("accessibility", "best-practices", "seo")
            for ref in report["categories"][c]["auditRefs"]
            if ref.get("weight", 0) > 0 and audits[ref["id"]]["score"] is not None
            and audits[ref["id"]]["score"] < 1
        ),
        "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
        "fcp_ms": round(audits["first-contentful-paint"]["numericValue"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lighthouse", default=os.environ.get("LIGHTHOUSE", "lighthouse"),
                        help="the lighthouse command (npm package lighthouse)")
    parser.add_argument("--chromium", default=os.environ.get("CHROME_PATH", "/usr/bin/chromium"))
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "lighthouse.json")
    args = parser.parse_args()
    if not shutil.which(args.lighthouse):
        parser.error(f"{args.lighthouse} not found: npm install --prefix /tmp/lh lighthouse@12.8.2")
    os.environ["CHROME_PATH"] = args.chromium

    workdir = Path(tempfile.mkdtemp(prefix="checkin-lighthouse-"))
    db_path = workdir / "lighthouse.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db_path}",
           "SECRET_KEY": "lighthouse-" + os.urandom(16).hex(), "TILE_URL": "",
           "PYTHONDONTWRITEBYTECODE": "1"}
    os.environ.update(env)
    server = chromium = None
    results = []
    try:
        subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        seed(plan_document(readers=1, writer_counts={}))
        server = Gunicorn(env, 2, 4, workdir / "gunicorn.log")
        session = Session(server.port)
        session.login(reader_phone(0))
        cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
        _, _, page = session.request("GET", "/")
        plan_id = re.search(r'/plans/(\d+)/checkin', page.decode()).group(1)
        base = f"http://{HOST}:{server.port}"
        pages = [("login", "/login", None), ("today", "/", cookie),
                 ("check-in", f"/plans/{plan_id}/checkin", cookie), ("plan", f"/plans/{plan_id}", cookie)]
        for name, path, page_cookie in pages:
            # A new profile per page: its first load really is the phone's first.
            chromium = Chromium(args.chromium, workdir / f"profile-{name}", workdir / f"chromium-{name}.log")
            for repeat in (False, True):
                label = "repeat" if repeat else "first"
                print(f"lighthouse {name} ({label} load) ...", file=sys.stderr)
                report = run_lighthouse(args.lighthouse, base + path, chromium.port, page_cookie, repeat,
                                        workdir / f"{name}-{label}.json")
                results.append({"page": name, "path": path, "load": label, **summary(report),
                                "lighthouse": report["lighthouseVersion"],
                                "chromium": report["environment"]["hostUserAgent"]})
            chromium.stop()
            chromium = None
    finally:
        if chromium:
            chromium.stop()
        if server:
            server.stop()

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2))
    print("| page | load | performance | accessibility | best practices | SEO | bytes transferred | requests (from network) | FCP / LCP ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        s = r["scores"]
        print(f"| {r['page']} | {r['load']} | {s['performance']} | {s['accessibility']} | {s['best-practices']} | {s['seo']} | "
              f"{r['bytes']:,} | {r['requests']} ({r['from_network']}) | {r['fcp_ms']} / {r['lcp_ms']} |")
    failed = sorted({f"{r['page']}: {item}" for r in results for item in r["failed"]})
    if failed:
        print("\nFailing audits:")
        for item in failed:
            print("-", item)
    print(f"\nraw reports: {workdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
