"""R1 login under attack: who is counted (addresses behind proxies), where the counts live
(one count for every worker), and that nobody can keep the real auditor out.

CSRF stays on: every POST carries the token a browser would have read from the page.
"""
from __future__ import annotations

import http.client
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

from checkin_pwa.extensions import db, limiter

from . import factories
from .conftest import make_app
from .factories import PASSWORD
from .helpers import csrf_token, in_app_context
from .servers import dies_with_run, free_port

THROTTLED = "失败次数过多"


def make_auditor(app, **kwargs):
    with in_app_context(app):
        return factories.auditor(**kwargs)


def post_login(client, phone, password, **kwargs):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"phone": phone, "password": password, "csrf_token": token}, **kwargs)


def client_at(app, peer: str, forwarded_for: str | None = None):
    """A phone whose requests reach the app from `peer`, with X-Forwarded-For if given."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


# --- nobody can keep the auditor out of their own phone --------------------------------

NEW_PASSWORD = "Reset#2026b"


def attacker_fails(app, phone, times, first_address=1):
    """Wrong passwords for `phone`, each from another address (a botnet: the per-address
    limit never bites), as a browser that never logged in to the account."""
    answers = []
    for n in range(times):
        stranger = client_at(app, f"198.51.100.{first_address + n}")
        answers.append(post_login(stranger, phone, f"Wrong#{n}xyz").status_code)
    return answers


def test_r1_strangers_cannot_lock_the_auditor_out_of_their_own_phone(app):
    person = make_auditor(app)
    phone = client_at(app, "10.20.0.7")
    assert post_login(phone, person.phone, PASSWORD).status_code == 303  # the phone of every day
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/me")})

    answers = attacker_fails(app, person.phone, 20)
    assert answers[:5] == [422] * 5 and set(answers[5:]) == {429}, "strangers are stopped after 5"
    newcomer = client_at(app, "203.0.113.50")
    assert post_login(newcomer, person.phone, PASSWORD).status_code == 429, "a browser never used for it waits"

    assert post_login(phone, person.phone, PASSWORD).status_code == 303, "the auditor's own phone is let in"


def test_r1_the_device_cookie_is_kept_a_year_out_of_scripts_reach(app):
    person = make_auditor(app)
    login = post_login(client_at(app, "10.20.0.7"), person.phone, PASSWORD)
    device = next(value for value in login.headers.getlist("Set-Cookie") if value.startswith("device="))
    attributes = {part.strip().split("=")[0].lower() for part in device.split(";")[1:]}
    assert {"httponly", "max-age", "samesite", "path"} <= attributes
    assert "Max-Age=31536000" in device


def test_r1_the_auditors_own_typos_count_on_their_phone_alone(app):
    person = make_auditor(app)
    phone = client_at(app, "10.20.0.7")
    post_login(phone, person.phone, PASSWORD)
    phone.post("/logout", data={"csrf_token": csrf_token(phone, "/me")})
    typos = [post_login(phone, person.phone, f"Typo#pass{n}").status_code for n in range(6)]
    assert typos == [422] * 5 + [429], "the phone's own budget"
    assert post_login(phone, person.phone, PASSWORD).status_code == 429
    # The account's budget for other browsers was not used up by them.
    assert post_login(client_at(app, "10.20.0.8"), person.phone, PASSWORD).status_code == 303


def test_r1_a_reset_by_sms_code_clears_the_lock_and_trusts_that_browser(app, caplog):
    caplog.set_level(logging.INFO, logger="checkin_pwa.sms")
    person = make_auditor(app)
    attacker_fails(app, person.phone, 8)
    new_phone = client_at(app, "10.20.0.9")
    assert post_login(new_phone, person.phone, PASSWORD).status_code == 429
    page = post_login(new_phone, person.phone, PASSWORD).get_data(as_text=True)
    assert "忘记密码" in page and "验证码" in page, "the 429 page says how to get in now"

    token = csrf_token(new_phone, "/password/forgot")
    new_phone.post("/password/forgot/code", data={"phone": person.phone, "csrf_token": token})
    code = re.search(r"验证码是(\d{6})", caplog.text).group(1)
    reset = new_phone.post("/password/forgot", data={
        "phone": person.phone, "code": code, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD,
        "csrf_token": csrf_token(new_phone, "/password/forgot")})
    assert reset.status_code == 303

    # The account's counter is empty again: any browser may try the new password.
    assert post_login(client_at(app, "10.20.0.10"), person.phone, NEW_PASSWORD).status_code == 303
    # The attacker carries on and fills it again; the browser that did the reset is let in.
    attacker_fails(app, person.phone, 8, first_address=100)
    assert post_login(client_at(app, "10.20.0.11"), person.phone, NEW_PASSWORD).status_code == 429
    assert post_login(new_phone, person.phone, NEW_PASSWORD).status_code == 303


def test_r1_a_trusted_browser_is_trusted_for_its_own_accounts_only(app):
    victim, attacker = make_auditor(app), make_auditor(app)
    own = client_at(app, "198.51.100.200")
    assert post_login(own, attacker.phone, PASSWORD).status_code == 303  # trusted for the attacker's account
    own.post("/logout", data={"csrf_token": csrf_token(own, "/me")})
    answers = [post_login(own, victim.phone, f"Wrong#{n}xyz").status_code for n in range(6)]
    assert answers == [422] * 5 + [429]
    assert post_login(client_at(app, "10.20.0.12"), victim.phone, PASSWORD).status_code == 429

    forged = client_at(app, "198.51.100.201")
    forged.set_cookie("device", "eyJpZCI6IngiLCJhY2NvdW50cyI6WyIxMzkwMDAwMDAwMSJdfQ.forged")
    assert post_login(forged, victim.phone, PASSWORD).status_code == 429, "an unsigned cookie trusts nothing"


# --- addresses behind a reverse proxy ------------------------------------------------

@pytest.fixture
def proxied_app(tmp_path, migrated_db):
    """The app behind one reverse proxy at 10.0.0.2 (TRUSTED_PROXIES)."""
    folder = tmp_path / "proxied"
    folder.mkdir()
    app = make_app(folder, migrated_db, TRUSTED_PROXIES="10.0.0.2")
    limiter.reset()
    yield app
    with app.app_context():
        db.engine.dispose()


def spend_an_address_budget(client_for) -> None:
    """30 wrong logins (the per-address limit), each for another unknown number so that no
    account's budget is touched, the n-th sent by client_for(n)."""
    for n in range(30):
        assert post_login(client_for(n), f"137{n:08d}", "Wrong#pass1").status_code == 422


