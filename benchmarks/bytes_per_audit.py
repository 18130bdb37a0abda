"""Bytes per audit: what one audit adds to the database and to the photo store, for sizing
(docs/scale.md).

A throwaway migrated database (SQLite, or with --postgres a PostgreSQL server of its own,
tests/servers/postgres.py) and a filesystem photo store. Plans come through the real plan
import, one enterprise and a two-auditor team each; each plan's leader then does over HTTP
(Flask's test client, the app's full request path: CSRF, idempotency records, audit log)
what the phone does: logs in, checks in, uploads photos, checks out. Photos go to a sample
of the plans only (a photo costs ~0.1 s of CPU to judge); each is a distinct JPEG of
1600×1200 and about 275 kB, within the phone's budget (PHOTO_WIRE_MAX_BYTES), made from the
real Nokia fixture with its EXIF.

Then the bytes each table holds (SQLite's dbstat after VACUUM; PostgreSQL's
pg_total_relation_size after VACUUM: table, indexes and TOAST) minus the empty schema's,
per row; and the store's bytes per photo by kind (evidence as sent, display copy,
thumbnail). Prints Markdown tables on stdout.

    .venv/bin/python benchmarks/bytes_per_audit.py [--plans 150] [--photo-plans 20] [--postgres]
"""
from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import os
import platform
import random
import re
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import FIXTURES, ROOT, clean_up, migrate, say, throwaway  # noqa: E402

sys.path.insert(0, str(ROOT))

PASSWORD = "Bench#pass1"
SITE = (41.1256, 126.1865)
CHECKOUT_AFTER = dt.timedelta(minutes=61)
PHOTOS_PER_AUDIT = {"first": 3, "last": 3, "other": 2}  # 8, as the sizing assumes
_FORM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_HEADER_TOKEN = re.compile(r'"X-CSRFToken"\s*:\s*"([^"]+)"')


def plan_document(first: int, count: int) -> dict:
    from zoneinfo import ZoneInfo

    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()
    start = f"{today}T00:30:00+08:00"
    end = f"{today}T23:59:00+08:00"
    auditors, plans = [], []
    for i in range(first, first + count):
        leader, member = f"1390{i:07d}", f"1380{i:07d}"
        for phone, n in ((leader, 1), (member, 2)):
            auditors.append({"phone": phone, "name": f"审核员{i}-{n}", "id_type": "id_card",
                             "id_number": f"1101011980{n}{i:07d}", "initial_password": PASSWORD})
        plans.append({
            "plan_no": f"SIZE-{i:06d}",
            "enterprise": {"name": f"吉林省某某机械制造股份有限公司{i}", "contact": "张某", "phone": "0435-1234567"},
            "project": {"code": "ISO9001", "levels": ["管理体系认证", "质量管理体系认证", "ISO9001"]},
            "required": True, "certificate_no": "11721Q0123R1M", "activity": "监督审核",
            "start": start, "end": end, "region": "吉林省通化市",
            "sites": [{"address": "吉林省集安市工业园区1号", "lat": SITE[0], "lon": SITE[1]}],
            "team": [{"phone": leader, "role": "leader"}, {"phone": member, "role": "member"}],
            "mode": "onsite", "confidential": False, "remarks": "审核方式: 现场审核", "status": "valid",
        })
    return {"agency": {"code": "CNCA-R-SIZE", "name": "容量测算认证中心"}, "auditors": auditors, "plans": plans}


def phone_photos(count: int) -> list[bytes]:
    """Distinct 1600×1200 JPEGs of about 275 kB, what the phone sends of a detailed camera
    photo (photos.js keeps each within PHOTO_WIRE_MAX_BYTES, 300 kB), from the Nokia
    fixture's pixels with a little noise, its EXIF kept."""
    from PIL import Image

    source = Image.open(FIXTURES / "HMD_Nokia_8.3_5G.jpg")
    exif = source.getexif()
    base = source.convert("RGB")
    rng = random.Random(7)
    out = []
    for _ in range(count):
        left = rng.randint(0, base.width - 2635)
        crop = base.crop((left, 0, left + 2635, 1976)).resize((1600, 1200))
        noise = Image.frombytes("RGB", crop.size, rng.randbytes(1600 * 1200 * 3))
        buffer = io.BytesIO()
        Image.blend(crop, noise, 0.03).save(buffer, "JPEG", quality=82, exif=exif)
        out.append(buffer.getvalue())
    return out


