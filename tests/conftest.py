"""Fixtures (flaskr style): app, client, runner, auth; a live server and a phone browser."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from checkin_pwa import create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db, limiter

from . import factories
from .helpers import csrf_token
from .servers import s3 as s3_servers

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
# Where the apps of make_app keep photos, avatars and notice attachments: "filesystem"
# (a folder in tmp_path) or "s3" (a fresh bucket on the session's moto server).
TEST_PHOTO_STORE = os.environ.get("TEST_PHOTO_STORE", "filesystem")
PHONE_POSITION = {"latitude": 41.1256, "longitude": 126.1865, "accuracy": 12}


def not_here(reason: str) -> None:
    """A test that needs what this machine lacks: skipped on a developer's machine, failed in
    CI (CI=true), where `make test` installs everything and a skip would hide a missing step."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


# --- the database, on the pass's backend ----------------------------------------------
# `make test` runs the suite twice: on SQLite (pass 1), then every test that uses a database
# again on a real PostgreSQL server the run starts itself (pass 2, TEST_DATABASE=postgresql).
DATABASE_BACKEND = os.environ.get("TEST_DATABASE", "sqlite")
if DATABASE_BACKEND not in ("sqlite", "postgresql"):
    raise pytest.UsageError(f"TEST_DATABASE={DATABASE_BACKEND!r}: sqlite or postgresql")
ON_POSTGRESQL = DATABASE_BACKEND == "postgresql"
# A test uses a database when one of these is among its fixtures (directly or through app,
# client, live_server, make_app's migrated_db ...): pass 2 runs those tests only.
DATABASE_FIXTURES = frozenset({"migrated_db", "empty_database_url", "postgres_server"})
ONLY_IN_PASS_2 = "PostgreSQL only: runs in the PostgreSQL pass (TEST_DATABASE=postgresql, as make test does)"


def pytest_collection_modifyitems(config, items):
    """Pass 2 runs the tests that use a database (not the browser's); a test named
    `..._on_sqlite` is skipped there, one named `..._on_postgresql` in pass 1, each saying why."""
    if ON_POSTGRESQL:
        keep, drop = [], []
        for item in items:
            uses_database = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
            (keep if uses_database and not item.get_closest_marker("browser") else drop).append(item)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
    for item in items:
        name = getattr(item, "originalname", None) or item.name
        if ON_POSTGRESQL and name.endswith("_on_sqlite"):
            item.add_marker(pytest.mark.skip(reason="SQLite only: runs in the SQLite pass"))
        if not ON_POSTGRESQL and name.endswith("_on_postgresql"):
            item.add_marker(pytest.mark.skip(reason=ONLY_IN_PASS_2))


@pytest.fixture(scope="session")
def postgres_server():
    """The run's own PostgreSQL server (tests/servers/postgres.py), started on first use in
    the PostgreSQL pass; a test asking for it needs PostgreSQL (with empty_database_url: an
    empty database there) and is skipped in the SQLite pass, saying so."""
    if not ON_POSTGRESQL:
        pytest.skip(ONLY_IN_PASS_2)
    from .servers import postgres

    try:
        server = postgres.start()
    except postgres.NotAvailable as missing:
        not_here(str(missing))
    yield server
    server.stop()


class MigratedDatabase:
    """The schema the real migrations build, once per run; `new_url(tmp_path)` gives a test
    its own copy: a copy of the SQLite file, or a PostgreSQL database made from the migrated
    one as its template (CREATE DATABASE ... TEMPLATE: ~70 ms; dropped after the test)."""

    def __init__(self, sqlite_path=None, server=None, template=None):
        self.sqlite_path, self.server, self.template = sqlite_path, server, template

    def new_url(self, folder) -> str:
        if self.server is None:
            path = Path(folder) / "checkin.sqlite3"
            shutil.copy(self.sqlite_path, path)
            return f"sqlite:///{path}"
        name = self.server.create(template=self.template)
        _MADE_BY_THIS_TEST.append((self.server, name))
        return self.server.url(name)

    def empty_url(self, folder) -> str:
        if self.server is None:
            return f"sqlite:///{Path(folder) / 'empty.sqlite3'}"
        name = self.server.create()
        _MADE_BY_THIS_TEST.append((self.server, name))
        return self.server.url(name)

    def __fspath__(self) -> str:
        if self.server is not None:
            raise TypeError("migrated_db is a PostgreSQL database in this pass: "
                            "use migrated_db.new_url(tmp_path) for a database of the test's own")
        return str(self.sqlite_path)


@pytest.fixture(scope="session")
def migrated_db(request, tmp_path_factory):
    """One database built by the real migrations; each test gets a copy (new_url)."""
    if ON_POSTGRESQL:
        server = request.getfixturevalue("postgres_server")
        template = server.create(name="migrated_template")
        url = server.url(template)
        result = MigratedDatabase(server=server, template=template)
    else:
        path = tmp_path_factory.mktemp("db") / "template.sqlite3"
        url = f"sqlite:///{path}"
        result = MigratedDatabase(sqlite_path=path)
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return result


_MADE_BY_THIS_TEST: list = []  # (server, database name)


@pytest.fixture(autouse=True)
def _drop_test_databases():
    """The PostgreSQL databases a test made are dropped after it, with any connection it
    left open (set up before the test's other fixtures, so torn down after them)."""
    yield
    while _MADE_BY_THIS_TEST:
        server, name = _MADE_BY_THIS_TEST.pop()
        server.drop(name)


@pytest.fixture
def empty_database_url(tmp_path, migrated_db):
    """A new empty database on the pass's backend (no tables): a SQLite file in tmp_path,
    or a new PostgreSQL database. For migration, backup and restore tests."""
    return migrated_db.empty_url(tmp_path)


