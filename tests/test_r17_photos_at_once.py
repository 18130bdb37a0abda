"""R17 exactly once under real concurrency: the same photo sent several times at the same
moment to a real server (the app on 127.0.0.1 in werkzeug's threaded server, real SQLite,
the real store), as a phone's outbox does when the network comes back. One stored photo,
and every request gets the first answer.
"""
from __future__ import annotations

import datetime as dt
import io
import re
import threading

from PIL import Image
from sqlalchemy import func, select

from checkin_pwa.extensions import db
from checkin_pwa.models import IdempotencyRecord, Photo
from checkin_pwa.services import idempotency

from . import factories as f
from .helpers import HttpPhone, on_own_plan

TILE = re.compile(r'id="photo-(\d+)"')
SENDS = 6


def photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (40, 90, 160)).save(out, "JPEG", quality=90)
    return out.getvalue()


def at_once(send) -> list[tuple[int, str]]:
    start = threading.Barrier(SENDS)
    answers: list = [None] * SENDS

    def one(index: int) -> None:
        start.wait()
        answers[index] = send(index)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(SENDS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return answers


def setup(live_server, data):
    with data:
        person = f.auditor()
        plan = f.plan([person])
        db.session.flush()
        phone_no, plan_id = person.phone, plan.id
    phone = HttpPhone(live_server.url, phone_no)
    return phone, plan_id, phone.token(f"/plans/{plan_id}")


def stored(live_server) -> tuple[int, int, int]:
    with live_server.app.app_context():
        photos = db.session.scalar(select(func.count()).select_from(Photo))
        records = db.session.scalar(select(func.count()).select_from(IdempotencyRecord))
        files = len(list(live_server.app.extensions["photo_store"].keys()))
        db.session.remove()
    return photos, records, files


def test_r17_the_same_photo_sent_six_times_at_once_with_one_key_is_stored_once(live_server, data):
    phone, plan_id, token = setup(live_server, data)
    sent = photo()

    answers = at_once(lambda i: phone.request(
        f"/plans/{plan_id}/photos", fields={"csrf_token": token, "group": "first"},
        files={"photo": ("IMG_0001.jpg", sent)},
        headers={"Idempotency-Key": "photo-k-1", "X-Checkin-Client": "photos"}))

    assert [status for status, _ in answers] == [201] * SENDS, answers
    tiles = {TILE.search(body).group(1) for _, body in answers}
    assert len(tiles) == 1  # every request got the first answer: the same tile
    assert stored(live_server) == (1, 1, 3)


def test_r17_the_same_photo_sent_six_times_at_once_with_different_keys_is_stored_once(live_server, data):
    """Without one key to share (two phones of one auditor, a form sent twice), the
    database's unique index keeps the bytes once in the group; every request is answered
    with that photo."""
    phone, plan_id, token = setup(live_server, data)
    sent = photo()

    answers = at_once(lambda i: phone.request(
        f"/plans/{plan_id}/photos", fields={"csrf_token": token, "group": "first"},
        files={"photo": ("IMG_0001.jpg", sent)},
        headers={"Idempotency-Key": f"photo-k-{i}", "X-Checkin-Client": "photos"}))

    assert [status for status, _ in answers] == [201] * SENDS, answers
    assert len({TILE.search(body).group(1) for _, body in answers}) == 1
    photos, _records, files = stored(live_server)
    assert (photos, files) == (1, 3)


def test_r17_a_key_claimed_by_a_worker_that_died_is_taken_over(app_context, app):
    """A claim without an answer older than CLAIM_STALE_S (its worker was killed mid-request)
    does not block the key for ever: the next send with it runs and is stored."""
    client, plan, person, token = on_own_plan(app)
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=idempotency.CLAIM_STALE_S + 60)
    db.session.add(IdempotencyRecord(auditor_id=person.id, key="k-orphan", endpoint="photos.upload",
                                     fingerprint="0" * 64, status_code=None, headers={}, body="", created_at=long_ago))
    db.session.commit()

    response = client.post(f"/plans/{plan.id}/photos", content_type="multipart/form-data",
                           data={"csrf_token": token, "group": "first", "photo": (io.BytesIO(photo()), "a.jpg")},
                           headers={"Idempotency-Key": "k-orphan", "X-Checkin-Client": "photos"})

    assert response.status_code == 201
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 1
    assert db.session.scalar(select(IdempotencyRecord.status_code).where(IdempotencyRecord.key == "k-orphan")) == 201


