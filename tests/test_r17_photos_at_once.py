"""R17 exactly once under real concurrency: the same photo sent several times at the same
moment to a real server (the app on 127.0.0.1 in werkzeug's threaded server, real SQLite,
the real store), as a phone's outbox does when the network comes back. One stored photo,
and every request gets the first answer.
"""
from __future__ import annotations

import io
import re
import threading

from PIL import Image
from sqlalchemy import func, select

from checkin_pwa.extensions import db
from checkin_pwa.models import IdempotencyRecord, Photo

from .helpers import HttpPhone

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
    with data as f:
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
        headers={"Idempotency-Key": "photo-k-1", "X-Requested-With": "XMLHttpRequest"}))

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
        headers={"Idempotency-Key": f"photo-k-{i}", "X-Requested-With": "XMLHttpRequest"}))

    assert [status for status, _ in answers] == [201] * SENDS, answers
    assert len({TILE.search(body).group(1) for _, body in answers}) == 1
    photos, _records, files = stored(live_server)
    assert (photos, files) == (1, 3)
