"""The S3-compatible photo store (PHOTO_STORE=s3) over real HTTP against moto's server
mode (tests/servers/s3.py), in every pass: write-once, listing and the orphan sweep,
files streamed through the app (ETag, 304) or by a presigned redirect, and the store down
or answering 500 (the upload refused with 503, nothing half written in the database).

The photo, avatar and notice tests run on this store too in the production pass
(TEST_PHOTO_STORE=s3); these are the parts only an object store has."""
from __future__ import annotations

import io
import urllib.request

import pytest
from sqlalchemy import func, select

from checkin_pwa.extensions import db, limiter
from checkin_pwa.models import Photo
from checkin_pwa.storage import new_key

from . import factories as f
from .conftest import make_app
from .helpers import csrf_token_from, log_in
from .servers.s3 import FailingStore, S3Server, ServerUnavailable
from .test_photos_server import jpeg, send, team
from .test_r14_notices import make_notice


def s3_app_for(tmp_path, migrated_db, **config):
    app = make_app(tmp_path, migrated_db, **config)
    limiter.reset()
    return app


@pytest.fixture
def s3_app(request, tmp_path, migrated_db, s3_server):
    """An app on a fresh bucket of the session's S3 server, its context pushed for the test
    (as `app_context`); more config by indirect param."""
    app = s3_app_for(tmp_path, migrated_db, **s3_server.app_config(**getattr(request, "param", {})))
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def store_of(app):
    return app.extensions["photo_store"]


def sent_photo(app):
    """A team member's phone that sent one photo, and the photo's row."""
    client, plan, _ = team(app)
    assert send(client, plan.id, jpeg()).status_code in (200, 201)
    return client, db.session.scalars(select(Photo)).one()


def photo_rows() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Photo))


def bucket_keys(server, bucket) -> list[str]:
    listed = server.client().list_objects_v2(Bucket=bucket)
    return sorted(item["Key"] for item in listed.get("Contents", ()))


def test_s3_a_key_is_written_once(s3_app):
    store = store_of(s3_app)
    key = new_key("evidence", "jpg")
    store.save(key, b"the photo as received")
    with pytest.raises(FileExistsError):
        store.save(key, b"something else under the same key")
    assert store.read(key) == b"the photo as received"
    assert store.exists(key) and not store.exists(new_key("evidence", "jpg"))


def test_r8_s3_sweep_photos_removes_only_old_orphans_and_leaves_foreign_objects(s3_app, s3_server):
    _client, photo = sent_photo(s3_app)
    store = store_of(s3_app)
    orphan = new_key("evidence", "jpg")
    store.save(orphan, b"left by an upload that crashed before its row")
    bucket = s3_app.config["S3_BUCKET"]
    s3_server.client().put_object(Bucket=bucket, Key="reports/readme.txt", Body=b"not the app's")

    listed = dict(store.keys())
    # Only the app's keys: someone else's object in a shared bucket is not the sweep's.
    assert set(listed) == {photo.evidence_key, photo.display_key, photo.thumb_key, orphan}
    assert all(modified.tzinfo is None for modified in listed.values())  # naive UTC, as the sweep compares

    runner = s3_app.test_cli_runner()
    young = runner.invoke(args=["sweep-photos", "--lang", "en"])  # an hour by default: the orphan is young
    assert young.exit_code == 0, young.output
    assert "Orphan photo files removed: 0; younger ones kept for now: 1." in young.output
    assert store.exists(orphan)

    swept = runner.invoke(args=["sweep-photos", "--min-age", "0", "--lang", "en"])
    assert swept.exit_code == 0, swept.output
    assert "Orphan photo files removed: 1;" in swept.output and orphan in swept.output
    assert bucket_keys(s3_server, bucket) == sorted(
        [photo.evidence_key, photo.display_key, photo.thumb_key, "reports/readme.txt"])