def test_r1_two_clients_behind_one_trusted_proxy_are_counted_apart(proxied_app):
    person = make_auditor(proxied_app)
    typist = client_at(proxied_app, "10.0.0.2", "203.0.113.5")
    spend_an_address_budget(lambda _: typist)
    assert post_login(typist, person.phone, PASSWORD).status_code == 429, "that address is throttled"

    colleague = client_at(proxied_app, "10.0.0.2", "203.0.113.6")
    assert post_login(colleague, person.phone, PASSWORD).status_code == 303, \
        "another address behind the same proxy is not"


def test_r1_forwarded_headers_from_an_untrusted_peer_are_ignored(proxied_app):
    person = make_auditor(proxied_app)
    # A client that is no proxy of ours claims a new address on every try.
    spend_an_address_budget(lambda n: client_at(proxied_app, "198.51.100.7", f"203.0.113.{n + 1}"))
    liar = client_at(proxied_app, "198.51.100.7", "203.0.113.200")
    assert post_login(liar, person.phone, PASSWORD).status_code == 429, "counted by its real address"


def test_r1_a_client_cannot_hide_behind_the_proxy_by_writing_the_header_itself(proxied_app):
    # The proxy appends the address it saw; whatever the client wrote on the left is not read.
    person = make_auditor(proxied_app)
    spend_an_address_budget(lambda n: client_at(proxied_app, "10.0.0.2", f"192.0.2.{n + 1}, 203.0.113.9"))
    sly = client_at(proxied_app, "10.0.0.2", "192.0.2.99, 203.0.113.9")
    assert post_login(sly, person.phone, PASSWORD).status_code == 429