class Phone:
    """One auditor's requests through the app in this process, an app context each."""

    def __init__(self, app):
        self.app = app
        self.client = app.test_client()
        self.csrf = ""

    def _open(self, *args, **kwargs):
        with self.app.app_context():
            return self.client.open(*args, **kwargs)

    def log_in(self, phone: str) -> None:
        page = self._open("/login").get_data(as_text=True)
        token = _FORM_TOKEN.search(page).group(1)
        answer = self._open("/login", method="POST", data={"phone": phone, "password": PASSWORD, "csrf_token": token})
        assert answer.status_code == 303, answer.status_code
        page = html.unescape(self._open("/").get_data(as_text=True))
        self.csrf = _HEADER_TOKEN.search(page).group(1)

    def htmx(self, path: str, **kwargs):
        headers = {"HX-Request": "true", "X-CSRFToken": self.csrf, "Idempotency-Key": uuid.uuid4().hex}
        return self._open(path, method="POST", headers=headers, **kwargs)

    def check(self, plan_id: int, kind: str, later: float = 0) -> int:
        now_ms = str(int((time.time() + later) * 1000))
        form = {"device_lat": SITE[0], "device_lon": SITE[1], "device_accuracy": "12",
                "device_position_time": now_ms, "device_time": now_ms, "device_time_sent": now_ms,
                "lat": SITE[0], "lon": SITE[1], "idempotency_key": uuid.uuid4().hex, "csrf_token": self.csrf}
        answer = self.htmx(f"/plans/{plan_id}/{'checkin' if kind == 'in' else 'checkout'}", data=form)
        if answer.status_code != 200:
            say(answer.get_data(as_text=True)[:2000])
        return answer.status_code

    def photo(self, plan_id: int, group: str, data: bytes) -> int:
        form = {"csrf_token": self.csrf, "group": group, "photo": (io.BytesIO(data), "IMG_0001.jpg", "image/jpeg")}
        answer = self.htmx(f"/plans/{plan_id}/photos", data=form, content_type="multipart/form-data")
        if answer.status_code != 201:
            say(answer.get_data(as_text=True)[:2000])
        return answer.status_code


