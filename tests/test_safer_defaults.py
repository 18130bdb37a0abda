"""Defaults a careful operator expects without setting anything: pages and evidence never
kept by HTTP caches, the session cookie Secure over HTTPS (also behind a trusted proxy),
and the database and the photos readable by the server's own user only."""
from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image

from checkin_pwa import create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db
from checkin_pwa.models import Photo

from . import factories as f
from .helpers import csrf_token_from, log_in
from .servers import dies_with_run
from .test_embedding import app_with, cookie_attributes  # noqa: F401  (app_with is a fixture)

ROOT = Path(__file__).resolve().parent.parent


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def test_r16_private_pages_and_photos_are_never_kept_by_http_caches(app_context, app, client):
    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    log_in(client, me)
    for path, headers in (("/", {}), (f"/plans/{plan.id}", {}), (f"/plans/{plan.id}/explain", {"HX-Request": "true"}),
                          ("/me", {}), ("/tasks", {}), ("/login", {})):
        response = client.get(path, headers=headers, follow_redirects=True)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path

    token = csrf_token_from(client.get(f"/plans/{plan.id}"))
    sent = client.post(f"/plans/{plan.id}/photos", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "group": "first", "photo": (io.BytesIO(jpeg()), "a.jpg", "image/jpeg")},
        content_type="multipart/form-data")
    assert sent.status_code == 201
    photo = db.session.scalar(db.select(Photo))
    for kind in ("thumb", "display"):
        assert client.get(f"/photos/{photo.id}/{kind}").headers["Cache-Control"] == "private, no-store"
    # Static files may be kept (and checked again): they are the same for everyone.
    assert client.get("/static/js/app.js").headers["Cache-Control"] == "no-cache"


@pytest.mark.parametrize("how, secure", [
    ({"base_url": "https://checkin.example-cert.cn"}, True),  # HTTPS straight to the app
    ({"headers": {"X-Forwarded-Proto": "https"}, "environ_base": {"REMOTE_ADDR": "127.0.0.1"}}, True),  # trusted proxy
    ({"headers": {"X-Forwarded-Proto": "https"}, "environ_base": {"REMOTE_ADDR": "203.0.113.9"}}, False),  # anyone
    ({}, False),  # plain http (a test install on the intranet)
])
def test_the_session_cookie_is_secure_when_served_over_https(app_with, how, secure):
    response = app_with().test_client().get("/login", **how)
    assert ("secure" in cookie_attributes(response)) is secure


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_database_file_and_the_photo_folders_are_owner_only(tmp_path):
    from flask_migrate import upgrade

    database = tmp_path / "new" / "checkin.sqlite3"
    database.parent.mkdir()
    photos = tmp_path / "photos"
    old = os.umask(0o022)  # the usual umask: others could read what the app creates
    try:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{database}", PHOTO_STORAGE_DIR=str(photos))
        with app.app_context():
            upgrade()
            f.auditor()
            db.session.commit()
            app.extensions["photo_store"].save("evidence/ab/cd/" + "0" * 32 + ".jpg", jpeg())
            assert mode(database) == 0o600
            assert mode(f"{database}-wal") == 0o600  # SQLite gives its log the file's mode
            db.engine.dispose()
    finally:
        os.umask(old)
    assert mode(photos) == 0o700
    for folder in ("evidence", "evidence/ab", "evidence/ab/cd"):
        assert mode(photos / folder) == 0o700, folder
    assert mode(photos / "evidence/ab/cd" / ("0" * 32 + ".jpg")) == 0o600


def test_gunicorn_as_make_run_starts_it_names_no_version(tmp_path, migrated_db):
    """`make run` serves through gunicorn: its Server header says only "gunicorn" (Werkzeug's
    development server, never used in production, would say its and Python's versions)."""
    env = {**os.environ, "DATABASE_URL": migrated_db.new_url(tmp_path), "SECRET_KEY": "banner-test", "TILE_URL": "",
           "PHOTO_STORAGE_DIR": str(tmp_path / "photos")}
    log = tmp_path / "gunicorn.log"
    # gunicorn reads ./gunicorn.conf.py as make run does, which logs to stderr (JSON lines).
    log_file = open(log, "w")
    server = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "--bind", "127.0.0.1:0",
                               "--workers", "1", "wsgi:app"], cwd=ROOT, env=env, stderr=log_file,
                              preexec_fn=dies_with_run())
    try:
        address = None
        while address is None and server.poll() is None:  # gunicorn logs the port it bound
            found = re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log.read_text() if log.exists() else "")
            address = found.group(1) if found else time.sleep(0.05)
        assert address, log.read_text()
        # The socket is open: the request waits in its backlog until the worker has started.
        answer = urllib.request.urlopen(address + "/login", timeout=120)
        assert answer.status == 200
        assert answer.headers["Server"] == "gunicorn"
        assert "X-Powered-By" not in answer.headers
    finally:
        server.terminate()
        server.wait(timeout=30)
        log_file.close()
