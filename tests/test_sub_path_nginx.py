"""The app at /checkin/ of an intranet site through Debian's nginx with
deploy/nginx/checkin-subpath.conf (included in a site whose other paths are its own) in front
of gunicorn with gunicorn.conf.py: login, a check-in, the console's login, the worker and the
manifest under the prefix, static files from nginx; a prefix a client forges is not believed."""
from __future__ import annotations

import http.client
import json
import re
from urllib.parse import urlencode

import pytest

from checkin_pwa import create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db

from . import factories
from .conftest import not_here
from .helpers import exchange
from .servers import nginx
from .sub_path import PREFIX, escapes, links

SNIPPET = nginx.ROOT / "deploy" / "nginx" / "checkin-subpath.conf"
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture(scope="module")
def site(tmp_path_factory, migrated_db):
    reason = nginx.missing()
    if reason:
        not_here(reason)
    folder = tmp_path_factory.mktemp("sub-path-nginx")

    def site_for(prefix, upstream):
        port, unused = nginx.free_port(), nginx.free_port()
        snippet = prefix / "checkin-subpath.conf"
        snippet.write_text(nginx.substitute(SNIPPET.read_text(), [
            ("/srv/checkin/app/checkin_pwa/static/", f"{nginx.static_copy(prefix)}/")]))
        # The intranet's own site: its other paths are another application's.
        site_conf = (
            f"upstream checkin_app {{ server {upstream}; keepalive 4; }}\n"
            f"server {{\n    listen 127.0.0.1:{port};\n    server_name 127.0.0.1;\n"
            f"    location / {{ return 404 \"the intranet's own page\\n\"; }}\n"
            f"    include {snippet};\n}}\n"
            # nginx.Nginx waits for a second (plain HTTP) port too.
            f"server {{ listen 127.0.0.1:{unused}; return 404; }}\n")
        return site_conf, port, unused

    with nginx.own_database(migrated_db, folder) as database_url:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, PHOTO_STORAGE_DIR=str(folder / "photos"))
        with app.app_context():
            person = factories.auditor()
            plan = factories.plan([person])
            staff = factories.staff(role="admin")
            db.session.commit()
            facts = {"phone": person.phone, "plan_id": plan.id, "staff": staff.phone}
            db.engine.dispose()
        env = nginx.gunicorn_env(folder, database_url, WEB_CONCURRENCY="1")
        with nginx.gunicorn_behind_nginx(env, folder, site_for) as (_gunicorn, proxy):
            yield {"port": proxy.https_port, **facts}  # the site's port, plain HTTP here


class Browser:
    """Requests to the site as a phone's browser sends them (cookies kept), redirects not followed."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict | None = None, headers: dict | None = None):
        sent, body = dict(headers or {}), None
        if form is not None:
            body = urlencode(form).encode()
            sent.update({"Content-Type": "application/x-www-form-urlencoded",
                         "Origin": f"http://127.0.0.1:{self.port}", "Referer": f"http://127.0.0.1:{self.port}{path}"})
        status, answer, data = exchange(http.client.HTTPConnection("127.0.0.1", self.port, timeout=60),
                                        method, path, body, sent, self.cookies)
        return status, answer, data.decode("utf-8", errors="replace")


def assert_stays_under_prefix(page: str, where: str) -> None:
    out = [found for found in links(page) if escapes(found[2], host="127.0.0.1")]
    assert not out, f"{where} offers URLs outside {PREFIX}/: {out}"


def test_an_auditor_logs_in_and_checks_in_at_checkin_through_nginx(site):
    phone = Browser(site["port"])
    assert phone.request("GET", "/login")[0] == 404  # the intranet's, not ours
    status, headers, _ = phone.request("GET", PREFIX)
    assert status == 301 and headers["Location"].endswith(f"{PREFIX}/")
    status, headers, _ = phone.request("GET", f"{PREFIX}/")
    assert status == 302 and headers["Location"].startswith(f"{PREFIX}/login?next=")

    status, headers, page = phone.request("GET", f"{PREFIX}/login")
    assert status == 200
    assert_stays_under_prefix(page, "the login page")
    assert re.search(rf"Path={PREFIX}(;|$)", headers["Set-Cookie"])
    status, headers, _ = phone.request("POST", f"{PREFIX}/login", {
        "phone": site["phone"], "password": factories.PASSWORD, "csrf_token": _TOKEN.search(page).group(1)})
    assert status == 303 and headers["Location"] == f"{PREFIX}/"

    status, _, today = phone.request("GET", f"{PREFIX}/")
    assert status == 200 and f'data-root="{PREFIX}/"' in today
    assert_stays_under_prefix(today, "today's page")
    check_page = f"{PREFIX}/plans/{site['plan_id']}/checkin"
    assert f'href="{check_page}"' in today
    status, _, page = phone.request("GET", check_page)
    assert status == 200 and f'action="{check_page}"' in page
    lat, lon = (repr(x) for x in factories.SITE)
    status, headers, _ = phone.request("POST", check_page, {
        "csrf_token": _TOKEN.search(page).group(1), "device_lat": lat, "device_lon": lon,
        "device_accuracy": "12", "lat": lat, "lon": lon})
    assert status == 303 and headers["Location"].startswith(f"{PREFIX}/")
    status, _, plan = phone.request("GET", f"{PREFIX}/plans/{site['plan_id']}")
    assert status == 200 and "已签到" in plan


def test_worker_manifest_and_static_files_are_served_under_the_prefix(site):
    phone = Browser(site["port"])
    status, headers, worker = phone.request("GET", f"{PREFIX}/service-worker.js")
    assert status == 200 and headers["Service-Worker-Allowed"] == f"{PREFIX}/"
    assert headers["Cache-Control"] == "no-cache"
    status, _, manifest = phone.request("GET", f"{PREFIX}/manifest.json")
    body = json.loads(manifest)
    assert status == 200 and body["scope"] == body["start_url"] == f"{PREFIX}/"
    for icon in body["icons"]:
        assert phone.request("GET", icon["src"])[0] == 200
    status, headers, _ = phone.request("GET", f"{PREFIX}/static/js/app.js")
    assert status == 200 and headers["Cache-Control"] == "no-cache" and headers["ETag"]
    assert "Content-Security-Policy" not in headers  # nginx's file, not the app's answer
    status, headers, _ = phone.request("GET", f"{PREFIX}/static/vendor/htmx-2.0.11.min.js")
    assert status == 200 and "immutable" in headers["Cache-Control"]


def test_a_prefix_forged_by_a_client_is_replaced_by_nginx(site):
    phone = Browser(site["port"])
    status, _, page = phone.request("GET", f"{PREFIX}/login", headers={"X-Forwarded-Prefix": "/evil"})
    assert status == 200 and "/evil" not in page
    assert_stays_under_prefix(page, "the login page")


def test_the_console_login_is_at_checkin_admin(site):
    staff = Browser(site["port"])
    status, headers, _ = staff.request("GET", f"{PREFIX}/admin/plans")
    assert status in (302, 303) and headers["Location"] == f"{PREFIX}/admin/login?next={PREFIX}/admin/plans"
    status, _, page = staff.request("GET", headers["Location"])
    assert status == 200 and "工作人员登录" in page
    assert_stays_under_prefix(page, "the console's login page")
    status, headers, _ = staff.request("POST", f"{PREFIX}/admin/login?next={PREFIX}/admin/plans", {
        "phone": site["staff"], "password": factories.STAFF_PASSWORD, "csrf_token": _TOKEN.search(page).group(1)})
    assert status == 303 and headers["Location"].startswith(f"{PREFIX}/admin/")
