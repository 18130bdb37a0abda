"""Photo store benchmark: one photo upload (`services.photos.upload` end to end) with its
files on the filesystem store, and with them in an S3-compatible object store, in one run.

The object store is moto's server mode (tests/servers/s3.py) in its own process on
127.0.0.1, spoken to over HTTP by boto3 as the app speaks to MinIO, OSS or COS; it shares
the machine's cores with the app, and it is a Python server, not MinIO: the S3 row shows
what the app itself pays for a store across the network (three PUTs with their round trips,
boto3's signing) plus a slow store's answers, an upper bound rather than a forecast.

Each case is bench_photos.py's measuring child (a fresh process: three warm-up uploads,
then --runs timed uploads, each undone), the two stores taking turns for --rounds rounds,
so a busy minute of the shared machine falls on both. Inputs: the real Nokia photo of
shared/fixtures/photos sent as is (2.1 MB, as a phone that cannot shrink sends it), and a
1600 px JPEG Pillow makes from it with its EXIF (about what photos.js sends).

    .venv/bin/python benchmarks/bench_photo_store.py [--runs 9] [--rounds 2] [--keep]
"""
from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_photos  # noqa: E402
from common import FIXTURES, ROOT, clean_up, migrate, say, throwaway  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "photo_store.json"
SOURCE = "HMD_Nokia_8.3_5G.jpg"


def phone_sized(source: Path, target: Path) -> None:
    from PIL import Image

    with Image.open(source) as image:
        exif = image.info.get("exif", b"")
        image.thumbnail((1600, 1600), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        image.save(out, "JPEG", quality=85, exif=exif)
    target.write_bytes(out.getvalue())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="timed uploads per case and round")
    parser.add_argument("--rounds", type=int, default=2, help="turns each store takes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(bench_photos.child(json.loads(args.child))))
        return 0

    workdir, env = throwaway("checkin-photo-store-", LOGIN_LIMIT_PER_ADDRESS="100000 per minute")
    sys.path.insert(0, str(ROOT))
    from tests.servers.s3 import S3Server

    server = S3Server().start()
    try:
        import bench_http as bench

        import os
        import subprocess

        import boto3
        import moto

        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True).stdout.strip()
        load_before = os.getloadavg()[0]
        migrate()
        plan_id = bench.seed(bench.plan_document(0, {bench_photos.PHONE: 1}))[bench_photos.PHONE][0]
        from checkin_pwa import create_app

        bench_photos.checked_in(create_app(), [plan_id])

        inputs = workdir / "inputs"
        inputs.mkdir()
        original = inputs / SOURCE
        original.write_bytes((FIXTURES / SOURCE).read_bytes())
        small = inputs / "phone_1600px.jpg"
        phone_sized(original, small)

        stores = {
            "filesystem": {**env, "PHOTO_STORE": "filesystem", "PHOTO_STORAGE_DIR": str(workdir / "photos")},
            "s3": {**env, **{k: str(v) for k, v in server.app_config().items()}},
        }
        results: dict[tuple[str, str], list[dict]] = {}
        for round_ in range(args.rounds):
            for path in (small, original):
                for store, store_env in stores.items():
                    spec = {"env": store_env, "input": str(path), "name": path.name, "variant": store,
                            "plan_id": plan_id, "runs": args.runs}
                    done = subprocess.run(
                        [sys.executable, __file__, "--child", json.dumps(spec)], cwd=ROOT,
                        capture_output=True, text=True)
                    if done.returncode != 0:
                        raise SystemExit(f"{path.name} on {store} failed:\n{done.stderr}")
                    result = json.loads(done.stdout)
                    results.setdefault((path.name, store), []).append(result)
                    say(f"  round {round_ + 1} {path.name} {store}: {result['median_ms']:.1f} ms, "
                        f"files {result['steps_ms']['files']:.1f} ms")

        def pooled(name: str, store: str, field: str) -> float:
            values = [v for r in results[(name, store)] for v in (r[field] if isinstance(r[field], list) else [r[field]])]
            return statistics.median(values)

        def step(name: str, store: str, key: str) -> float:
            return statistics.median(r["steps_ms"][key] for r in results[(name, store)])

        print(f"- commit `{commit}`, boto3 {boto3.__version__}, moto {moto.__version__} (server mode), "
              f"{os.cpu_count()} CPUs; load average (1 min) {load_before:.1f} → {os.getloadavg()[0]:.1f}; "
              f"{args.rounds} rounds × {args.runs} timed uploads per case\n")
        print("| photo | bytes | store | upload ms (median) | CPU ms of the app | 3 files ms | rest of the upload ms |")
        print("|---|---:|---|---:|---:|---:|---:|")
        rows = []
        for path in (small, original):
            for store in stores:
                total, cpu, files = pooled(path.name, store, "ms"), pooled(path.name, store, "cpu_ms"), step(path.name, store, "files")
                rows.append((path.name, store, total, cpu, files))
                print(f"| {path.name} | {path.stat().st_size:,} | {store} | {total:.1f} | {cpu:.1f} | {files:.1f} | {total - files:.1f} |")
        print()
        print("| photo | upload ms: s3 / filesystem | 3 files ms: s3 / filesystem | app CPU ms: s3 / filesystem |")
        print("|---|---:|---:|---:|")
        for path in (small, original):
            fs = next(r for r in rows if r[0] == path.name and r[1] == "filesystem")
            s3 = next(r for r in rows if r[0] == path.name and r[1] == "s3")
            print(f"| {path.name} | {s3[2] / fs[2]:.2f} | {s3[4] / fs[4]:.2f} | {s3[3] / fs[3]:.2f} |")
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps({f"{k[0]} {k[1]}": v for k, v in results.items()}, indent=1))
        say(f"raw numbers: {RESULTS.relative_to(ROOT)}")
        return 0
    finally:
        server.stop()
        clean_up(workdir, args.keep)


if __name__ == "__main__":
    sys.exit(main())