def table_bytes(db) -> dict[str, int]:
    """Bytes on disk per table, its indexes included, after a VACUUM."""
    engine = db.engine
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            connection.exec_driver_sql("VACUUM")
            rows = connection.exec_driver_sql(
                "SELECT coalesce(m.tbl_name, s.name), sum(s.pgsize) FROM dbstat s "
                "LEFT JOIN sqlite_schema m ON m.name = s.name GROUP BY 1").all()
        return {name: int(size) for name, size in rows}
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("VACUUM ANALYZE")
        rows = connection.exec_driver_sql(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'").all()
    return {name: int(size) for name, size in rows}


def row_counts(db, names) -> dict[str, int]:
    from sqlalchemy import text

    with db.engine.connect() as connection:
        return {name: connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar() for name in names}


def run_batch(app, first: int, count: int, photo_plans: int, photos: list[bytes]) -> int:
    """Import `count` plans numbered from `first` and do what their phones do; the bytes of
    the photos sent."""
    from checkin_pwa.extensions import db
    from checkin_pwa.models import Auditor, AuditPlan
    from checkin_pwa.domain import clock
    from checkin_pwa.services.plan_import import import_plans

    with app.app_context():
        say(f"importing plans {first}..{first + count - 1}")
        summary = import_plans(plan_document(first, count))
        assert summary.accepted, summary.as_dict()["refused"][:3]
        db.session.execute(db.update(Auditor).values(must_change_password=False))
        db.session.commit()
        plans = db.session.execute(db.select(AuditPlan.id, AuditPlan.plan_no).where(
            AuditPlan.plan_no.in_([f"SIZE-{i:06d}" for i in range(first, first + count)])).order_by(AuditPlan.plan_no)).all()
        db.session.remove()
    sent = 0
    say(f"logging in and checking in; photos on {photo_plans} plans")
    phones = []
    for n, (plan_id, plan_no) in enumerate(plans):
        phone = Phone(app)
        phone.log_in(f"1390{int(plan_no.split('-')[1]):07d}")
        assert phone.check(plan_id, "in") == 200
        if n < photo_plans:
            for group, per_group in PHOTOS_PER_AUDIT.items():
                for _ in range(per_group):
                    data = photos.pop()
                    assert phone.photo(plan_id, group, data) == 201
                    sent += len(data)
        phones.append((phone, plan_id))
    # Check-out opens an hour after check-in: the server's clock (and the phones') moves on
    # by 61 minutes for the check-outs; nothing else is changed.
    say("checking out an hour later")
    real_now = clock.now
    clock.now = lambda: real_now() + CHECKOUT_AFTER
    try:
        for phone, plan_id in phones:
            assert phone.check(plan_id, "out", later=CHECKOUT_AFTER.total_seconds()) == 200
    finally:
        clock.now = real_now
    return sent


def measure(app):
    from checkin_pwa.extensions import db

    with app.app_context():
        sizes = table_bytes(db)
        counts = row_counts(db, sizes)
        db.session.remove()
    return sizes, counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--plans", type=int, default=150, help="audits per batch (each with its own two auditors)")
    parser.add_argument("--photo-plans", type=int, default=20, help="of those, how many get 8 photos")
    parser.add_argument("--postgres", action="store_true", help="on a PostgreSQL server of its own")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()

    workdir, _env = throwaway("bench-bytes-")
    os.environ["PHOTO_STORAGE_DIR"] = str(workdir / "photos")
    os.environ["EXPORT_DIR"] = str(workdir / "exports")
    server = None
    if args.postgres:
        from tests.servers import postgres

        server = postgres.start()
        os.environ["DATABASE_URL"] = server.url(server.create(name="bytes"))
    try:
        migrate()
        from checkin_pwa import create_app
        from checkin_pwa.extensions import db
        from checkin_pwa.models import CheckEvent, Photo

        app = create_app()
        photos = phone_photos(2 * args.photo_plans * sum(PHOTOS_PER_AUDIT.values()))
        # Two equal batches: the second's bytes are what the same audits add to a database
        # that already holds some, without the first pages every table and index starts with.
        run_batch(app, 0, args.plans, args.photo_plans, photos)
        before = measure(app)
        with app.app_context():
            known = set(db.session.scalars(db.select(Photo.id)))
        sent = run_batch(app, args.plans, args.plans, args.photo_plans, photos)
        after = measure(app)
        with app.app_context():
            assert db.session.scalar(db.select(db.func.count()).select_from(CheckEvent)) == 4 * args.plans
            keys = [(p.evidence_key, p.display_key, p.thumb_key)
                    for p in db.session.scalars(db.select(Photo)) if p.id not in known]
            version = db.session.execute(db.text("SELECT version()" if server else "SELECT sqlite_version()")).scalar()
            db.session.remove()
            db.engine.dispose()

        store = Path(os.environ["PHOTO_STORAGE_DIR"])
        kind_bytes = defaultdict(int)
        for evidence, display, thumb in keys:
            for kind, key in (("evidence", evidence), ("display", display), ("thumb", thumb)):
                kind_bytes[kind] += (store / key).stat().st_size
        report(args, before, after, len(keys), sent, kind_bytes, version)
    finally:
        if server:
            server.stop()
        clean_up(workdir, args.keep)
    return 0


def report(args, before, after, photos, sent, kind_bytes, version) -> None:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    name = version.split(" on ")[0] if args.postgres else f"SQLite {version}"
    print(f"- **When / what:** {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, commit `{commit}`; "
          f"{name}, Python {platform.python_version()}")
    print(f"- **Data:** two batches of {args.plans} audits (plan, enterprise, one site, a leader and a member), "
          f"each checked in and out by its leader over HTTP, {args.photo_plans} of them with 8 photos; "
          "below, what the second batch added\n")
    (sizes_a, counts_a), (sizes_b, counts_b) = before, after
    print("| table | rows added | bytes added | bytes / row |")
    print("|---|---:|---:|---:|")
    total = 0
    for table in sorted(sizes_b, key=lambda n: sizes_b[n] - sizes_a.get(n, 0), reverse=True):
        added, rows = sizes_b[table] - sizes_a.get(table, 0), counts_b.get(table, 0) - counts_a.get(table, 0)
        if added <= 0 and rows <= 0:
            continue
        total += added
        print(f"| {table} | {rows:,} | {added:,} | {added // rows if rows > 0 else '–':,} |"
              if rows > 0 else f"| {table} | {rows:,} | {added:,} | – |")
    print(f"| **all** | | {total:,} | |\n")
    print("| photo store, per photo | bytes |")
    print("|---|---:|")
    print(f"| sent by the phone (multipart file) | {sent // photos:,} |")
    for kind in ("evidence", "display", "thumb"):
        print(f"| stored: {kind} | {kind_bytes[kind] // photos:,} |")
    stored = sum(kind_bytes.values()) // photos
    print(f"| **stored, all three** | **{stored:,}** ({stored / (sent / photos):.2f} × sent) |")


if __name__ == "__main__":
    sys.exit(main())