def test_trusted_proxies_give_the_client_address_and_scheme():
    from checkin_pwa.proxies import TrustedProxies, parse_networks

    seen = {}

    def app(environ, start_response):
        seen.update(addr=environ["REMOTE_ADDR"], scheme=environ["wsgi.url_scheme"])
        start_response("204 No Content", [])
        return [b""]

    wrapped = TrustedProxies(app, parse_networks("10.0.0.0/8, ::1"))

    def call(peer, **headers):
        environ = {"REMOTE_ADDR": peer, "wsgi.url_scheme": "http"}
        environ.update({"HTTP_" + name.upper(): value for name, value in headers.items()})
        wrapped(environ, lambda status, headers: None)
        return seen["addr"], seen["scheme"]

    assert call("10.1.1.1", x_forwarded_for="203.0.113.5", x_forwarded_proto="https") == ("203.0.113.5", "https")
    # two proxies of ours in a row: the first untrusted hop from the right
    assert call("10.1.1.1", x_forwarded_for="198.51.100.1, 203.0.113.5, 10.2.2.2") == ("203.0.113.5", "http")
    assert call("::1", x_forwarded_for="2001:db8::7") == ("2001:db8::7", "http")
    # not a proxy of ours: nothing it says is believed
    assert call("198.51.100.9", x_forwarded_for="203.0.113.5", x_forwarded_proto="https") == ("198.51.100.9", "http")
    # a proxy of ours that sends no header, or garbage
    assert call("10.1.1.1") == ("10.1.1.1", "http")
    assert call("10.1.1.1", x_forwarded_for="<script>", x_forwarded_proto="gopher") == ("10.1.1.1", "http")


def test_a_typo_in_trusted_proxies_stops_the_server_at_start(tmp_path, migrated_db):
    with pytest.raises(ValueError, match="10.0.0.300"):
        make_app(tmp_path, migrated_db, TRUSTED_PROXIES="10.0.0.1, 10.0.0.300")


# --- one count for every worker: gunicorn as `make run` starts it ------------------------

ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


class Browserless:
    """A phone without JS: keeps the session cookie, reads the CSRF token off the page;
    every request on a new connection, so any worker may answer it."""

    def __init__(self, port: int):
        self.port = port
        self.cookie = ""

    def request(self, method, path, body=None):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Connection": "close", "Cookie": self.cookie}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=urlencode(body) if body is not None else None, headers=headers)
        response = connection.getresponse()
        page = response.read().decode()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        connection.close()
        return response.status, page

    def login(self, phone, password, marker):
        _, page = self.request("GET", "/login")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        return self.request("POST", f"/login?try={marker}",
                            {"phone": phone, "password": password, "csrf_token": token})[0]


