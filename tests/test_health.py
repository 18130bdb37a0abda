"""/healthz and /readyz, and the request id and access line every request gets."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys

import pytest

from checkin_pwa import PROJECT_ROOT, create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db, limiter
from checkin_pwa.logs import JsonFormatter

from . import factories
from .conftest import make_app, s3_store_config
from .helpers import log_in
from .servers import free_port


def assert_plain_health_answer(response):
    assert response.mimetype == "application/json"
    assert "Set-Cookie" not in response.headers, "no session"
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_and_readyz_answer_json_with_no_cookie_no_token_and_no_cache(app_context, client):
    for path in ("/healthz", "/readyz"):
        response = client.get(path)
        assert response.status_code == 200
        assert_plain_health_answer(response)
    assert client.get("/healthz").json == {"status": "alive"}
    assert client.get("/readyz").json == {
        "status": "ready", "checks": {"database": "ok", "photo_store": "ok", "limiter_store": "ok"}}


def test_health_checks_are_never_rate_limited(app_context, app):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "1 per 15 minutes"
    client = app.test_client()
    assert {client.get(path).status_code for path in ("/healthz", "/readyz") for _ in range(40)} == {200}


def test_readyz_names_an_unreachable_database_and_healthz_still_answers(tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/no-such-folder/checkin.sqlite3",
                     PHOTO_STORAGE_DIR=str(tmp_path / "photos"))
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert_plain_health_answer(response)
    # The limiter's database:// counts live in that database: it is named too.
    assert response.json["failed"] == ["database", "limiter_store"]
    assert response.json["checks"]["photo_store"] == "ok"


def test_readyz_names_a_photo_store_whose_folder_is_gone(tmp_path, migrated_db):
    app = make_app(tmp_path, migrated_db, PHOTO_STORE="filesystem")
    shutil.rmtree(app.extensions["photo_store"].root)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["photo_store"]
    assert response.json["status"] == "unavailable"


def test_readyz_names_an_object_store_without_its_bucket(tmp_path, migrated_db):
    app = make_app(tmp_path, migrated_db, **{**s3_store_config(), "S3_BUCKET": "checkin-no-such-bucket"})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["failed"] == ["photo_store"]


def test_readyz_names_a_limiter_store_that_does_not_answer(tmp_path, migrated_db):
    app = make_app(tmp_path, migrated_db, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")  # no one listens
    try:
        response = app.test_client().get("/readyz")
        assert response.status_code == 503
        assert response.json["failed"] == ["limiter_store"]
        assert response.json["checks"]["database"] == "ok"
    finally:
        limiter._storage_dead = False
        with app.app_context():
            db.engine.dispose()


def get(client, path, **options):
    """The answer, read and closed (the access line is written when the server is done)."""
    response = client.get(path, **options)
    response.close()
    return response


def access_lines(caplog):
    return [record for record in caplog.records if record.name == "checkin_pwa.access"]


def test_a_trusted_proxys_request_id_is_kept_and_echoed_in_the_log_and_the_answer(app_context, client, caplog):
    caplog.set_level(logging.INFO, logger="checkin_pwa.access")
    response = get(client, "/login", headers={"X-Request-ID": "5f0c2a9e41b7d3c8", "X-Forwarded-For": "203.0.113.7"},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"})  # a proxy in TRUSTED_PROXIES
    assert response.headers["X-Request-ID"] == "5f0c2a9e41b7d3c8"
    [line] = access_lines(caplog)
    assert line.fields["request_id"] == "5f0c2a9e41b7d3c8"
    assert line.fields["client"] == "203.0.113.7", "the client behind the proxy, not the proxy"
    assert line.fields["status"] == 200 and line.fields["path"] == "/login" and line.levelno == logging.INFO


@pytest.mark.parametrize("peer, offered", [
    ("198.51.100.9", "5f0c2a9e41b7d3c8"),  # not a trusted proxy: anyone may write the header
    ("127.0.0.1", 'forged" status=200 user_id=1'),  # a proxy's, but not an id
    ("127.0.0.1", ""),
])
def test_a_request_id_from_anyone_else_or_malformed_is_replaced_by_a_fresh_one(app_context, client, caplog, peer, offered):
    caplog.set_level(logging.INFO, logger="checkin_pwa.access")
    response = get(client, "/login", headers={"X-Request-ID": offered}, environ_base={"REMOTE_ADDR": peer})
    fresh = response.headers["X-Request-ID"]
    assert fresh != offered and len(fresh) == 32
    [line] = access_lines(caplog)
    assert line.fields["request_id"] == fresh and line.fields["client"] == peer


def test_a_signed_in_auditors_requests_are_logged_with_their_user_id(app_context, app, caplog):
    person = factories.auditor()
    db.session.commit()
    client = app.test_client()
    log_in(client, person)
    caplog.set_level(logging.INFO)
    get(client, "/")
    [line] = access_lines(caplog)
    assert line.fields["user_id"] == person.id


def test_log_lines_are_json_with_time_level_logger_request_id_and_user_id(app_context, app):
    person = factories.auditor()
    db.session.commit()
    seen = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(JsonFormatter().format(record))

    keep = Keep()
    logging.getLogger("checkin_pwa.example").addHandler(keep)
    logging.getLogger("checkin_pwa.example").setLevel(logging.INFO)

    @app.get("/example-log")
    def example():
        from flask_login import current_user

        current_user.id  # noqa: B018 - the view loads its user, as real views do
        logging.getLogger("checkin_pwa.example").info("plan %s opened: 认证", 7)
        return "ok"

    try:
        client = app.test_client()
        log_in(client, person)
        response = client.get("/example-log")
    finally:
        logging.getLogger("checkin_pwa.example").removeHandler(keep)
    entry = json.loads(seen[-1])
    assert entry["level"] == "INFO" and entry["logger"] == "checkin_pwa.example"
    assert entry["message"] == "plan 7 opened: 认证"
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert entry["user_id"] == person.id
    assert entry["time"].endswith("+00:00")


LOG_SCRIPT = """
import wsgi
response = wsgi.app.test_client().get("/login", headers={"X-Request-ID": "ab12cd34ef56ab78"})
response.close()
"""


@pytest.mark.parametrize("level, access_lines_expected", [(None, 1), ("WARNING", 0)])
def test_a_process_logs_json_on_stderr_at_info_unless_log_level_says_otherwise(tmp_path, level, access_lines_expected):
    env = {**os.environ, "SECRET_KEY": "s" * 64, "DATABASE_URL": f"sqlite:///{tmp_path}/checkin.sqlite3",
           "PHOTO_STORAGE_DIR": str(tmp_path / "photos"), "EXPORT_DIR": str(tmp_path / "exports"), "TILE_URL": ""}
    env.pop("LOG_LEVEL", None)
    env.pop("APP_ENV", None)
    if level:
        env["LOG_LEVEL"] = level
    done = subprocess.run([sys.executable, "-c", LOG_SCRIPT], cwd=PROJECT_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    entries = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    access = [entry for entry in entries if entry["logger"] == "checkin_pwa.access"]
    assert len(access) == access_lines_expected, done.stderr
    for entry in access:
        assert entry["level"] == "INFO" and entry["path"] == "/login" and entry["request_id"] == "ab12cd34ef56ab78"