def test_r16_s3_photo_is_streamed_through_the_app_with_its_etag(s3_app, s3_server):
    client, photo = sent_photo(s3_app)

    response = client.get(f"/photos/{photo.id}/display")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.get_data() == store_of(s3_app).read(photo.display_key)
    assert response.headers["ETag"] == f'"photo-{photo.id}-display"'
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # The phone talks to the app only: the page allows no image origin but its own.
    assert s3_server.url not in response.headers["Content-Security-Policy"]

    again = client.get(f"/photos/{photo.id}/display", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""

    outsider = f.auditor()
    db.session.commit()
    stranger = s3_app.test_client()
    log_in(stranger, outsider)
    assert stranger.get(f"/photos/{photo.id}/display").status_code == 404  # R16: the team only


@pytest.mark.parametrize("s3_app", [{"S3_PRESIGN_SECONDS": 60}], indirect=True)
def test_r16_s3_presigned_redirect_serves_the_same_file_and_its_origin_is_allowed(s3_app, s3_server):
    client, photo = sent_photo(s3_app)

    response = client.get(f"/photos/{photo.id}/thumb")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(f"{s3_server.url}/{s3_app.config['S3_BUCKET']}/{photo.thumb_key}?")
    assert "X-Amz-Expires=60" in location
    with urllib.request.urlopen(location, timeout=10) as stored:  # what the phone's browser fetches
        assert stored.read() == store_of(s3_app).read(photo.thumb_key)
        assert stored.headers["Content-Type"] == "image/jpeg"
    assert f"img-src 'self' data: blob: {s3_server.url}" in response.headers["Content-Security-Policy"]

    notice = make_notice("通知", attachments=[("整改 通知.pdf", b"%PDF the notice")])
    db.session.commit()
    item = notice.attachments[0]
    download = client.get(f"/notices/{notice.id}/attachments/{item.id}")
    assert download.status_code == 302
    with urllib.request.urlopen(download.headers["Location"], timeout=10) as stored:
        assert stored.read() == b"%PDF the notice"
        assert stored.headers["Content-Type"] == "application/pdf"
        assert stored.headers["Content-Disposition"] == (
            "attachment; filename=\"attachment-%d.pdf\"; filename*=UTF-8''%%E6%%95%%B4%%E6%%94%%B9%%20"
            "%%E9%%80%%9A%%E7%%9F%%A5.pdf" % item.id)


def test_r14_s3_notice_attachment_and_r1_avatar_are_streamed(s3_app):
    client, _plan, person = team(s3_app)
    notice = make_notice("通知", attachments=[("a.pdf", b"%PDF keep me")])
    db.session.commit()
    item = notice.attachments[0]
    download = client.get(f"/notices/{notice.id}/attachments/{item.id}")
    assert download.status_code == 200 and download.get_data() == b"%PDF keep me"
    assert download.headers["Content-Disposition"] == 'attachment; filename="a.pdf"; filename*=UTF-8\'\'a.pdf'

    token = csrf_token_from(client.get("/me/avatar"))
    sent = client.post("/me/avatar", data={"csrf_token": token, "avatar": (io.BytesIO(jpeg(size=(300, 300))), "me.jpg")},
                       content_type="multipart/form-data")
    assert sent.status_code == 303
    db.session.expire_all()
    key = db.session.get(type(person), person.id).avatar_key
    avatar = client.get("/me/avatar.jpg")
    assert avatar.status_code == 200 and avatar.get_data() == store_of(s3_app).read(key)
    assert client.get("/me/avatar.jpg", headers={"If-None-Match": avatar.headers["ETag"]}).status_code == 304


def test_s3_a_store_without_conditional_puts_still_never_overwrites_a_key(tmp_path, migrated_db, s3_server):
    bucket = s3_server.new_bucket()
    with FailingStore(upstream=s3_server, fail_after=1 << 30, conditional_puts=False) as store_server:
        store = s3_app_for(tmp_path, migrated_db, **s3_server.app_config(
            bucket, S3_ENDPOINT_URL=store_server.url)).extensions["photo_store"]
        key = new_key("evidence", "jpg")
        store.save(key, b"the photo as received")
        assert store_server.refused_conditional == 1 and not store.conditional_put  # asked once, remembered
        with pytest.raises(FileExistsError):
            store.save(key, b"something else under the same key")
        assert store_server.refused_conditional == 1
        assert store.read(key) == b"the photo as received"


# --- faults -----------------------------------------------------------------------------------

def refused_for_now(response) -> None:
    """503 with Retry-After and words: the outbox (static/js/outbox.js) keeps the photo and
    sends it again later, as for any answer of 500 and above."""
    assert response.status_code == 503, response.get_data(as_text=True)[:500]
    assert int(response.headers["Retry-After"]) > 0
    assert "照片存储" in response.get_data(as_text=True) and "本次未保存" in response.get_data(as_text=True)


def test_r17_s3_store_down_refuses_the_upload_with_503_and_the_retry_lands_once(tmp_path, migrated_db):
    try:
        own = S3Server().start()
    except ServerUnavailable as error:
        from .conftest import not_here

        not_here(str(error))
    try:
        app = s3_app_for(tmp_path, migrated_db, **own.app_config())
        with app.app_context():
            client, plan, _ = team(app)
            own.stop()  # the store's host is down: connections refused
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json["failed"] == ["photo_store"]

            retry = {"Idempotency-Key": "photo-1"}
            refused_for_now(send(client, plan.id, jpeg(), headers=retry))
            assert photo_rows() == 0

            own.start(port=own.port)  # back, empty, on the same address: the bucket made again
            own.client().create_bucket(Bucket=app.config["S3_BUCKET"],
                                       CreateBucketConfiguration={"LocationConstraint": "cn-north-1"})
            landed = send(client, plan.id, jpeg(), headers=retry)
            assert landed.status_code in (200, 201), landed.get_data(as_text=True)[:500]
            assert photo_rows() == 1
            photo = db.session.scalars(select(Photo)).one()
            assert sorted(bucket_keys(own, app.config["S3_BUCKET"])) == sorted(
                [photo.evidence_key, photo.display_key, photo.thumb_key])
            db.session.remove()
            db.engine.dispose()
    finally:
        own.stop()


def test_r17_s3_store_answering_500_refuses_upload_and_photo_with_503(tmp_path, migrated_db, s3_server):
    bucket = s3_server.new_bucket()
    with FailingStore(upstream=s3_server, fail_after=3) as store_server:
        app = s3_app_for(tmp_path, migrated_db, **s3_server.app_config(bucket, S3_ENDPOINT_URL=store_server.url))
        with app.app_context():
            client, plan, _ = team(app)
            assert send(client, plan.id, jpeg()).status_code in (200, 201)  # three PUTs forwarded
            photo = db.session.scalars(select(Photo)).one()

            refused_for_now(send(client, plan.id, jpeg((1, 2, 3))))
            assert photo_rows() == 1
            assert store_server.failed > 0
            refused_for_now(client.get(f"/photos/{photo.id}/display"))
            db.session.remove()
            db.engine.dispose()


def test_r17_s3_store_failing_between_files_leaves_no_row_and_the_sweep_takes_the_file(
        tmp_path, migrated_db, s3_server):
    bucket = s3_server.new_bucket()
    with FailingStore(upstream=s3_server, fail_after=1) as store_server:  # the evidence in, then 500s
        app = s3_app_for(tmp_path, migrated_db, **s3_server.app_config(bucket, S3_ENDPOINT_URL=store_server.url))
        with app.app_context():
            client, plan, _ = team(app)
            refused_for_now(send(client, plan.id, jpeg()))
            assert photo_rows() == 0  # no row pointing at files that are not all there
            left = bucket_keys(s3_server, bucket)
            assert len(left) == 1 and left[0].startswith("evidence/")  # its removal failed too

            store_server.heal()
            swept = app.test_cli_runner().invoke(args=["sweep-photos", "--min-age", "0", "--lang", "en"])
            assert "Orphan photo files removed: 1;" in swept.output, swept.output
            assert bucket_keys(s3_server, bucket) == []
            db.session.remove()
            db.engine.dispose()
