"""Photo benchmark (R8): what one photo costs the server, with and without the phone's shrink,
and how many bytes it puts on the wire.

Inputs: a 12-megapixel phone JPEG (4000 x 3000, quality 92, 4:2:0) made from the real
Nokia photo of shared/fixtures/photos (its middle cut to 4:3 and resized; the original's
EXIF segment carried over byte for byte), the Nokia photo itself, and a spread of the real
fixtures (DSCN0010.jpg, jolla.jpg, portrait_6.jpg, the two HEIC files).

1. The phone's side, in the real browser: the app's plan page in headless Chromium
   (/usr/bin/chromium, a Pixel 7 context like the tests) runs static/js/photo-bytes.js's
   `window.CheckinPhotos.shrink` on each input and hands back the bytes it would send.
   Then each input goes through the page's real file input ("其他照片") and the real
   upload request is captured: its multipart body and headers are the bytes on the wire.
2. The server's side: for each input as it leaves the phone (the original, and the shrunk
   copy when the phone shrinks it), a fresh child process calls `services.photos.upload`
   end to end (checks, type sniffing, full decode, EXIF, verdicts against a real check-in,
   display copy, thumbnail, three fsynced files, the row) against a throwaway migrated
   SQLite database and a temporary photo store: the median of --runs uploads after a
   warm-up, split into its steps (the functions upload() calls, timed in place); the peak
   of Python allocations over one upload (tracemalloc, a run of its own); and how far one
   upload lifts the process's peak resident memory, which also counts the pixel buffers
   Pillow and libheif allocate in C, out of tracemalloc's sight. That peak is VmHWM from
   /proc/self/status, reset just before the upload: ru_maxrss would do the same job but on
   Linux a child inherits its parent's peak across fork and exec, so its delta reads 0
   whenever the parent (this script, with Chromium's driver) was bigger; both are in the
   raw numbers.

It prints Markdown tables (progress on stderr) and writes the raw numbers to
benchmarks/results/photos.json (ignored by git). Nothing here is a test.

    .venv/bin/python benchmarks/bench_photos.py [--runs 9] [--keep]
"""
from __future__ import annotations

import argparse
import base64
import datetime as dt
import gc
import hashlib
import io
import json
import logging
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (  # noqa: E402
    CHROMIUM, FIXTURES, ROOT, clean_up, migrate, require_chromium, say, throwaway,
)
# Appended, not put first: a child measuring another checkout (--server-before) puts that one
# first (an older checkout's decoder forkserver imports this script again and must keep it first).
sys.path.append(str(ROOT))
from tests.photo_inputs import detailed_12mp  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "photos.json"
# The photo code of the plan page: bytes and shrinking, tiles and gestures, sending.
PHOTO_SCRIPTS = ("photo-bytes.js", "photos.js", "photo-upload.js")
PHONE = "13800000000"  # bench_http.writer_phone(0): the benchmark's auditor
SPREAD = ("HMD_Nokia_8.3_5G.jpg", "jolla.jpg", "DSCN0010.jpg", "portrait_6.jpg",
          "iphone_13_pro_max.HEIC", "IMG_5195.HEIC")
TWELVE_MP = "phone_12mp.jpg"
# The same with sensor noise (tests/photo_inputs.py): a camera's detail, about 4 MB.
DETAILED_12MP = "phone_12mp_detailed.jpg"


# --- inputs ------------------------------------------------------------------------------

def make_12mp(source: Path, target: Path) -> None:
    """A 4000 x 3000 phone JPEG from a real phone photo: its middle cut to 4:3, resized
    with Lanczos, saved like a phone camera (quality 92, 4:2:0) with the original's EXIF
    segment as it is (so its EXIF still names the 4608 x 1976 original)."""
    detailed_12mp(target, source, sigma=0)


def tiny_like(fmt: str) -> bytes:
    """A small photo of the same format, for warming up the code paths of that format."""
    from PIL import Image
    import pillow_heif

    pillow_heif.register_heif_opener()
    image = Image.linear_gradient("L").convert("RGB").resize((96, 72))
    out = io.BytesIO()
    image.save(out, {"jpeg": "JPEG", "heif": "HEIF", "png": "PNG", "webp": "WEBP"}[fmt])
    return out.getvalue()


# --- the server side: one child process per case ------------------------------------------

