"""Two app hosts behind one address: two real gunicorn processes (gunicorn.conf.py) on one
database (the pass's backend, migrated by `flask db upgrade` as a deploy does) and one
photo store (the pass's: a folder, or a bucket), with one SECRET_KEY. A phone's session made on one is used on the other, a
form one rendered is accepted by the other, a photo uploaded through one is shown by the
other; each host logs its requests with the request id and the user. In the PostgreSQL
pass both run in production mode (APP_ENV=production), which SQLite cannot."""
from __future__ import annotations

import http.client
import json
import re
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode

import pytest

from checkin_pwa import create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db

from . import factories
from .conftest import TEST_PHOTO_STORE, s3_store_config
from .helpers import exchange
from .servers import nginx
from .test_behind_nginx import FIXTURE, multipart

_FORM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_PHOTO_URL = re.compile(r"/photos/(\d+)/(?:thumb|display)")


class Host:
    def __init__(self, name: str, gunicorn: nginx.Gunicorn):
        self.name, self.gunicorn = name, gunicorn

    def log_entries(self) -> list[dict]:
        return [json.loads(line) for line in self.gunicorn.log().splitlines() if line.startswith("{")]


class Phone:
    """A browser without JS: keeps its cookies, whichever host answers."""

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def request(self, host: Host, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        return exchange(http.client.HTTPConnection("127.0.0.1", host.gunicorn.port, timeout=120), method, path,
                        body, dict(headers or {}), self.cookies)

    def form_token(self, host: Host, path: str) -> str:
        status, _, page = self.request(host, "GET", path)
        assert status == 200, (host.name, path, status)
        return _FORM_TOKEN.search(page.decode()).group(1)


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory, migrated_db):
    folder = tmp_path_factory.mktemp("two-hosts")
    server, database = migrated_db.server, None
    if server is None:
        database_url = migrated_db.empty_url(folder)
    else:  # the module's own, dropped at its end
        database = server.create()
        database_url = server.url(database)
    production = not database_url.startswith("sqlite")
    env = nginx.gunicorn_env(folder, database_url, SECRET_KEY=secrets.token_hex(32), WEB_CONCURRENCY="1",
                             TRUSTED_PROXIES="127.0.0.1")
    env.pop("RATELIMIT_STORAGE_URI", None)
    if TEST_PHOTO_STORE == "s3":  # the pass's store: one bucket both hosts use
        env.update({name: str(value) for name, value in s3_store_config().items()})
    if production:
        env.update(APP_ENV="production", PHOTO_STORAGE_SHARED="1", SMS_BACKEND="tests.test_production.Gateway")
    # The deploy's own step: the migrations, run by the app's CLI against the shared database.
    upgrade = subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=nginx.ROOT,
                             env=env, capture_output=True, text=True, timeout=600)
    assert upgrade.returncode == 0, upgrade.stderr[-3000:]

    data_app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, PHOTO_STORAGE_DIR=env["PHOTO_STORAGE_DIR"],
                          PHOTO_STORE="filesystem")  # it writes rows only
    with data_app.app_context():
        person = factories.auditor()
        plan = factories.plan([person])
        db.session.commit()
        facts = {"phone": person.phone, "user_id": person.id, "plan_id": plan.id, "project": plan.project_code}
        db.engine.dispose()

    hosts = []
    try:
        for name in ("a", "b"):
            hosts.append(Host(name, nginx.Gunicorn(env, folder / f"host-{name}.log")))
        yield hosts, facts, production
    finally:
        for host in hosts:
            host.gunicorn.stop()
        if database is not None:
            server.drop(database)


def test_a_session_a_form_and_a_photo_cross_between_two_app_processes(two_hosts):
    (a, b), facts, _production = two_hosts
    phone = Phone()

    # The login form comes from host a, the login goes to host b.
    token = phone.form_token(a, "/login")
    status, headers, body = phone.request(b, "POST", "/login", urlencode(
        {"phone": facts["phone"], "password": factories.PASSWORD, "csrf_token": token}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 303, body.decode(errors="replace")[:500]

    # The session host b made is good on host a.
    status, _, page = phone.request(a, "GET", f"/plans/{facts['plan_id']}")
    assert status == 200 and facts["project"] in page.decode()

    # The plan page's form (rendered by host a) uploads a photo through host b.
    token = _FORM_TOKEN.search(page.decode()).group(1)
    original = FIXTURE.read_bytes()
    form, content_type = multipart({"csrf_token": token, "group": "first"}, "photo", "site.jpg", original, "image/jpeg")
    status, _, tile = phone.request(b, "POST", f"/plans/{facts['plan_id']}/photos", form,
                                    {"Content-Type": content_type, "HX-Request": "true", "X-CSRFToken": token})
    assert status == 201, tile.decode(errors="replace")[:800]
    photo_id = int(_PHOTO_URL.search(tile.decode()).group(1))

    # Host a shows the photo host b stored.
    for kind in ("thumb", "display"):
        status, headers, image = phone.request(a, "GET", f"/photos/{photo_id}/{kind}")
        assert status == 200 and headers["Content-Type"] == "image/jpeg" and image[:2] == b"\xff\xd8", kind
        assert phone.request(b, "GET", f"/photos/{photo_id}/{kind}")[2] == image


def test_both_hosts_are_ready_and_log_each_request_with_its_id_and_user(two_hosts):
    (a, b), facts, production = two_hosts
    for host in (a, b):
        status, _, body = Phone().request(host, "GET", "/readyz")
        assert status == 200 and json.loads(body)["status"] == "ready", host.name

    phone = Phone()
    token = phone.form_token(a, "/login")
    phone.request(a, "POST", "/login", urlencode(
        {"phone": facts["phone"], "password": factories.PASSWORD, "csrf_token": token}).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"})
    request_id = secrets.token_hex(16)
    status, headers, _ = phone.request(b, "GET", "/?from=log-check", headers={"X-Request-ID": request_id})
    assert status == 200 and headers["X-Request-ID"] == request_id  # gunicorn's peer, 127.0.0.1, is trusted

    def logged():
        return [entry for entry in b.log_entries()
                if entry.get("logger") == "checkin_pwa.access" and entry.get("path") == "/?from=log-check"]

    nginx.wait_until(logged, 10, "host b's access line")
    [line] = logged()
    assert line["level"] == "INFO" and line["time"]
    assert line["request_id"] == request_id and line["user_id"] == facts["user_id"]
    assert line["client"] == "127.0.0.1" and line["status"] == 200
    if production:
        assert any("SECRET_KEY" in entry.get("message", "") for entry in a.log_entries() + b.log_entries()), \
            "production mode compared the key at start"
