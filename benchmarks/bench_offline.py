"""What it costs to make today's audits available offline: bytes and time at today's page load.

Serves the app as bench_http.py does (gunicorn, 2 workers x 4 threads, a throwaway SQLite
database filled through the real plan import: one auditor with three must-sign plans today at
one enterprise), and drives one headless Chromium (Playwright, Pixel 7, zh-CN, the real
service worker) through it:

- install:  the login page registers the worker, which precaches the static files (once per
            deploy, not per day; not counted here);
- today:    log in, then open today's page online; the worker then fetches and keeps today's page and each
            plan's check-in, check-out, plan and explanation pages (keep.js, service-worker.js),
            until the page says "今日任务已保存到本机". Counted: every response the page and the
            worker received between the navigation and that line, bytes as on the wire
            (headers + body), and the time from the navigation to the line, beside the time to
            the page's own load event.

The today row is measured --runs times (each a fresh navigation to / in the same phone) and
reported as medians. Nothing here is a test: no timing is asserted.

    .venv/bin/python benchmarks/bench_offline.py [--runs 7] [--keep]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_http import Gunicorn, PASSWORD, plan_document, reader_phone, seed  # noqa: E402
from common import CHROMIUM, HOST, clean_up, migrate, throwaway  # noqa: E402


def kind_of(path: str) -> str:
    if path.startswith("/static/") or path == "/manifest.json" or path == "/offline":
        return "static"
    if path == "/":
        return "today"
    if path.endswith("/checkin") or path.endswith("/checkout"):
        return "check pages"
    if path.endswith("/explain"):
        return "explanation pages"
    if path.startswith("/plans/"):
        return "plan pages"
    return "other"


class Wire:
    """Every response the browser context received from the network, the page's and the
    service worker's own fetches; an answer the worker gave the page (from its cache or from
    its own fetch) is not counted twice."""

    def __init__(self, context):
        self.rows: list[tuple[str, int]] = []
        self.on = False
        context.on("requestfinished", self._finished)

    def _finished(self, request):
        if not self.on:
            return
        response = request.response()
        if response is not None and response.from_service_worker:
            return  # the page's side of an answer the worker gave: its network fetch is counted
        sizes = request.sizes()
        self.rows.append((urlsplit(request.url).path, sizes["responseBodySize"] + sizes["responseHeadersSize"]))

    def take(self) -> list[tuple[str, int]]:
        rows, self.rows = self.rows, []
        return rows


def by_kind(rows) -> dict[str, tuple[int, int]]:
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, size in rows:
        found[kind_of(path)][0] += 1
        found[kind_of(path)][1] += size
    return {kind: (count, size) for kind, (count, size) in found.items()}


def kb(size: float) -> str:
    return f"{size / 1024:.1f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="today page loads to take the median of")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and log")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    workdir, _ = throwaway("checkin-bench-offline-", PYTHONDONTWRITEBYTECODE="1")
    env = {**os.environ}  # gunicorn's
    server = None
    try:
        migrate()
        seed(plan_document(1, {}))
        server = Gunicorn(env, 2, 4, workdir / "gunicorn.log")
        base = f"http://{HOST}:{server.port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            version = browser.version
            load_before = os.getloadavg()[0]
            context = browser.new_context(**p.devices["Pixel 7"], base_url=base, locale="zh-CN",
                                          timezone_id="Asia/Shanghai")
            wire = Wire(context)
            page = context.new_page()

            page.goto("/login")
            page.evaluate("navigator.serviceWorker.ready.then(() => true)")  # the static precache is done
            wire.on = True
            page.fill("input[name=phone]", reader_phone(0))
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_selector("#offline-ready:not([hidden])", timeout=60_000)
            wire.take()

            loads, kept_ms, runs = [], [], []
            for _ in range(args.runs):
                page.goto("about:blank")
                wire.take()
                began = time.perf_counter()
                page.goto("/", wait_until="load")
                loads.append(1000 * (time.perf_counter() - began))
                page.wait_for_selector("#offline-ready:not([hidden])", timeout=60_000, state="attached")
                kept_ms.append(1000 * (time.perf_counter() - began))
                page.wait_for_timeout(300)  # let the last responses' events arrive
                runs.append(by_kind(wire.take()))
                kept = page.locator("#today").get_attribute("data-kept")
            browser.close()
            load_after = os.getloadavg()[0]

        median = statistics.median
        kinds = sorted({kind for run in runs for kind in run})
        print(f"# Making today's audits available offline: {os.cpu_count()} cores, Chromium {version}, "
              f"Python {platform.python_version()}, {args.runs} runs, load {load_before:.1f} -> {load_after:.1f}\n")
        print(f"One auditor, three plans today (one enterprise); pages kept: {kept} (asked/kept).\n")
        print("| what | requests | KiB (median) |")
        print("|---|---:|---:|")
        total = 0.0
        for kind in kinds:
            count = median(run.get(kind, (0, 0))[0] for run in runs)
            size = median(run.get(kind, (0, 0))[1] for run in runs)
            total += size
            print(f"| {kind} | {count:g} | {kb(size)} |")
        today_only = median(run.get("today", (0, 0))[1] / max(1, run.get("today", (1, 0))[0]) for run in runs)
        print(f"| **all, at today's page load** | {median(sum(c for c, _ in run.values()) for run in runs):g} "
              f"| **{kb(total)}** |")
        print()
        print("| time (ms, median) | today's page loaded | all kept (the line shows) | ratio |")
        print("|---|---:|---:|---:|")
        print(f"| today's page load → offline-ready | {median(loads):.0f} | {median(kept_ms):.0f} | "
              f"{median(kept_ms) / median(loads):.2f} |")
        print(f"\nBytes at today's page load / today's page alone: {total / today_only:.1f}x.")
    finally:
        if server:
            server.stop()
        clean_up(workdir, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
