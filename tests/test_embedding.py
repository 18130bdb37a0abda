"""Embedding in an intranet page: the session cookie's attributes (EMBED_CROSS_SITE) and
who may frame us (FRAME_ANCESTORS), set by the environment as an operator does."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from checkin_pwa.extensions import db, limiter

from . import factories
from .conftest import make_app
from .helpers import csrf_token_from

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def app_with(tmp_path, migrated_db):
    """app_with(**config) -> an app built by create_app with those overrides."""
    apps = []

    def build(**overrides):
        app = make_app(tmp_path, migrated_db, **overrides)
        apps.append(app)
        return app

    limiter.reset()
    yield build
    for app in apps:
        with app.app_context():
            db.engine.dispose()


def cookie_attributes(response, name="session") -> set[str]:
    """The attributes of the Set-Cookie for `name`, lower-cased (e.g. {"secure", "samesite=none"})."""
    (header,) = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    return {part.strip().lower() for part in header.split(";")[1:]}


def test_default_session_cookie_is_lax_for_same_site_embedding(app_with):
    response = app_with().test_client().get("/login")
    attributes = cookie_attributes(response)
    assert "samesite=lax" in attributes and "httponly" in attributes
    assert "secure" not in attributes and "partitioned" not in attributes


def test_embed_cross_site_makes_the_session_cookie_none_secure_partitioned(app_with):
    app = app_with(EMBED_CROSS_SITE=True)
    with app.app_context():
        phone = factories.auditor().phone
        db.session.commit()
    client = app.test_client()
    page = client.get("/login")
    expected = {"samesite=none", "secure", "partitioned", "httponly", "path=/"}
    assert expected <= cookie_attributes(page)

    # The renewed session after login (and with it the CSRF token) keeps them too.
    login = client.post("/login", data={"phone": phone, "password": factories.PASSWORD,
                                        "csrf_token": csrf_token_from(page)})
    assert login.status_code == 303
    assert expected <= cookie_attributes(login)
    assert client.get("/").status_code == 200


def test_frame_ancestors_is_honoured_on_pages_and_errors(app_with):
    client = app_with(FRAME_ANCESTORS="'self' https://oa.example-cert.cn").test_client()
    for response in (client.get("/login"), client.get("/no-such-page"), client.get("/api/v1/no-such")):
        policy = response.headers["Content-Security-Policy"]
        assert "frame-ancestors 'self' https://oa.example-cert.cn;" in policy
        assert "X-Frame-Options" not in response.headers  # it would override the list


def test_environment_switches_embedding_on_as_an_operator_sets_it(tmp_path, migrated_db):
    """EMBED_CROSS_SITE=1 and FRAME_ANCESTORS from the environment, through Config and
    create_app, in a fresh interpreter (Config reads the environment at import)."""
    script = (
        "import json; from checkin_pwa import create_app\n"
        "r = create_app().test_client().get('/login')\n"
        "print(json.dumps({'cookie': r.headers['Set-Cookie'], 'csp': r.headers['Content-Security-Policy']}))\n"
    )
    env = {**os.environ, "EMBED_CROSS_SITE": "1", "FRAME_ANCESTORS": "https://oa.example-cert.cn",
           "DATABASE_URL": migrated_db.new_url(tmp_path), "SECRET_KEY": "embedding-test", "TILE_URL": ""}
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=True)
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    attributes = {part.strip().lower() for part in answer["cookie"].split(";")[1:]}
    assert {"samesite=none", "secure", "partitioned"} <= attributes
    assert "frame-ancestors https://oa.example-cert.cn;" in answer["csp"]