def test_r17_a_send_whose_first_try_is_still_running_is_asked_to_come_back(app_context, app, monkeypatch):
    """The first request with the key has not answered within WAIT_S: 503 with Retry-After
    (the outbox keeps the photo and sends it again), nothing run, nothing written."""
    monkeypatch.setattr(idempotency, "WAIT_S", 0.3)
    client, plan, _, token = on_own_plan(app)
    form = lambda: {"csrf_token": token, "group": "first", "photo": (io.BytesIO(photo()), "a.jpg")}  # noqa: E731
    headers = {"Idempotency-Key": "k-running", "X-Checkin-Client": "photos"}
    real_claim = idempotency.claim

    def first_still_running(auditor_id, key, payload, **kwargs):
        """Another request with this key claimed it a moment ago and is still running."""
        db.session.add(IdempotencyRecord(auditor_id=auditor_id, key=key, endpoint=payload.endpoint,
                                         fingerprint=payload.fingerprint, status_code=None, headers={}, body=""))
        db.session.commit()
        monkeypatch.setattr(idempotency, "claim", real_claim)
        return real_claim(auditor_id, key, payload, **kwargs)

    monkeypatch.setattr(idempotency, "claim", first_still_running)
    response = client.post(f"/plans/{plan.id}/photos", content_type="multipart/form-data", data=form(), headers=headers)

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "该操作仍在保存中，稍后会自动重新发送。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Photo)) == 0


def _row_one_of_what_refers(connection, table: str) -> None:
    """Row 1 in every table `table` refers to, directly or through them, with a value of its
    declared type in each required column: the migrations check every reference."""
    for referred in {row[2] for row in connection.execute(f"PRAGMA foreign_key_list({table})")}:
        if referred == table or connection.execute(f'SELECT 1 FROM "{referred}" WHERE id = 1').fetchone():
            continue
        _row_one_of_what_refers(connection, referred)
        columns = [row for row in connection.execute(f'PRAGMA table_info("{referred}")')
                   if row[3] and row[4] is None and row[1] != "id"]  # NOT NULL, no default
        values = [1 if "INT" in kind.upper() or "BOOL" in kind.upper()
                  else "2026-11-29 07:00:00" if "DATE" in kind.upper() or "TIME" in kind.upper()
                  else name for _, name, kind, *_ in columns]
        names = ", ".join(f'"{row[1]}"' for row in columns)
        marks = ", ".join("?" for _ in columns)
        connection.execute(f'INSERT INTO "{referred}" (id{", " if columns else ""}{names}) '
                           f'VALUES (1{", " if columns else ""}{marks})', values)


def test_r17_the_migration_keeps_the_first_of_copies_stored_twice_and_hides_the_others(tmp_path):
    """Databases from before the unique index may hold the same bytes twice in a group (the
    race this file tests): the upgrade keeps the first, hides the later ones like a deleted
    photo (row and files kept as evidence), and then adds the index."""
    import sqlite3

    from flask_migrate import upgrade

    from checkin_pwa import create_app
    from checkin_pwa.config import TestConfig

    path = tmp_path / "old.sqlite3"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", PHOTO_STORAGE_DIR=str(tmp_path))
    with app.app_context():
        upgrade(revision="67f4cdc76688")
        with sqlite3.connect(path) as old:
            old.execute("PRAGMA foreign_keys=OFF")
            _row_one_of_what_refers(old, "photo")  # the plan and auditor the photos name
            for group, sha in (("first", "a"), ("first", "a"), ("first", "a"), ("last", "a"), ("first", "b")):
                old.execute(
                    'INSERT INTO photo (plan_id, "group", uploader_id, uploaded_at, sha256_received, bytes_received,'
                    ' format, width, height, evidence_key, display_key, thumb_key, exif, verdicts) VALUES'
                    " (1, ?, 1, '2026-11-29 07:00:00', ?, 1, 'jpeg', 1, 1, 'e', 'd', 't', '{}', '{}')", (group, sha))
        upgrade()
        db.engine.dispose()
    with sqlite3.connect(path) as new:
        assert new.execute("SELECT id, deleted_at IS NULL FROM photo ORDER BY id").fetchall() == [
            (1, 1), (2, 0), (3, 0), (4, 1), (5, 1)]
        assert "uq_photo_plan_group_bytes" in {row[0] for row in new.execute("SELECT name FROM sqlite_master")}
