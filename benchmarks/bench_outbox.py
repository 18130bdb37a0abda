"""Outbox benchmark (R17): from the network coming back (the page's `online` event) to every
queued entry's answer shown on today's page ("今天已发送", static/js/outbox-outcomes.js).

An auditor with three plans today (the import of bench_http.py, each plan at its own
enterprise) works offline on a Pixel 7 emulation in headless Chromium with the real service
worker and Background Sync allowed, as on an Android phone:
- scenario "check-ins": a check-in on each of the 3 plans;
- scenario "mixed": the same, plus 2 first-meeting photos (real fixtures, shrunk by the page)
  and 1 exception explanation on the first plan;
- the weak-uplink scenarios (UPLINKS): 1 check-in and 3 detailed 12 MP photos, the page's
  line throttled to 2 Mbit/s and 750 kbit/s, and unthrottled (--uplink-only: these alone).
Today's page is then opened offline (the worker's kept copy), the network comes back, and the
page itself times, with performance.now(): `online` -> the first answer listed, and `online` ->
all answers listed. The script also times, from Python, the moment the server's database holds
every record (polled every 20 ms), and checks each was written exactly once.

The app runs in a thread on 127.0.0.1 (werkzeug, threaded) on a throwaway migrated SQLite
database; nothing leaves the machine. It prints a Markdown table (progress on stderr) and
writes the raw numbers to benchmarks/results/outbox.json (ignored by git). Nothing here is a test.

    .venv/bin/python benchmarks/bench_outbox.py [--runs 1] [--keep] [--uplink-only]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CHROMIUM, FIXTURES, ROOT, clean_up, migrate, require_chromium, say, throwaway,
)

RESULTS = ROOT / "benchmarks" / "results" / "outbox.json"
PHONE = "13800000000"  # bench_http.writer_phone(0): the benchmark's auditor
PHOTOS = ("jolla.jpg", "DSCN0010.jpg")
SCENARIOS = {"check-ins": (3, 0, 0), "mixed": (3, len(PHOTOS), 1)}  # check-ins, photos, explanations
# A weak uplink: one check-in and three detailed 12 MP camera photos (tests/photo_inputs.py,
# ~4 MB each as taken), picked offline, replayed by the page (no Background Sync, so the
# page's own throttled connection sends them) over Chromium's network throttling (CDP
# Network.emulateNetworkConditions, the same rate both ways, 100 ms latency).
# The same unthrottled (loopback) in the same run: the server's and the phone's own part.
UPLINKS = {"1 check-in + 3 photos, loopback": 0, "1 check-in + 3 photos, 2 Mbit/s": 2_000_000,
           "1 check-in + 3 photos, 750 kbit/s": 750_000}  # bit/s
UPLINK_SOURCES = ("HMD_Nokia_8.3_5G.jpg", "jolla.jpg", "corrupted.jpg")

# In the page: when `online` fired, when the first and the last of `n` answers were listed.
OBSERVE_JS = """(n) => {
  const t = window.__bench = { n: n };
  addEventListener("online", () => { t.online = performance.now(); });
  const box = document.getElementById("outbox-outcomes");
  new MutationObserver(() => {
    const shown = box.querySelectorAll(".outbox-outcome").length;
    if (shown && t.first == null) t.first = performance.now();
    if (shown >= n && t.all == null) { t.all = performance.now(); t.shown = shown; }
  }).observe(box, { childList: true, subtree: true });
}"""


def counts(app, plan_ids: list[int]) -> tuple[int, int, int]:
    """Check-in events, photos and explanations the server holds for these plans."""
    from sqlalchemy import func, select

    from checkin_pwa.extensions import db
    from checkin_pwa.models import CheckEvent, Explanation, Photo

    with app.app_context():
        def n(model):
            return db.session.scalar(select(func.count()).select_from(model).where(model.plan_id.in_(plan_ids)))
        found = (n(CheckEvent), n(Photo), n(Explanation))
        db.session.remove()
        return found


def run_scenario(url: str, app, plan_ids: list[int], name: str, uplink_photos: list[Path] = ()) -> dict:
    import bench_http as bench
    from playwright.sync_api import expect, sync_playwright

    uplink, rate = name in UPLINKS, UPLINKS.get(name)
    checkins, photos, notes = (1, len(uplink_photos), 0) if uplink else SCENARIOS[name]
    chosen = list(uplink_photos) if uplink else [FIXTURES / name for name in PHOTOS]
    expected = checkins + photos + notes
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        context = browser.new_context(**p.devices["Pixel 7"], base_url=url, locale="zh-CN",
                                      timezone_id="Asia/Shanghai",
                                      geolocation={"latitude": bench.SITE[0], "longitude": bench.SITE[1], "accuracy": 12},
                                      permissions=["geolocation"] + ([] if uplink else ["background-sync"]))
        page = context.new_page()
        page.goto("/login")
        page.fill("input[name=phone]", PHONE)
        page.fill("input[name=password]", bench.PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(url + "/")
        page.evaluate("""() => navigator.serviceWorker.controller || new Promise(resolve =>
            navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }))""")
        page.goto("/")  # loaded once under the worker: kept for offline

        tabs = []
        for plan_id in plan_ids[:checkins]:
            tab = context.new_page()
            tab.goto(f"/plans/{plan_id}/checkin")
            expect(tab.locator("#map")).to_have_attribute("data-geo", "ready", timeout=30_000)
            tabs.append(tab)
        detail = None
        if photos or notes:
            detail = context.new_page()
            detail.goto(f"/plans/{plan_ids[0]}")
            expect(detail.locator("#photos input[data-photo-album]")).to_have_count(3)

        context.set_offline(True)
        for tab in tabs:
            tab.locator("form[data-check-form] button[type=submit]").click()
            expect(tab.locator("#check-outcome")).to_contain_text("已保存", timeout=30_000)
        if photos:
            detail.locator('#photos .photo-group[data-group="first"] input[data-photo-album]').set_input_files(chosen)
            expect(detail.locator(".photo-tile.photo-queued")).to_have_count(photos, timeout=60_000)
        if notes:
            detail.locator("#explanations textarea[name=text]").fill("车间涉密，禁止拍照，以此说明代替照片。")
            detail.locator("form[data-explanation-form] button[type=submit]").click()
            expect(detail.locator(".explanation-queued")).to_have_count(1)
        for tab in tabs + ([detail] if detail else []):
            tab.close()
        queued = page.evaluate("async () => (await Outbox.list()).length")
        if queued != expected:
            raise SystemExit(f"{name}: {queued} entries queued, expected {expected}")

        page.goto("/")  # offline: the kept copy of today's page
        expect(page.locator("#offline-banner")).to_be_visible()
        page.evaluate(OBSERVE_JS, expected)

        want = (checkins, photos, notes)
        queued_bytes = page.evaluate("""async () => (await Outbox.list()).reduce((n, e) =>
            n + (Array.isArray(e.fields) ? e.fields : []).reduce((m, f) => m + (f[1] && f[1].size ? f[1].size : 0), 0), 0)""")
        if rate:
            # The page's line is throttled first (a condition of its own DevTools session, which
            # holds once the context's offline is lifted): it comes back slow, not fast then slow.
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.emulateNetworkConditions", {
                "offline": False, "latency": 100, "uploadThroughput": rate / 8, "downloadThroughput": rate / 8})
        began = time.monotonic()
        context.set_offline(False)
        server_s = None
        while time.monotonic() - began < 120:
            if server_s is None and counts(app, plan_ids) == want:
                server_s = time.monotonic() - began
            if page.evaluate("window.__bench.all != null"):
                break
            page.wait_for_timeout(20)
        shown_s = time.monotonic() - began
        t = page.evaluate("window.__bench")
        if t.get("all") is None:
            raise SystemExit(f"{name}: the answers were not all shown within 120 s ({t})")
        if server_s is None:
            server_s = time.monotonic() - began if counts(app, plan_ids) == want else None
        page.wait_for_timeout(2000)  # a late duplicate would show here
        final = counts(app, plan_ids)
        refused = page.locator("#outbox-outcomes .outbox-outcome-refused").count()
        context.close()
        browser.close()
    return {
        "scenario": name, "entries": expected, "checkins": checkins, "photos": photos, "notes": notes,
        "page_first_ms": t["first"] - t["online"], "page_all_ms": t["all"] - t["online"],
        "python_all_s": shown_s, "server_all_s": server_s, "written": final, "exactly_once": final == want,
        "refused": refused, "queued_photo_bytes": queued_bytes,
    }


def machine() -> dict:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    return {
        "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "changed": git("status", "--porcelain", "--", "checkin_pwa/static/js", "service-worker.js"),
        "cpus": os.cpu_count(), "kernel": platform.release(), "python": platform.python_version(),
        "chromium": chromium.split(" built")[0], "loadavg": os.getloadavg(),
    }


def table(rows: list[dict]) -> str:
    base = {r["scenario"]: r for r in rows if r["scenario"] == "check-ins"}
    lines = ["| scenario | entries | photo bytes queued | photo bytes / line rate | online → first answer shown "
             "| online → all shown | per entry | server has all (Python poll) | all shown / check-ins only | written once |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        ratio = f'{r["page_all_ms"] / base["check-ins"]["page_all_ms"]:.2f}' if "check-ins" in base else "—"
        server = f"{r['server_all_s']:.2f} s" if r["server_all_s"] is not None else "—"
        rate = UPLINKS.get(r["scenario"])
        on_line = f"{r.get('queued_photo_bytes', 0) * 8 / rate:.2f} s" if rate else "—"
        lines.append(f"| {r['scenario']} | {r['entries']} | {r.get('queued_photo_bytes', 0) / 1024:,.0f} KB | {on_line} "
                     f"| {r['page_first_ms'] / 1000:.2f} s | "
                     f"{r['page_all_ms'] / 1000:.2f} s | {r['page_all_ms'] / r['entries'] / 1000:.2f} s | {server} | "
                     f"{ratio} | {'yes' if r['exactly_once'] else 'NO ' + str(r['written'])} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="runs of each scenario")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--uplink-only", action="store_true", help="only the weak-uplink scenarios")
    args = parser.parse_args()
    require_chromium()
    workdir, env = throwaway("checkin-outbox-", LOGIN_LIMIT_PER_ADDRESS="100000 per minute")
    env["PHOTO_STORAGE_DIR"] = os.environ["PHOTO_STORAGE_DIR"] = str(workdir / "photos")
    try:
        import bench_http as bench
        from werkzeug.serving import make_server

        info = machine()
        say(f"workdir {workdir}; commit {info['commit']}; load {info['loadavg']}")
        migrate()
        order = [name for _ in range(args.runs)
                 for name in ([] if args.uplink_only else list(SCENARIOS)) + list(UPLINKS)]
        plans = bench.seed(bench.plan_document(0, {PHONE: 3 * len(order)}))[PHONE]

        sys.path.insert(0, str(ROOT))
        from tests.photo_inputs import detailed_12mp
        uplink_photos = [detailed_12mp(workdir / f"IMG_{i}.jpg", FIXTURES / source)
                         for i, source in enumerate(UPLINK_SOURCES)]

        from checkin_pwa import create_app
        app = create_app()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_port}"
        rows = []
        try:
            for i, name in enumerate(order):
                row = run_scenario(url, app, plans[3 * i:3 * i + 3], name, uplink_photos)
                rows.append(row)
                say(f"  {name}: first {row['page_first_ms']:.0f} ms, all {row['page_all_ms']:.0f} ms, "
                    f"server {row['server_all_s']}, once {row['exactly_once']}")
        finally:
            server.shutdown()
            thread.join(timeout=5)
        info["loadavg_after"] = os.getloadavg()
        print(f"- **When / what:** {info['when']}, commit `{info['commit']}`"
              + (f" (uncommitted changes: {info['changed']!r})" if info["changed"] else ""))
        print(f"- **Machine:** {info['cpus']} CPUs, kernel {info['kernel']}; Python {info['python']}; "
              f"{info['chromium']} headless, Pixel 7 context, Background Sync allowed (not in the uplink rows, "
              f"where the page replays on its throttled line)")
        print(f"- **Load average** (1 min) before → after: {info['loadavg'][0]:.1f} → {info['loadavg_after'][0]:.1f}\n")
        print(table(rows))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"machine": info, "runs": rows}, indent=1))
        say(f"raw numbers: {RESULTS.relative_to(ROOT)}")
        return 0 if all(r["exactly_once"] for r in rows) else 1
    finally:
        clean_up(workdir, args.keep)


if __name__ == "__main__":
    sys.exit(main())