def memory_kb(field: str) -> int:
    """VmRSS (resident now) or VmHWM (its peak) of this process, from /proc, in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def reset_peak_rss() -> None:
    """Start VmHWM again from the current RSS (Linux >= 4.0)."""
    Path("/proc/self/clear_refs").write_text("5")


class Steps:
    """Wall time spent inside chosen functions during one upload, by step name. The
    functions are the ones upload() itself calls, wrapped in place for this process only."""

    def __init__(self) -> None:
        self.ms: dict[str, float] = {}

    def wrap(self, owner, attribute: str, step: str) -> None:
        inner = getattr(owner, attribute)

        def timed(*args, **kwargs):
            began = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.ms[step] = self.ms.get(step, 0.0) + (time.perf_counter() - began) * 1000

        setattr(owner, attribute, timed)


STEPS = ("sha256", "decode", "verdicts", "files")


class DecoderCpu(logging.Handler):
    """The decoder process's CPU seconds for each picture, from the line services.imaging
    logs for it ("picture decoder: Made, 0.31 s CPU, ..."): the measuring process's
    process_time() does not see another process's CPU."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seconds = 0.0

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("picture decoder: ") and len(record.args) >= 2:
            self.seconds += float(record.args[1])


def floor_ms(data: bytes, runs: int) -> float:
    """The floor of one upload's CPU: SHA-256 of the bytes and a full decode of them (no
    DCT scaling), median of `runs` after one warm-up, in this process."""
    from PIL import Image

    times = []
    for _ in range(runs + 1):
        began = time.process_time()
        hashlib.sha256(data).hexdigest()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
        times.append((time.process_time() - began) * 1000)
    return statistics.median(times[1:])


def child(spec: dict) -> dict:
    """Runs in a fresh interpreter: upload spec["input"] to the plan, measure, report.
    spec["root"]: the checkout whose app code is measured (--server-before's worktree)."""
    os.environ.update(spec["env"])
    sys.path.insert(0, spec.get("root") or str(ROOT))
    import tracemalloc

    from sqlalchemy import select

    from checkin_pwa import create_app
    from checkin_pwa.extensions import db
    from checkin_pwa.models import Auditor, Photo
    from checkin_pwa.services import photos
    from checkin_pwa.domain import clock

    app = create_app()
    with app.app_context():
        store = app.extensions["photo_store"]
        limits = photos.Limits.from_config(app.config)
        auditor = db.session.scalar(select(Auditor).where(Auditor.phone == PHONE))
        data = Path(spec["input"]).read_bytes()
        fmt = photos.sniff_format(data)

        steps = Steps()
        steps.wrap(photos.hashlib, "sha256", "sha256")  # the received file's hash
        # The decoder child: EXIF, header and shape checks, full decode, 1600 px and 320 px JPEGs.
        steps.wrap(photos.imaging, "make", "decode")
        steps.wrap(photos, "judge_photo", "verdicts")   # the team's record, judging
        steps.wrap(photos, "_duplicate_plans", "verdicts")
        steps.wrap(store, "save", "files")              # three files, each fsynced with its folder
        decoder = DecoderCpu()
        imaging_log = logging.getLogger(photos.imaging.__name__)
        imaging_log.setLevel(logging.INFO)
        imaging_log.addHandler(decoder)

        def upload(payload: bytes) -> Photo:
            steps.ms = {}
            photo = photos.upload(auditor, spec["plan_id"], "first", payload, store=store, limits=limits,
                                  original_sha256=spec.get("original_sha256"),
                                  original_bytes=spec.get("original_bytes"),
                                  original_name=spec["name"], now=clock.now())
            if not isinstance(photo, Photo):
                raise SystemExit(f"{spec['name']}: the upload was refused: {photo}")
            return photo

        def undo(photo: Photo) -> None:
            """Soft delete (the group keeps room; no 'retry' match), then drop the files."""
            keys = (photo.evidence_key, photo.display_key, photo.thumb_key)
            photos.delete(auditor, photo.id, clock.now())
            for key in keys:
                store.delete(key)

        # Warm-up: every code path of this format, on a small photo of the same format.
        for _ in range(3):
            undo(upload(tiny_like(fmt)))

        # Memory: the first upload of this photo in this process.
        gc.collect()
        maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        reset_peak_rss()
        rss_before = memory_kb("VmRSS")
        photo = upload(data)
        rss_peak = memory_kb("VmHWM")
        maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        width, height, verdicts = photo.width, photo.height, photo.verdicts
        display_bytes = len(store.read(photo.display_key))
        thumb_bytes = len(store.read(photo.thumb_key))
        undo(photo)

        times: list[float] = []
        cpu: list[float] = []
        photo_cpu: list[float] = []  # SHA-256 of the bytes and the decoder child: the photo's own work
        split: dict[str, list[float]] = {name: [] for name in (*STEPS, "rest")}
        for _ in range(spec["runs"]):
            gc.collect()
            decoder.seconds = 0.0
            began, began_cpu = time.perf_counter(), time.process_time()
            photo = upload(data)
            total = (time.perf_counter() - began) * 1000
            cpu.append((time.process_time() - began_cpu + decoder.seconds) * 1000)
            photo_cpu.append(decoder.seconds * 1000 + steps.ms.get("sha256", 0.0))
            times.append(total)
            for name in STEPS:
                split[name].append(steps.ms.get(name, 0.0))
            split["rest"].append(total - sum(steps.ms.values()))
            undo(photo)

        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()
        undo(upload(data))
        _, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        db.engine.dispose()
        floor = floor_ms(data, spec["runs"])
    return {"floor_ms": floor, "root": spec.get("root") or str(ROOT),
        "name": spec["name"], "variant": spec["variant"], "format": fmt, "bytes": len(data),
        "width": width, "height": height, "verdicts": verdicts,
        "display_bytes": display_bytes, "thumb_bytes": thumb_bytes,
        "ms": times, "median_ms": statistics.median(times),
        "cpu_ms": cpu, "median_cpu_ms": statistics.median(cpu), "median_photo_cpu_ms": statistics.median(photo_cpu),
        "steps_ms": {name: statistics.median(values) for name, values in split.items()},
        "traced_peak_bytes": traced_peak,
        "rss_before_kb": rss_before, "rss_growth_kb": rss_peak - rss_before,
        "ru_maxrss_before_kb": maxrss_before, "ru_maxrss_growth_kb": maxrss_after - maxrss_before,
    }