def make_app(tmp_path, migrated_db, **overrides):
    overrides.setdefault("PHOTO_STORAGE_DIR", str(tmp_path / "photos"))  # never the instance folder
    if TEST_PHOTO_STORE == "s3" and "PHOTO_STORE" not in overrides:
        overrides = {**s3_store_config(), **overrides}
    overrides.setdefault("EXPORT_DIR", str(tmp_path / "exports"))
    overrides.setdefault("SQLALCHEMY_DATABASE_URI", migrated_db.new_url(tmp_path))
    return create_app(TestConfig, **overrides)


def s3_store_config() -> dict:
    """create_app overrides for a fresh bucket on the session's S3-compatible server."""
    try:
        return s3_servers.shared().app_config()
    except s3_servers.ServerUnavailable as error:
        not_here(str(error))


@pytest.fixture(scope="session", autouse=True)
def _s3_server_stopped():
    """The session's S3-compatible server, if a test started one, stops with the session."""
    yield
    s3_servers.stop_shared()


@pytest.fixture(scope="session")
def s3_server():
    """The session's S3-compatible server (moto's server mode on a loopback port)."""
    try:
        return s3_servers.shared()
    except s3_servers.ServerUnavailable as error:
        not_here(str(error))


@pytest.fixture
def app(tmp_path, migrated_db):
    """The app, with no context pushed (flaskr's shape): each request a test client makes
    gets its own app context, `g` and database session, as in production. A test's own
    database work runs in a context it pushes: `with app.app_context():`, or `app_context`."""
    app = make_app(tmp_path, migrated_db)
    limiter.reset()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def app_context(app):
    """The app context pushed for the whole test, for a test whose own code makes and reads
    rows (factories, queries) while it acts as one browser. Its requests run in this context
    too and share its `g` (Flask-Login's user, the CSRF token) and database session: a test
    with several browsers, or one that ends a session, pushes a context only around its own
    database work instead."""
    with app.app_context():
        yield app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self._client = client

    def login(self, phone, password=factories.PASSWORD):
        token = csrf_token(self._client, "/login")
        return self._client.post("/login", data={"phone": phone, "password": password, "csrf_token": token})

    def logout(self):
        token = csrf_token(self._client, "/login")
        return self._client.post("/logout", data={"csrf_token": token})


@pytest.fixture
def auth(client):
    return AuthActions(client)


# --- the real browser --------------------------------------------------------------

@pytest.fixture
def live_server(request, tmp_path, migrated_db):
    """The app on 127.0.0.1 with a free port, in a thread; yields (base_url, app).
    Config overrides go through create_app by indirect parametrization:
    @pytest.mark.parametrize("live_server", [{"EMBED_CROSS_SITE": True}], indirect=True);
    a callable instead of the dict is given the request and returns them (overrides that
    come from other fixtures, e.g. a server's address)."""
    overrides = getattr(request, "param", {})
    if callable(overrides):
        overrides = overrides(request)
    app = make_app(tmp_path, migrated_db, **overrides)
    limiter.reset()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        with app.app_context():
            db.engine.dispose()


class LiveServer:
    def __init__(self, url, app):
        self.url = url
        self.app = app

    def __str__(self):
        return self.url


@pytest.fixture(scope="session")
def base_url():
    # Replaces pytest-playwright 0.10's fallback, a session fixture defined on a class
    # instance, which pytest 9.2 deprecates (an error under filterwarnings = error).
    # The live server's URL is set per test in browser_context_args below.
    return None


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # A browser test never skips: without Chromium the whole run fails (CI must see it).
    if not os.access(CHROMIUM, os.X_OK):
        pytest.exit(f"{CHROMIUM} not found: apt-get install -y chromium (make test does this)", returncode=3)
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture
def browser_context_args(browser_context_args, playwright, live_server):
    return {
        **browser_context_args,
        **playwright.devices["Pixel 7"],
        "base_url": live_server.url,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "geolocation": PHONE_POSITION,
        "permissions": ["geolocation"],
    }


@pytest.fixture
def data(live_server):
    """Make rows in the live server's database: `with data: ...` commits on exit."""
    return LiveData(live_server.app)


class LiveData:
    def __init__(self, app):
        self.app = app
        self._ctx = None

    def __enter__(self):
        self._ctx = self.app.app_context()
        self._ctx.push()
        return factories

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            db.session.commit()
        else:
            db.session.rollback()
        db.session.remove()
        self._ctx.pop()
        return False


@pytest.fixture
def arrivals(live_server):
    """POSTs that reached the server, by path: the wire's own count, not the app's."""
    app = live_server.app
    seen: list[str] = []
    inner = app.wsgi_app

    def counting(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST":
            seen.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    app.wsgi_app = counting
    yield seen
    app.wsgi_app = inner


@pytest.fixture(scope="session")
def shots(tmp_path_factory):
    """Where browser tests save their screenshots: docs/screenshots/ (shown in the README) with
    UPDATE_SCREENSHOTS=1 (`make screenshots`), else a temporary folder, so that a test run
    leaves the working tree as it was."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        folder = Path(__file__).resolve().parents[1] / "docs" / "screenshots"
    else:
        folder = tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def login_in_browser(page, phone, password=factories.PASSWORD):
    page.goto("/login")
    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def drag_pin(page, dx: float, dy: float, steps: int = 8) -> None:
    """Drag the check-in map's pin by (dx, dy) CSS pixels with the mouse, as a thumb would."""
    box = page.locator(".leaflet-marker-icon").bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + dx, y + dy, steps=steps)
    page.mouse.up()
