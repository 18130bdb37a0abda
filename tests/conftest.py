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
from .helpers import FreshContextClient, csrf_token

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
PHONE_POSITION = {"latitude": 41.1256, "longitude": 126.1865, "accuracy": 12}


def not_here(reason: str) -> None:
    """A test that needs what this machine lacks: skipped on a developer's machine, failed in
    CI (CI=true), where `make test` installs everything and a skip would hide a missing step."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory):
    """One database built by the real migrations; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}")
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return path


def make_app(tmp_path, migrated_db, **overrides):
    path = tmp_path / "checkin.sqlite3"
    shutil.copy(migrated_db, path)
    overrides.setdefault("PHOTO_STORAGE_DIR", str(tmp_path / "photos"))  # never the instance folder
    overrides.setdefault("EXPORT_DIR", str(tmp_path / "exports"))
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}", **overrides)
    return app


@pytest.fixture
def app(tmp_path, migrated_db):
    app = make_app(tmp_path, migrated_db)
    limiter.reset()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


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


@pytest.fixture
def one_app_context_per_request(app):
    """Each request sees only its own session and user, as in production (tests with
    several phones: see helpers.FreshContextClient). Use with pytest.mark.usefixtures."""
    app.test_client_class = FreshContextClient


# --- the real browser --------------------------------------------------------------

@pytest.fixture
def live_server(request, tmp_path, migrated_db):
    """The app on 127.0.0.1 with a free port, in a thread; yields (base_url, app).
    Config overrides go through create_app by indirect parametrization:
    @pytest.mark.parametrize("live_server", [{"EMBED_CROSS_SITE": True}], indirect=True)."""
    app = make_app(tmp_path, migrated_db, **getattr(request, "param", {}))
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