def run_child(spec: dict) -> dict:
    # In the measured checkout's folder: its decoder processes import the app from there.
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                          cwd=spec.get("root") or ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the measuring process for {spec['name']} ({spec['variant']}) failed:\n{done.stderr}")
    return json.loads(done.stdout)


# --- the phone side: the real photos.js in Chromium ------------------------------------------

SHRINK_JS = """
async (selector) => {
  const file = document.querySelector(selector).files[0];
  const bytes = new Uint8Array(await file.arrayBuffer());
  const t0 = performance.now();
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  const t1 = performance.now();
  const result = await window.CheckinPhotos.shrink(file, bytes);
  const t2 = performance.now();
  const out = new Uint8Array(await result.blob.arrayBuffer());
  let text = "";
  for (let i = 0; i < out.length; i += 0x8000) text += String.fromCharCode.apply(null, out.subarray(i, i + 0x8000));
  const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
  return {shrunk: result.shrunk, sha256_ms: t1 - t0, shrink_ms: t2 - t1, b64: btoa(text), sha256: hex};
}
"""


def multipart_file(body: bytes, content_type: str, field: str) -> bytes:
    boundary = content_type.split("boundary=", 1)[1].strip().strip('"').encode()
    for part in body.split(b"--" + boundary):
        head, _, content = part.partition(b"\r\n\r\n")
        if f'name="{field}"'.encode() in head:
            return content[:-2] if content.endswith(b"\r\n") else content
    raise ValueError(f"no {field} part in the request")


