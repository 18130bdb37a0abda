"""The app mounted under a sub-path (an intranet serving it at /checkin/): from a trusted
proxy's X-Forwarded-Prefix (the prefix stripped or not), from APPLICATION_ROOT, or from the
server's SCRIPT_NAME. Every URL a page offers, every redirect, the session cookie, the
manifest and the worker stay under the prefix; outside it the site answers 404 (tests/sub_path.py)."""
from __future__ import annotations

import io
import re
from collections import deque
from pathlib import Path

import pyotp
import pytest
from flask.testing import FlaskClient

from checkin_pwa.extensions import db, limiter
from checkin_pwa.proxies import application_root, parse_prefix

from . import factories as f
from .conftest import make_app
from .helpers import csrf_token_from
from .sub_path import PREFIX, SHAPES, escapes, links, mount

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "photos"
ROOT = Path(__file__).resolve().parents[1]


class SiteClient(FlaskClient):
    """A browser asking for the site's paths: Flask's test client would otherwise put
    APPLICATION_ROOT in SCRIPT_NAME itself, as no real server or proxy does."""

    def open(self, *args, **kwargs):
        if args and isinstance(args[0], str):
            kwargs.setdefault("base_url", "http://localhost/")
        return super().open(*args, **kwargs)


@pytest.fixture(params=sorted(SHAPES))
def mounted(request, tmp_path, migrated_db):
    config, _wrap = SHAPES[request.param]
    app = mount(make_app(tmp_path, migrated_db, **config), request.param)
    app.test_client_class = SiteClient
    limiter.reset()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def text(response) -> str:
    return response.get_data(as_text=True)


def assert_under_prefix(response, where: str) -> None:
    location = response.headers.get("Location") or response.headers.get("HX-Redirect")
    if location:
        assert not escapes(location), f"{where} redirects out of {PREFIX}/: {location}"
    if response.mimetype == "text/html":
        out = [(tag, name, url) for tag, name, url in links(text(response)) if escapes(url)]
        assert not out, f"{where} offers URLs outside {PREFIX}/: {out}"


def log_in(client, phone: str, password: str = f.PASSWORD, next_url: str | None = None):
    target = f"{PREFIX}/login" + (f"?next={next_url}" if next_url else "")
    page = client.get(target)  # its form posts back to the page's own URL
    return client.post(target, data={"phone": phone, "password": password, "csrf_token": csrf_token_from(page)})


def crawl(client, start: str, skip=re.compile(r"/(logout|lang/|static/|photos/|service-worker\.js|manifest\.json)"),
          limit: int = 80) -> set[str]:
    """Every page reachable by GET links and hx-get from `start`, each checked: answered (no
    404, no 5xx) and offering no URL outside the prefix. The paths seen."""
    seen, queue = set(), deque([start])
    while queue and len(seen) < limit:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url, headers={"HX-Request": "true"} if "#hx" in url else {})
        assert response.status_code != 404 and response.status_code < 500, f"{url}: {response.status_code}"
        assert_under_prefix(response, url)
        if response.mimetype != "text/html":
            continue
        for tag, name, found in links(text(response)):
            if name in ("href", "hx-get") and tag != "link" and found.startswith(PREFIX + "/") and not skip.search(found):
                queue.append(found.split("#")[0])
    return seen


# --- the prefix itself ---------------------------------------------------------------------

@pytest.mark.parametrize("given, prefix", [
    ("/checkin", "/checkin"), ("/checkin/", "/checkin"), ("/", ""), ("", ""), ("/a/b-c_d", "/a/b-c_d"),
    ("checkin", None), ("/check in", None), ('/"><script>', None), ("//evil.example", None),
    ("/../admin", None), ("/%2e%2e", None),
])
def test_a_prefix_is_a_plain_path_or_nothing(given, prefix):
    assert parse_prefix(given) == prefix


def test_a_bad_application_root_stops_the_server_at_start_naming_it():
    with pytest.raises(ValueError, match="APPLICATION_ROOT"):
        application_root("check in")