@pytest.fixture
def gunicorn(tmp_path, migrated_db):
    """gunicorn with 2 workers on 127.0.0.1 (a free port) over a copy of the database, as
    `make run` starts it (default settings); yields (port, database app, access log)."""
    folder = tmp_path / "served"
    folder.mkdir()
    data_app = make_app(folder, migrated_db)
    access_log, server_log = folder / "access.log", folder / "server.log"
    env = {**os.environ, "DATABASE_URL": data_app.config["SQLALCHEMY_DATABASE_URI"],
           "SECRET_KEY": "gunicorn-test-secret", "PHOTO_STORAGE_DIR": str(folder / "photos"), "TILE_URL": ""}
    env.pop("RATELIMIT_STORAGE_URI", None)
    with open(server_log, "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0", "--workers", "2", "--threads", "4",
             "--no-control-socket", "--access-logfile", str(access_log), "--access-logformat", "%(p)s %(s)s %(q)s",
             "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=dies_with_run())
    try:
        wait_for(lambda: server.poll() is None and server_log.read_text().count("Booting worker") == 2,
                 lambda: server_log.read_text())
        port = int(LISTENING.search(server_log.read_text()).group(1))
        yield port, data_app, access_log
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        with data_app.app_context():
            db.engine.dispose()


def wait_for(condition, explain, limit_s: float = 120):
    """Poll `condition` (a server starting, a log line being written); fail after `limit_s`
    with `explain()` rather than hang the suite."""
    deadline = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < deadline, explain()
        time.sleep(0.05)


def answered_by(access_log: Path, marker) -> str:
    """The worker (pid) that answered the login attempt `marker`, from the access log
    (the worker writes its line just after answering)."""
    pattern = re.compile(rf"^<(\d+)> \d+ try={marker}$", re.M)
    wait_for(lambda: pattern.search(access_log.read_text()), lambda: access_log.read_text())
    return pattern.search(access_log.read_text()).group(1)


def test_r1_failed_logins_count_once_across_gunicorn_workers(gunicorn):
    port, data_app, access_log = gunicorn
    phone = make_auditor(data_app).phone
    statuses, workers = [], {}
    # New connections until both workers have answered attempts past the limit. Which worker
    # accepts a connection is the kernel's choice, and runs of 20 to one worker happen.
    for marker in range(200):
        statuses.append(Browserless(port).login(phone, f"Wrong#{marker}abc", marker))
        workers.setdefault(answered_by(access_log, marker), []).append(statuses[-1])
        if marker >= 10 and len(workers) == 2 and all(len(seen) > 2 for seen in workers.values()):
            break
    assert len(workers) == 2, f"both workers answered: {workers}"
    assert statuses[:5] == [422] * 5
    assert set(statuses[5:]) == {429}, f"the 6th and every later attempt are refused, whichever worker: {statuses}"
    # The right password is refused too now (from a browser the account never logged in on).
    assert Browserless(port).login(phone, PASSWORD, "right") == 429


# --- a shared store that is down --------------------------------------------------------

def app_counting_in(folder, migrated_db, storage_uri: str):
    """An app whose limits count in `storage_uri`."""
    folder.mkdir()
    app = make_app(folder, migrated_db, RATELIMIT_STORAGE_URI=storage_uri)
    yield app
    with app.app_context():
        db.engine.dispose()
    # The limiter is one object for every app of the process, and remembers that its store
    # was down: the next test's app starts with its own, working store.
    limiter._storage_dead = False


@pytest.fixture
def app_with_redis_down(tmp_path, migrated_db):
    """RATELIMIT_STORAGE_URI names a Redis on a local port where nothing listens."""
    yield from app_counting_in(tmp_path / "redis-down", migrated_db, f"redis://127.0.0.1:{free_port()}/0")


def test_r1_a_shared_store_that_is_down_does_not_fail_logins(app_with_redis_down, caplog):
    person = make_auditor(app_with_redis_down)
    caplog.set_level(logging.WARNING, logger="flask-limiter")
    assert post_login(app_with_redis_down.test_client(), person.phone, PASSWORD).status_code == 303
    phone = app_with_redis_down.test_client()
    answers = [post_login(phone, person.phone, f"Wrong#{n}abc").status_code for n in range(7)]
    assert answers == [422] * 5 + [429] * 2, "still throttled, in each worker's memory meanwhile"
    assert "storage unreachable" in caplog.text, "the operator is told"


def test_r1_the_counts_table_stays_small_whatever_is_typed(app_context):
    from checkin_pwa.limits_storage import DatabaseStorage
    from checkin_pwa.models import RateLimitCounter

    storage = DatabaseStorage("database://")
    huge = "account:" + "9" * 100_000  # what a client may type into the phone field
    assert storage.incr(huge, 900) == 1 and storage.incr(huge, 900) == 2
    assert storage.get(huge) == 2 and storage.get(huge + "0") == 0
    assert max(len(row.bucket) for row in db.session.scalars(db.select(RateLimitCounter))) <= 200
    storage.incr("gone", -1)  # a window already over
    storage.incr("other", 900)
    assert db.session.scalar(db.select(db.func.count()).select_from(RateLimitCounter)) == 2, \
        "rows whose window is over are dropped"
