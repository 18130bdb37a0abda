"""Real faults of the server's storage, made for real: a disk that fills up (a 64 kB
tmpfs), a file system that goes read-only (the same tmpfs remounted), a database whose
directory is gone, a PostgreSQL server restarted under the app. Each answers 503 with a
message in the user's language and a Retry-After, stores nothing, and the same action sent again once the fault is gone (as
the phone's outbox does with anything answered 5xx) is stored once. Mounting needs root:
without it the tests say so and are skipped (in CI, where it is root, they fail instead)."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import uuid

import pytest
from PIL import Image

from checkin_pwa import create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db, limiter
from checkin_pwa.models import Explanation, Photo

from .conftest import make_app, not_here
from .helpers import on_own_plan

UNAVAILABLE = "服务器暂时无法保存任何内容"


# root's programs (mount, runuser) live in sbin folders that a bare PATH may leave out.
SYSTEM_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


def run(*command: str) -> subprocess.CompletedProcess:
    program = shutil.which(command[0], path=SYSTEM_PATH) or command[0]
    return subprocess.run([program, *command[1:]], capture_output=True, text=True)


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MB file system of its own (tmpfs), unmounted afterwards."""
    where = tmp_path / "disk"
    where.mkdir()
    done = run("mount", "-t", "tmpfs", "-o", "size=1m,mode=0700", "tmpfs", str(where))
    if done.returncode != 0:
        not_here(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
    yield where
    run("umount", "-l", str(where))


def fill(disk) -> None:
    """Write until the file system has no room left (ENOSPC)."""
    with open(disk / "filler", "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError:
            pass


def build(tmp_path, migrated_db, database_dir, photo_dir):
    """The app with its database in `database_dir` (a SQLite file), or None: the pass's own."""
    if database_dir is None:
        url = migrated_db.new_url(tmp_path)
    else:
        database = database_dir / "checkin.sqlite3"
        shutil.copy(migrated_db, database)
        url = f"sqlite:///{database}"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, PHOTO_STORAGE_DIR=str(photo_dir))
    limiter.reset()
    return app


@pytest.fixture
def team_app(request, tmp_path, migrated_db, small_disk):
    """(app, client logged in, plan id, CSRF token), the database or the photos on the small disk."""
    on_disk = getattr(request, "param", "database")
    database_dir = small_disk if on_disk == "database" else None
    photo_dir = small_disk / "photos" if on_disk == "photos" else tmp_path / "photos"
    app = build(tmp_path, migrated_db, database_dir, photo_dir)
    with app.app_context():
        client, plan, _, token = on_own_plan(app)
        yield app, client, plan.id, token
        db.session.remove()
        db.engine.dispose()


def explain(client, plan_id, token, key, **headers):
    return client.post(f"/plans/{plan_id}/explanations", headers=headers, data={
        "csrf_token": token, "text": "工厂停电，改为次日签到", "idempotency_key": key})


def close_database() -> None:
    db.session.remove()
    db.engine.dispose()


def explanations() -> int:
    db.session.remove()
    return db.session.scalar(db.select(db.func.count()).select_from(Explanation))


def assert_unavailable(response):
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert UNAVAILABLE in response.get_data(as_text=True)


def test_r10_r17_a_full_database_disk_answers_503_and_the_resend_is_stored_once_on_sqlite(team_app, small_disk):
    app, client, plan_id, token = team_app
    close_database()  # the write-ahead log is folded in and removed: its next pages need room
    fill(small_disk)
    key = uuid.uuid4().hex
    assert_unavailable(explain(client, plan_id, token, key, **{"X-Outbox": "1"}))

    (small_disk / "filler").unlink()
    assert explanations() == 0
    assert explain(client, plan_id, token, key, **{"X-Outbox": "1"}).status_code == 201
    assert explanations() == 1


def test_r10_r17_a_database_gone_read_only_answers_503_and_nothing_is_written_on_sqlite(team_app, small_disk):
    app, client, plan_id, token = team_app
    close_database()  # open files would keep the remount from happening
    done = run("mount", "-o", "remount,ro", str(small_disk))
    assert done.returncode == 0, done.stderr
    try:
        key = uuid.uuid4().hex
        assert_unavailable(explain(client, plan_id, token, key))
        assert_unavailable(explain(client, plan_id, token, key, **{"HX-Request": "true"}))
        close_database()
    finally:
        run("mount", "-o", "remount,rw", str(small_disk))
    assert explanations() == 0
    assert explain(client, plan_id, token, key).status_code == 303
    assert explanations() == 1


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 30, 30)).save(out, "JPEG", quality=95)
    return out.getvalue()


@pytest.mark.parametrize("team_app", ["photos"], indirect=True)
def test_r8_r17_a_photo_on_a_full_disk_answers_503_and_the_resend_is_stored_once(team_app, small_disk):
    app, client, plan_id, token = team_app
    fill(small_disk)
    key = uuid.uuid4().hex

    def send():
        return client.post(f"/plans/{plan_id}/photos", headers={"X-Outbox": "1"}, data={
            "csrf_token": token, "group": "first", "idempotency_key": key,
            "photo": (io.BytesIO(jpeg()), "site.jpg", "image/jpeg")}, content_type="multipart/form-data")

    assert_unavailable(send())
    assert db.session.scalar(db.select(db.func.count()).select_from(Photo)) == 0

    (small_disk / "filler").unlink()
    assert send().status_code == 201
    db.session.remove()
    assert db.session.scalar(db.select(db.func.count()).select_from(Photo)) == 1


def test_an_unreachable_database_answers_503_on_pages_forms_and_the_api_on_sqlite(tmp_path, migrated_db):
    """The SQLite file's directory is deleted under the running app (an unmounted volume)."""
    gone = tmp_path / "volume"
    gone.mkdir()
    app = build(tmp_path, migrated_db, gone, tmp_path / "photos")
    with app.app_context():
        client, plan, _, token = on_own_plan(app)
        plan_id = plan.id
        db.session.remove()
        db.engine.dispose()
    shutil.rmtree(gone)

    assert_unavailable(client.get("/"))
    assert_unavailable(client.get(f"/plans/{plan_id}"))
    assert_unavailable(explain(client, plan_id, token, uuid.uuid4().hex, **{"X-Outbox": "1"}))
    api = client.post("/api/v1/plans", data=b"{}", content_type="application/json",
                      headers={"Authorization": "Bearer some-token"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "60"
    assert api.get_json()["error"].startswith(UNAVAILABLE)
    with app.app_context():
        db.engine.dispose()


def test_the_first_request_after_a_database_restart_is_answered_on_postgresql(tmp_path, migrated_db, postgres_server):
    """Pooled connections die with the server; each is checked before use and replaced."""
    app = make_app(tmp_path, migrated_db)
    limiter.reset()
    with app.app_context():
        client, plan, _, _ = on_own_plan(app)
        plan_id = plan.id
        db.session.remove()
    assert client.get(f"/plans/{plan_id}").status_code == 200  # the pool now holds a connection

    postgres_server.restart()

    assert client.get(f"/plans/{plan_id}").status_code == 200
    with app.app_context():
        db.engine.dispose()