def test_x_forwarded_prefix_from_an_untrusted_peer_is_ignored(app):
    client = app.test_client()
    page = client.get("/login", headers={"X-Forwarded-Prefix": "/elsewhere"},
                      environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert page.status_code == 200
    assert 'href="/phone/change"' in text(page) and "/elsewhere" not in text(page)
    assert "Path=/;" in page.headers["Set-Cookie"]


def test_at_the_root_nothing_changes(app):
    client = app.test_client()
    page = client.get("/login")
    assert_root = [url for _tag, _name, url in links(text(page)) if url.startswith(PREFIX)]
    assert not assert_root
    assert client.get("/manifest.json").json["scope"] == "/"
    assert client.get("/service-worker.js").headers["Service-Worker-Allowed"] == "/"


# --- an auditor's pages, redirects and cookie under /checkin/ ------------------------------

def test_login_redirects_and_session_cookie_stay_under_the_prefix(mounted):
    person = f.auditor()
    db.session.commit()
    client = mounted.test_client()

    assert client.get("/login").status_code == 404  # the site outside the prefix is not ours
    first = client.get(f"{PREFIX}/")
    assert first.status_code == 302
    assert first.headers["Location"].startswith(f"{PREFIX}/login?next=")
    assert "%2Fcheckin%2F" in first.headers["Location"]

    answer = log_in(client, person.phone, next_url=f"{PREFIX}/tasks")
    assert answer.status_code == 303 and answer.headers["Location"] == f"{PREFIX}/tasks"
    cookie = answer.headers["Set-Cookie"]
    assert f"Path={PREFIX};" in cookie or cookie.endswith(f"Path={PREFIX}")
    assert client.get(f"{PREFIX}/tasks").status_code == 200

    # The language switch comes back to this page, under the prefix.
    today = client.get(f"{PREFIX}/")
    switch = re.search(r'href="([^"]*/lang/en[^"]*)"', text(today)).group(1)
    assert switch == f"{PREFIX}/lang/en?next=/checkin/"
    assert client.get(switch.replace("&amp;", "&")).headers["Location"] == f"{PREFIX}/"


def test_a_next_outside_the_prefix_is_not_followed(mounted):
    person = f.auditor()
    db.session.commit()
    client = mounted.test_client()
    answer = log_in(client, person.phone, next_url="/other-app/")
    assert answer.status_code == 303 and answer.headers["Location"] == f"{PREFIX}/"


def test_every_url_on_an_auditors_pages_stays_under_the_prefix(mounted):
    person = f.auditor()
    plan = f.plan([person])
    db.session.commit()
    client = mounted.test_client()
    assert log_in(client, person.phone).status_code == 303

    # Check in through the form the page offers.
    page = client.get(f"{PREFIX}/plans/{plan.id}/checkin")
    assert_under_prefix(page, "the check-in page")
    action = re.search(r'<form[^>]*action="([^"]+/checkin)"', text(page)).group(1)
    assert action == f"{PREFIX}/plans/{plan.id}/checkin"
    point = f"{f.SITE[0]!r}"
    checked = client.post(action, data={
        "csrf_token": csrf_token_from(page), "device_lat": point, "device_lon": repr(f.SITE[1]),
        "device_accuracy": "12", "lat": point, "lon": repr(f.SITE[1])})
    assert checked.status_code == 303 and checked.headers["Location"].startswith(PREFIX + "/")

    # A photo, through the photos form's action; its tile's links stay under the prefix.
    detail = client.get(f"{PREFIX}/plans/{plan.id}")
    upload = re.search(r'action="([^"]+/photos)"', text(detail)).group(1)
    assert upload == f"{PREFIX}/plans/{plan.id}/photos"
    photo = (FIXTURES / "DSCN0010.jpg").read_bytes()
    tile = client.post(upload, content_type="multipart/form-data", headers={"X-Checkin-Client": "photos"},
                       data={"csrf_token": csrf_token_from(detail), "group": "first",
                             "photo": (io.BytesIO(photo), "DSCN0010.jpg", "image/jpeg")})
    assert tile.status_code == 201, text(tile)
    assert_under_prefix(tile, "the new photo's tile")
    thumb = re.search(r'<img src="([^"]+)"', text(tile)).group(1)
    assert thumb.startswith(PREFIX + "/photos/") and client.get(thumb).status_code == 200

    seen = crawl(client, f"{PREFIX}/")
    for page in ("/", f"/plans/{plan.id}", "/tasks", "/calendar", "/notices", "/me", "/outbox", "/help"):
        assert PREFIX + page in seen, f"{page} not reached from today's page: {sorted(seen)}"


def test_the_api_answers_under_the_prefix(mounted):
    assert mounted.test_client().post(f"{PREFIX}/api/v1/plans", json={}).status_code == 401
    assert mounted.test_client().post("/api/v1/plans", json={}).status_code == 404


# --- the manifest and the worker -------------------------------------------------------------

def test_manifest_installs_the_app_at_the_prefix_with_its_icons(mounted):
    client = mounted.test_client()
    manifest = client.get(f"{PREFIX}/manifest.json")
    assert manifest.status_code == 200 and manifest.mimetype == "application/manifest+json"
    body = manifest.json
    assert body["id"] == body["start_url"] == body["scope"] == f"{PREFIX}/"
    assert body["name"] == "认证到 · 审核签到"
    for icon in body["icons"]:
        assert icon["src"].startswith(f"{PREFIX}/static/icons/")
        assert client.get(icon["src"]).status_code == 200
    again = client.get(f"{PREFIX}/manifest.json", headers={"If-None-Match": manifest.headers["ETag"]})
    assert again.status_code == 304


def test_worker_is_served_at_the_prefix_and_every_file_it_precaches_or_keeps_is_there(mounted):
    client = mounted.test_client()
    worker = client.get(f"{PREFIX}/service-worker.js")
    assert worker.status_code == 200
    assert worker.headers["Service-Worker-Allowed"] == f"{PREFIX}/"
    source = text(worker)
    # The worker's paths are the app's own, placed under the folder it is served from.
    assert 'new URL("./", self.location.href).pathname' in source
    listed = re.search(r"var PRECACHE = \[OFFLINE_URL\]\.concat\(\[(.*?)\]\.map\(at\)\);", source, re.S).group(1)
    # Page code: fetched with the kept pages that name it (under the prefix as they name it).
    listed += re.search(r"var PAGE_CODE = \[(.*?)\]\.map\(at\);", source, re.S).group(1)
    paths = ["/offline", "/static/js/outbox.js"] + re.findall(r'"(/[^"]+)"', listed)
    assert len(paths) > 20
    for path in paths:
        assert client.get(PREFIX + path).status_code == 200, path
    assert not re.search(r'(importScripts|fetch)\("/', source)


# --- the management end ----------------------------------------------------------------------

def test_management_end_logs_in_and_links_under_the_prefix(mounted):
    person = f.staff(role="admin")
    db.session.commit()
    client = mounted.test_client()

    away = client.get(f"{PREFIX}/admin/plans")
    assert away.status_code in (302, 303)
    assert away.headers["Location"] == f"{PREFIX}/admin/login?next=/checkin/admin/plans"
    login = client.get(away.headers["Location"])
    assert_under_prefix(login, "the console's login page")
    answer = client.post(away.headers["Location"], data={
        "phone": person.phone, "password": f.STAFF_PASSWORD, "csrf_token": csrf_token_from(login)})
    assert answer.status_code == 303 and answer.headers["Location"].startswith(f"{PREFIX}/admin/")
    code_page = client.get(answer.headers["Location"])
    done = client.post(answer.headers["Location"], data={
        "code": pyotp.TOTP(f.STAFF_SECRET).now(), "csrf_token": csrf_token_from(code_page)})
    assert done.status_code == 303 and done.headers["Location"] == f"{PREFIX}/admin/plans"

    seen = crawl(client, f"{PREFIX}/admin/", limit=40)
    assert f"{PREFIX}/admin/plans" in seen and f"{PREFIX}/admin/auditors" in seen


def test_r1_the_code_button_answered_when_codes_are_throttled_posts_under_the_prefix(tmp_path, migrated_db):
    app = mount(make_app(tmp_path, migrated_db, CODE_SEND_LIMIT_PER_ADDRESS="1 per hour"), "proxy-strips-says-prefix")
    app.test_client_class = SiteClient
    limiter.reset()
    with app.app_context():
        client = app.test_client()
        page = client.get(f"{PREFIX}/password/forgot")
        assert_under_prefix(page, "the forgotten-password page")
        ask = {"phone": "13900000001", "csrf_token": csrf_token_from(page)}
        htmx = {"HX-Request": "true"}
        assert client.post(f"{PREFIX}/password/forgot/code", data=ask, headers=htmx).status_code == 200
        throttled = client.post(f"{PREFIX}/password/forgot/code", data=ask, headers=htmx)
        assert throttled.status_code == 422
        assert f'hx-post="{PREFIX}/password/forgot/code"' in text(throttled)
        assert_under_prefix(throttled, "the throttled code button")
        db.session.remove()
        db.engine.dispose()