def phone_side(app, inputs: list[Path], plan_id: int, outdir: Path, repeats: int,
               photos_js: Optional[dict[str, str]] = None) -> dict[str, dict]:
    """Shrink each input with the page's own code, then upload it through the page's file input.
    `photos_js`: other photo scripts served in place of these ({file name: code}, an earlier
    commit's, --before; "" for one that commit did not have)."""
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    import bench_http as bench

    received: list[bytes] = []

    def recording(environ, start_response):
        """The request bodies of photo uploads, as they arrive (DevTools leaves out a body
        made of blobs, so the browser side cannot tell)."""
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith("/photos"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            received.append(body)
            environ["wsgi.input"] = io.BytesIO(body)
        return app(environ, start_response)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no request log on stderr
    server = make_server("127.0.0.1", 0, recording, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    found: dict[str, dict] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            # No service worker: the page's own requests only (and --before's photos.js is not
            # taken from the worker's precache).
            context = browser.new_context(**p.devices["Pixel 7"], base_url=url, locale="zh-CN",
                                          timezone_id="Asia/Shanghai", service_workers="block")
            def serve(code: str):
                return lambda route: route.fulfill(body=code, content_type="text/javascript; charset=utf-8")

            for name, code in (photos_js or {}).items():
                context.route(f"**/static/js/{name}*", serve(code))
            page = context.new_page()
            page.goto("/login")
            page.fill("input[name=phone]", PHONE)
            page.fill("input[name=password]", bench.PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(url + "/")
            page.goto(f"/plans/{plan_id}")
            page.wait_for_function("() => window.CheckinPhotos && window.CheckinPhotos.shrink")
            page.evaluate("""() => { const i = document.createElement("input");
                                     i.type = "file"; i.id = "bench-file"; i.hidden = true;
                                     document.body.append(i); }""")
            for path in inputs:
                page.set_input_files("#bench-file", str(path))
                runs = [page.evaluate(SHRINK_JS, "#bench-file") for _ in range(repeats + 1)][1:]
                last = runs[-1]
                sent = base64.b64decode(last["b64"])
                out = outdir / f"shrunk-{'before-' if photos_js else ''}{path.stem}.jpg"
                if last["shrunk"]:
                    out.write_bytes(sent)
                found[path.name] = {
                    "original_bytes": path.stat().st_size,
                    "original_sha256": last["sha256"],
                    "shrunk": last["shrunk"], "sent_bytes": len(sent),
                    "sent_path": str(out) if last["shrunk"] else str(path),
                    "sha256_ms": statistics.median(r["sha256_ms"] for r in runs),
                    "shrink_ms": statistics.median(r["shrink_ms"] for r in runs),
                    "stable": len({r["b64"] for r in runs}) == 1,
                }
                say(f"  {path.name}: {'shrunk' if last['shrunk'] else 'sent as is'}, "
                    f"{path.stat().st_size} -> {len(sent)} bytes, {found[path.name]['shrink_ms']:.0f} ms")

            # The real upload, as a phone sends it: the 其他照片 group's file input.
            group_input = '.photo-group[data-group="other"] input[data-photo-input]'
            for path in inputs:
                with page.expect_response(lambda r: r.request.method == "POST"
                                          and r.url.endswith(f"/plans/{plan_id}/photos"), timeout=120_000) as answer:
                    page.set_input_files(group_input, str(path))
                response = answer.value
                headers = response.request.all_headers()  # as the browser sent them
                body = received.pop()
                head = (f"POST /plans/{plan_id}/photos HTTP/1.1\r\n"
                        + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n")
                file_part = multipart_file(body, headers.get("content-type", ""), "photo")
                entry = found[path.name]
                expected = Path(entry["sent_path"]).read_bytes()
                entry.update({
                    "status": response.status, "body_bytes": len(body), "header_bytes": len(head.encode()),
                    "file_part_bytes": len(file_part),
                    "same_as_shrink": hashlib.sha256(file_part).digest() == hashlib.sha256(expected).digest(),
                })
                say(f"  upload {path.name}: {response.status}, body {len(body)} bytes")
            context.close()
            browser.close()
    finally:
        server.shutdown()
        thread.join(timeout=5)
    return found


# --- the whole run -------------------------------------------------------------------------------

def machine() -> dict:
    from PIL import __version__ as pillow_version, features
    import pillow_heif

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    chromium = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    js = ROOT / "checkin_pwa" / "static" / "js" / "photo-bytes.js"
    return {
        "when": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git("rev-parse", "--short", "HEAD"),
        "changed": git("status", "--porcelain", "--", *(f"checkin_pwa/static/js/{name}" for name in PHOTO_SCRIPTS),
                       "checkin_pwa/services/photos.py", "checkin_pwa/domain", "checkin_pwa/storage"),
        "photos_js_sha256": hashlib.sha256(js.read_bytes()).hexdigest()[:12],
        "cpus": os.cpu_count(), "kernel": platform.release(), "machine": platform.machine(),
        "python": platform.python_version(), "pillow": pillow_version,
        "libjpeg": features.version("jpg"), "pillow_heif": pillow_heif.__version__,
        "libheif": pillow_heif.libheif_info().get("libheif"),
        "chromium": chromium.split(" built")[0],
        "loadavg": os.getloadavg(),
    }


def checked_in(app, plan_ids: list[int]) -> None:
    """The team checks in on the planned site, as the page would: the photos get judged
    against a real check-in (time and place), not 'to check after check-in'."""
    import bench_http as bench
    from sqlalchemy import select

    from checkin_pwa.domain import clock
    from checkin_pwa.extensions import db
    from checkin_pwa.models import Auditor
    from checkin_pwa.services import checkin

    with app.app_context():
        auditor = db.session.scalar(select(Auditor).where(Auditor.phone == PHONE))
        for plan_id in plan_ids:
            form = {k: str(v) for k, v in bench.checkin_form("").items()}  # as an HTTP form gives them
            outcome = checkin.check(auditor, plan_id, "in", form, clock.now())
            if not isinstance(outcome, checkin.Signed):
                raise SystemExit(f"the benchmark's check-in was not signed: {outcome}")
        db.session.remove()


def hide_photos(app, plan_id: int) -> None:
    """Soft-delete the browser's uploads, so the measured uploads meet no duplicates."""
    from checkin_pwa.extensions import db
    from checkin_pwa.models import Photo

    with app.app_context():
        db.session.execute(db.update(Photo).where(Photo.plan_id == plan_id)
                           .values(deleted_at=dt.datetime.utcnow().replace(microsecond=0)))
        db.session.commit()
        db.engine.dispose()


def same_evidence(original: bytes, sent: bytes) -> bool:
    """Does the server read the same EXIF evidence (time, offset, GPS, device, orientation,
    the raw tags) from what the phone sent as from the original?"""
    from checkin_pwa.domain.evidence import read_exif

    def fields(data: bytes) -> dict:
        found = read_exif(data).to_json()
        return {k: v for k, v in found.items() if k != "container"}

    return fields(original) == fields(sent)


def mb(n: float) -> str:
    return f"{n / 1024 / 1024:.1f}"


def kb(n: float) -> str:
    return f"{n / 1024:,.0f}"


def wire_table(phone: dict[str, dict], before: Optional[dict[str, dict]], names: list[str], budget: int) -> str:
    """Bytes on the wire per photo as the phone sends it (the file part of the real upload),
    now and, with --before, with the earlier photos.js."""
    lines = ["### Bytes on the wire, per photo (phone side)\n",
             "| photo | original | sent before | sent now | now / original | now / before | within budget "
             "| sent px (upright) | phone: shrink ms | EXIF evidence kept | answer |",
             "|---|---:|---:|---:|---:|---:|---|---|---:|---|---|"]
    totals = [0, 0, 0]
    for name in names:
        p, b = phone[name], (before or {}).get(name)
        totals[0] += p["original_bytes"]
        totals[1] += b["file_part_bytes"] if b else 0
        totals[2] += p["file_part_bytes"]
        was = f"{kb(b['file_part_bytes'])} KB" if b else "–"
        ratio = f"{p['file_part_bytes'] / b['file_part_bytes']:.2f}" if b else "–"
        lines.append(
            f"| {name} | {kb(p['original_bytes'])} KB | {was} | {kb(p['file_part_bytes'])} KB "
            f"| {p['file_part_bytes'] / p['original_bytes']:.2f} | {ratio} "
            f"| {'yes' if p['file_part_bytes'] <= budget else 'NO'} | {p['sent_px']} | {p['shrink_ms']:.0f} "
            f"| {'yes' if p['exif_kept'] else 'NO'} | {p['status']} |")
    lines.append(f"| **all {len(names)}** | {kb(totals[0])} KB | {kb(totals[1]) + ' KB' if before else '–'} "
                 f"| {kb(totals[2])} KB | {totals[2] / totals[0]:.2f} "
                 f"| {f'{totals[2] / totals[1]:.2f}' if before else '–'} | | | | | |")
    return "\n".join(lines)


def tables(info: dict, phone: dict[str, dict], server: list[dict], runs: int) -> str:
    lines: list[str] = []
    add = lines.append
    by = {(r["name"], r["variant"]): r for r in server}
    names = [TWELVE_MP, DETAILED_12MP, *SPREAD]
    # Each photo as sent, in table order (a photo sent as is has no shrunk run).
    sent = [(name, variant, by[(name, variant)]) for name in names for variant in ("original", "shrunk")
            if (name, variant) in by]

    add("### Bytes on the wire, per photo\n")
    add("| photo | original | px | sent | sent / original | shrunk? | multipart body | + headers "
        "| phone: SHA-256 ms | phone: shrink ms | EXIF evidence kept | upload answer |")
    add("|---|---:|---|---:|---:|---|---:|---:|---:|---:|---|---|")
    total_original = total_sent = total_request = 0
    for name in names:
        p = phone[name]
        px = by[(name, "original")]
        total_original += p["original_bytes"]
        total_sent += p["sent_bytes"]
        total_request += p["body_bytes"] + p["header_bytes"]
        same = "" if p["same_as_shrink"] else " (file part ≠ shrink output!)"
        add(f"| {name} | {kb(p['original_bytes'])} KB | {px['width']}×{px['height']} | {kb(p['sent_bytes'])} KB "
            f"| {p['sent_bytes'] / p['original_bytes']:.2f} | {'yes' if p['shrunk'] else 'no, sent as is'} "
            f"| {kb(p['body_bytes'])} KB | {kb(p['body_bytes'] + p['header_bytes'])} KB "
            f"| {p['sha256_ms']:.0f} | {p['shrink_ms']:.0f} | {'yes' if p['exif_kept'] else 'NO'} | {p['status']}{same} |")
    add(f"| **all {len(names)}** | {kb(total_original)} KB | | {kb(total_sent)} KB "
        f"| {total_sent / total_original:.2f} | | | {kb(total_request)} KB | | | | |")

    add(f"\n### Server cost of one upload (`services.photos.upload`, median of {runs})\n")
    add("| photo | sent as | format | bytes | ms (median) | ms (min–max) | CPU ms (median) | tracemalloc peak MB "
        "| peak RSS growth MB | display + thumb KB |")
    add("|---|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, variant, r in sent:
        add(f"| {name} | {variant} | {r['format']} {r['width']}×{r['height']} | {kb(r['bytes'])} KB "
            f"| {r['median_ms']:.0f} | {min(r['ms']):.0f}–{max(r['ms']):.0f} | {r['median_cpu_ms']:.0f} "
            f"| {mb(r['traced_peak_bytes'])} "
            f"| {mb(r['rss_growth_kb'] * 1024)} | {kb(r['display_bytes'])} + {kb(r['thumb_bytes'])} |")

    add("\n### Shrunk / original, same run\n")
    add("| photo | server ms: original → shrunk | ratio | CPU ms: original → shrunk | ratio "
        "| peak RSS growth MB: original → shrunk | ratio | tracemalloc peak ratio | bytes ratio |")
    add("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in names:
        o, s = by[(name, "original")], by.get((name, "shrunk"))
        if s is None:
            add(f"| {name} | {o['median_ms']:.0f} (sent as is) | 1 | {o['median_cpu_ms']:.0f} | 1 "
                f"| {mb(o['rss_growth_kb'] * 1024)} | 1 | 1 | 1 |")
            continue
        ratio_rss = (s["rss_growth_kb"] / o["rss_growth_kb"]) if o["rss_growth_kb"] else float("nan")
        add(f"| {name} | {o['median_ms']:.0f} → {s['median_ms']:.0f} | {s['median_ms'] / o['median_ms']:.2f} "
            f"| {o['median_cpu_ms']:.0f} → {s['median_cpu_ms']:.0f} | {s['median_cpu_ms'] / o['median_cpu_ms']:.2f} "
            f"| {mb(o['rss_growth_kb'] * 1024)} → {mb(s['rss_growth_kb'] * 1024)} | {ratio_rss:.2f} "
            f"| {s['traced_peak_bytes'] / o['traced_peak_bytes']:.2f} | {s['bytes'] / o['bytes']:.2f} |")

    add(f"\n### Where an upload's time goes (inside the timed uploads, medians of {runs}, ms)\n")
    add("| photo | sent as | total | SHA-256 | decoder child (EXIF, header, pixels, display + thumb) "
        "| verdicts | 3 files (fsync) | rest: plan, team and group checks, the row's commit |")
    add("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, variant, r in sent:
        st = r["steps_ms"]
        add(f"| {name} | {variant} | {r['median_ms']:.0f} | {st['sha256']:.1f} | {st['decode']:.0f} "
            f"| {st['verdicts']:.1f} | {st['files']:.1f} "
            f"| {st['rest']:.1f} |")
    return "\n".join(lines)


def floor_table(server: list[dict], before: Optional[list[dict]], before_commit: Optional[str]) -> str:
    """CPU of one upload as a multiple of the floor (SHA-256 + a full decode of the same bytes,
    measured in the same process): the photo's own work (SHA-256 and the decoder child: EXIF,
    header, decode, display copy, thumbnail), and the whole upload (also the plan and group
    checks, verdicts, three files, the row), with --server-before before → now."""
    was = {(r["name"], r["variant"]): r for r in before or []}

    def cell(r: Optional[dict], key: str, floor: float) -> str:
        return f"{r[key]:.0f} ({r[key] / floor:.2f}×)" if r else "–"

    lines = ["\n### Server CPU per upload against the floor (SHA-256 + full decode of the same bytes)\n",
             "| photo | sent as | bytes | floor CPU ms | photo work CPU ms "
             + (f"before (`{before_commit}`) → now" if before else "") + " | whole upload CPU ms "
             + ("before → now" if before else "") + " |",
             "|---|---|---:|---:|---:|---:|"]
    for r in server:
        b, floor = was.get((r["name"], r["variant"])), r["floor_ms"]
        work = cell(r, "median_photo_cpu_ms", floor)
        whole = cell(r, "median_cpu_ms", floor)
        if before:
            then = b["floor_ms"] if b else floor  # each run's own floor: the load moves both together
            work = f"{cell(b, 'median_photo_cpu_ms', then)} → {work}"
            whole = f"{cell(b, 'median_cpu_ms', then)} → {whole}"
        lines.append(f"| {r['name']} | {r['variant']} | {kb(r['bytes'])} KB | {floor:.0f} | {work} | {whole} |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed uploads per case (after a warm-up)")
    parser.add_argument("--shrink-repeats", type=int, default=3, help="timed shrinks per photo in Chromium")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--before", metavar="COMMIT",
                        help="also run the phone side with photos.js of COMMIT (bytes on the wire before → after)")
    parser.add_argument("--server-before", metavar="COMMIT",
                        help="also run the server side with the app code of COMMIT (a git worktree): CPU before → after")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="measure the server side for this input only (repeatable), e.g. phone_12mp_detailed.jpg")
    parser.add_argument("--phone-only", action="store_true",
                        help="the phone side only: bytes on the wire (no server cost runs)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    require_chromium()
    workdir, env = throwaway("checkin-photos-", LOGIN_LIMIT_PER_ADDRESS="100000 per minute")
    env["PHOTO_STORAGE_DIR"] = os.environ["PHOTO_STORAGE_DIR"] = str(workdir / "photos")
    try:
        import bench_http as bench
        import pillow_heif
        from PIL import Image, ImageOps

        pillow_heif.register_heif_opener()  # this process reads what the phone sent (HEIC as is)
        info = machine()
        say(f"workdir {workdir}; commit {info['commit']}; load {info['loadavg']}")
        migrate()
        plans = bench.seed(bench.plan_document(0, {PHONE: 2}))[PHONE]
        measured_plan, browser_plan = plans

        from checkin_pwa import create_app
        app = create_app()
        checked_in(app, plans)

        inputs_dir = workdir / "inputs"
        inputs_dir.mkdir()
        make_12mp(FIXTURES / "HMD_Nokia_8.3_5G.jpg", inputs_dir / TWELVE_MP)
        detailed_12mp(inputs_dir / DETAILED_12MP, FIXTURES / "HMD_Nokia_8.3_5G.jpg")
        inputs = [inputs_dir / TWELVE_MP, inputs_dir / DETAILED_12MP]
        for name in SPREAD:
            shutil.copy(FIXTURES / name, inputs_dir / name)
            inputs.append(inputs_dir / name)

        before = None
        if args.before:
            say(f"phone side: photos.js of {args.before} in Chromium")
            # Before the split by concern, photos.js held all of it.
            old_js = {name: subprocess.run(["git", "show", f"{args.before}:checkin_pwa/static/js/{name}"], cwd=ROOT,
                                           capture_output=True, text=True).stdout for name in PHOTO_SCRIPTS}
            before = phone_side(app, inputs, browser_plan, inputs_dir, args.shrink_repeats, photos_js=old_js)
            hide_photos(app, browser_plan)
        say("phone side: photos.js in Chromium")
        phone = phone_side(app, inputs, browser_plan, inputs_dir, args.shrink_repeats)
        for found in (phone, before or {}):
            for path in inputs:
                if path.name in found:
                    p = found[path.name]
                    p["exif_kept"] = same_evidence(path.read_bytes(), Path(p["sent_path"]).read_bytes())
                    with Image.open(p["sent_path"]) as sent:
                        p["sent_px"] = "×".join(map(str, ImageOps.exif_transpose(sent).size))
        hide_photos(app, browser_plan)
        if args.phone_only:
            print(f"- **When / what:** {info['when']}, commit `{info['commit']}`, photos.js sha256 "
                  f"`{info['photos_js_sha256']}…`" + (f"; before: photos.js of `{args.before}`" if before else ""))
            print(f"- **Chromium:** {info['chromium']} headless, Pixel 7 context; budget "
                  f"{app.config['PHOTO_WIRE_MAX_BYTES']} bytes\n")
            print(wire_table(phone, before, [p.name for p in inputs], app.config["PHOTO_WIRE_MAX_BYTES"]))
            return 0

        say("server side: one process per case")
        server, server_before = [], []
        roots = [("now", None)]
        if args.server_before:
            worktree = workdir / "before"
            subprocess.run(["git", "worktree", "add", "--detach", str(worktree), args.server_before], cwd=ROOT,
                           check=True, capture_output=True)
            roots.insert(0, ("before", str(worktree)))
        measured = [path for path in inputs if not args.only or path.name in args.only]
        for path in measured:
            p = phone[path.name]
            cases = [("original", str(path))] + ([("shrunk", p["sent_path"])] if p["shrunk"] else [])
            for variant, source in cases:
                for code, root in roots:  # before and now of a case back to back: the same load
                    spec = {"env": env, "input": source, "name": path.name, "variant": variant,
                            "plan_id": measured_plan, "runs": args.runs, "root": root,
                            "original_sha256": p["original_sha256"], "original_bytes": p["original_bytes"]}
                    result = run_child(spec)
                    (server_before if code == "before" else server).append(result)
                    say(f"  {path.name} {variant} ({code}): {result['median_cpu_ms']:.0f} ms CPU "
                        f"(floor {result['floor_ms']:.0f}), peak RSS +{result['rss_growth_kb'] / 1024:.1f} MB")
        if args.server_before:
            subprocess.run(["git", "worktree", "remove", "--force", str(workdir / "before")], cwd=ROOT,
                           capture_output=True)
        info["loadavg_after"] = os.getloadavg()

        print(f"- **When / what:** {info['when']}, commit `{info['commit']}`"
              + (f" (uncommitted changes: {info['changed']!r})" if info["changed"] else "")
              + f", photo-bytes.js sha256 `{info['photos_js_sha256']}…`")
        print(f"- **Machine:** {info['cpus']} CPUs, kernel {info['kernel']} {info['machine']}; Python "
              f"{info['python']}, Pillow {info['pillow']} (libjpeg-turbo {info['libjpeg']}), pillow-heif "
              f"{info['pillow_heif']} (libheif {info['libheif']}); {info['chromium']} headless, Pixel 7 context")
        print(f"- **Load average** (1 min) before → after: {info['loadavg'][0]:.1f} → {info['loadavg_after'][0]:.1f}\n")
        if not args.only:
            print(tables(info, phone, server, args.runs))
        print(floor_table(server, server_before if args.server_before else None, args.server_before))
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({"machine": info, "phone": phone, "server": server,
                                       "server_before": server_before}, indent=1))
        say(f"raw numbers: {RESULTS.relative_to(ROOT)}")
        return 0
    finally:
        clean_up(workdir, args.keep)


if __name__ == "__main__":
    sys.exit(main())
