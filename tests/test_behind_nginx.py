"""The app as a server runs it: Debian's nginx with deploy/nginx/checkin.conf (TLS on a port
other than 443) in front of gunicorn with gunicorn.conf.py. A phone logs in, checks in and
uploads a 14 MB photo through it; text is compressed; static files come from nginx with the
caching the sample promises; the app sees the phone's own address (tests/servers/nginx.py)."""
from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import html
import http.client
import io
import os
import re
import ssl
import time
import uuid
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from PIL import Image

from checkin_pwa import create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db
from checkin_pwa.models import ApiToken, CheckEvent, Photo
from checkin_pwa.services import tokens

from . import factories
from .conftest import TEST_PHOTO_STORE, not_here, s3_store_config
from .helpers import exchange
from .servers import nginx

FIXTURE = Path("/work/shared/fixtures/photos/HMD_Nokia_8.3_5G.jpg")
if not FIXTURE.exists():  # a checkout elsewhere: the fixtures beside the repository
    FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "photos" / FIXTURE.name
STATIC = nginx.ROOT / "checkin_pwa" / "static"
# The phone: another loopback address than nginx's own, so the app's idea of the client is
# visibly the phone's and not the proxy's.
PHONE_ADDRESS = "127.0.0.2"
_FORM_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_HEADER_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')


class Stack:
    def __init__(self, url: str, http_port: int, cert: Path, app, gunicorn, proxy, plan_id: int,
                 phone: str, api_token: str):
        self.url, self.http_port, self.cert, self.app = url, http_port, cert, app
        self.gunicorn, self.nginx = gunicorn, proxy
        self.plan_id, self.phone, self.api_token = plan_id, phone, api_token
        self.https_port = urlsplit(url).port


@pytest.fixture(scope="module")
def stack(tmp_path_factory, migrated_db):
    reason = nginx.missing()
    if reason:
        not_here(reason)
    folder = tmp_path_factory.mktemp("behind-nginx")
    # The pass's photo store: a folder, or a bucket of the S3-compatible server; the app in
    # this process reads what gunicorn stored there.
    store = (s3_store_config() if TEST_PHOTO_STORE == "s3"
             else {"PHOTO_STORE": "filesystem", "PHOTO_STORAGE_DIR": str(folder / "photos")})

    def site_for(prefix, upstream):
        cert, key = nginx.self_signed(prefix)
        https_port, http_port = nginx.free_port(), nginx.free_port()
        return (nginx.render_site(https_port=https_port, http_port=http_port, upstream=upstream,
                                  cert=cert, key=key, logs=prefix / "logs", static_dir=nginx.static_copy(prefix)),
                https_port, http_port)

    # A database of its own for the module (the pass's backend), dropped at its end.
    with nginx.own_database(migrated_db, folder) as database_url:
        app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=database_url, **store)
        with app.app_context():
            person = factories.auditor()
            plan = factories.plan([person])
            db.session.commit()
            plan_id, phone = plan.id, person.phone
            api_token = tokens.create_token(factories.agency().code, "behind nginx")
            db.engine.dispose()
        env = nginx.gunicorn_env(folder, database_url, **{name: str(value) for name, value in store.items()})
        with nginx.gunicorn_behind_nginx(env, folder, site_for) as (gunicorn, proxy):
            yield Stack(f"https://127.0.0.1:{proxy.https_port}", proxy.http_port, proxy.prefix / "fullchain.pem",
                        app, gunicorn, proxy, plan_id, phone, api_token)


class Phone:
    """A browser's requests over HTTPS from PHONE_ADDRESS: the certificate checked against the
    test's own, cookies kept, Referer and Origin sent as a browser sends them."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.context = ssl.create_default_context(cafile=str(stack.cert))
        self.cookies: dict[str, str] = {}
        self.csrf = ""

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                referer: str | None = None) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = http.client.HTTPSConnection("127.0.0.1", self.stack.https_port, context=self.context, timeout=120,
                                           source_address=(PHONE_ADDRESS, 0))
        sent = dict(headers or {})
        if method == "POST":
            sent.setdefault("Origin", self.stack.url)
            sent.setdefault("Referer", self.stack.url + (referer or path))
        return exchange(conn, method, path, body, sent, self.cookies)

    def post_form(self, path: str, form: dict, **kwargs):
        return self.request("POST", path, urlencode(form).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"}, **kwargs)

    def log_in(self) -> None:
        status, _, page = self.request("GET", "/login")
        assert status == 200
        token = _FORM_TOKEN.search(page.decode()).group(1)
        status, headers, body = self.post_form("/login", {"phone": self.stack.phone, "password": factories.PASSWORD,
                                                          "csrf_token": token})
        assert status == 303, body.decode(errors="replace")[:500]
        location = urlsplit(headers["Location"])
        # A relative redirect, or an absolute one that kept the scheme and the port.
        assert (location.scheme, location.netloc) in {("", ""), ("https", f"127.0.0.1:{self.stack.https_port}")}
        assert location.path == "/"
        status, _, page = self.request("GET", "/")
        assert status == 200
        self.csrf = _HEADER_TOKEN.search(html.unescape(page.decode())).group(1)


def noisy_jpeg(target_bytes: int) -> bytes:
    """A real camera JPEG (the Nokia fixture's pixels and EXIF) enlarged and mixed with noise
    until it is `target_bytes` give or take 4 %."""
    source = Image.open(FIXTURE)
    exif = source.getexif()
    base = source.convert("RGB")
    width, height = 4000, 3000
    for _ in range(4):
        noise = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
        picture = Image.blend(base.resize((width, height)), noise, 0.35)
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=95, exif=exif)
        data = out.getvalue()
        if abs(len(data) - target_bytes) <= target_bytes * 0.04:
            return data
        scale = (target_bytes / len(data)) ** 0.5
        width, height = int(width * scale), int(height * scale)
    raise AssertionError(f"could not make a JPEG of {target_bytes} bytes (last {len(data)})")


def multipart(fields: dict, file_field: str, name: str, data: bytes, content_type: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
             for key, value in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{name}"\r\n'
                 f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def access_lines(stack: Stack, path: str) -> list[str]:
    """gunicorn's access log lines for requests of `path` (the log is written after the
    answer, so wait for it a moment)."""
    marker = f" {path} HTTP/"
    lines: list[str] = []

    def logged():
        lines[:] = [line for line in stack.gunicorn.log().splitlines() if marker in line]
        return bool(lines)

    try:
        nginx.wait_until(logged, 10, f"an access log line for {path}")
    except RuntimeError:
        pass
    return lines


def test_r8_an_auditor_logs_in_checks_in_and_uploads_a_14_mb_photo_through_nginx_on_port_not_443(stack):
    phone = Phone(stack)
    phone.log_in()

    now_ms = str(int(time.time() * 1000))
    site = factories.SITE
    status, _, body = phone.post_form(f"/plans/{stack.plan_id}/checkin", {
        "device_lat": site[0], "device_lon": site[1], "device_accuracy": "12", "device_position_time": now_ms,
        "device_time": now_ms, "device_time_sent": now_ms, "lat": site[0], "lon": site[1],
        "idempotency_key": uuid.uuid4().hex, "csrf_token": phone.csrf,
    }, referer=f"/plans/{stack.plan_id}/checkin")
    assert status in (200, 303), body.decode(errors="replace")[:500]
    with stack.app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(CheckEvent)
                                 .filter_by(plan_id=stack.plan_id, kind="in")) == 1

    photo = noisy_jpeg(14 * 1024 * 1024)
    assert len(photo) > 13 * 1024 * 1024  # far above nginx's default limit of 1 MiB
    body, content_type = multipart({"csrf_token": phone.csrf, "group": "first"}, "photo", "big.jpg", photo,
                                   "image/jpeg")
    status, _, answer = phone.request("POST", f"/plans/{stack.plan_id}/photos", body,
                                      {"Content-Type": content_type, "HX-Request": "true",
                                       "X-CSRFToken": phone.csrf}, referer=f"/plans/{stack.plan_id}")
    assert status == 201, answer.decode(errors="replace")[:800]
    with stack.app.app_context():
        stored = db.session.scalars(db.select(Photo).filter_by(plan_id=stack.plan_id)).all()
        assert [row.sha256_received for row in stored] == [hashlib.sha256(photo).hexdigest()]
        assert stack.app.extensions["photo_store"].read(stored[0].evidence_key) == photo


def test_r8_a_photo_over_the_apps_limit_gets_the_apps_own_message_not_nginxs(stack):
    phone = Phone(stack)
    phone.log_in()
    too_big = os.urandom(16 * 1024 * 1024 + 200 * 1024)  # over MAX_CONTENT_LENGTH, under nginx's limit
    body, content_type = multipart({"csrf_token": phone.csrf, "group": "other"}, "photo", "huge.jpg", too_big,
                                   "image/jpeg")
    status, _, answer = phone.request("POST", f"/plans/{stack.plan_id}/photos", body,
                                      {"Content-Type": content_type, "HX-Request": "true",
                                       "X-CSRFToken": phone.csrf}, referer=f"/plans/{stack.plan_id}")
    text = answer.decode(errors="replace")
    assert status == 413, (status, text[:500], stack.nginx.error_log()[-2000:], stack.gunicorn.log()[-2000:])
    assert "<center>nginx" not in text
    assert "15 MB" in text  # the app's refusal, in Chinese, naming the limit


def test_plain_http_is_redirected_to_https_on_the_same_host_and_port(stack):
    conn = http.client.HTTPConnection("127.0.0.1", stack.http_port, timeout=30)
    conn.request("GET", "/login?next=/plans")
    response = conn.getresponse()
    response.read()
    conn.close()
    assert response.status == 301
    assert response.headers["Location"] == f"{stack.url}/login?next=/plans"


def test_css_js_json_and_pages_are_compressed_and_equal_the_files(stack):
    phone = Phone(stack)
    for path in ("/static/css/app.css", "/static/js/app.js", "/static/vendor/htmx-2.0.11.min.js"):
        status, headers, data = phone.request("GET", path, headers={"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip", path
        assert "Accept-Encoding" in headers.get("Vary", ""), path
        assert gzip.decompress(data) == (STATIC / path.removeprefix("/static/")).read_bytes(), path
    for path in ("/manifest.json", "/login"):
        status, headers, data = phone.request("GET", path, headers={"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip", path
        assert gzip.decompress(data)
    # A client that does not ask for it gets plain bytes.
    status, headers, data = phone.request("GET", "/static/css/app.css")
    assert "Content-Encoding" not in headers and data == (STATIC / "css/app.css").read_bytes()


def _max_age(headers, name: str = "Cache-Control") -> int:
    match = re.search(r"max-age=(\d+)", headers.get(name, ""))
    return int(match.group(1)) if match else 0


def test_static_files_come_from_nginx_revalidated_and_only_versioned_ones_kept_long(stack):
    phone = Phone(stack)
    status, headers, _ = phone.request("GET", "/static/js/outbox.js")
    assert status == 200
    assert headers["Cache-Control"] == "no-cache" and headers["ETag"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert _max_age(headers, "Strict-Transport-Security") >= 365 * 24 * 3600  # HSTS here too
    status, _, data = phone.request("GET", "/static/js/outbox.js", headers={"If-None-Match": headers["ETag"]})
    assert status == 304 and data == b""
    # As the pages name it, with its version: kept a year.
    status, headers, _ = phone.request("GET", "/static/js/outbox.js?v=0123456789ab")
    assert status == 200 and _max_age(headers) >= 365 * 24 * 3600 and "immutable" in headers["Cache-Control"]

    status, headers, _ = phone.request("GET", "/static/vendor/leaflet-1.9.4/leaflet.js")
    assert status == 200 and _max_age(headers) >= 365 * 24 * 3600 and "immutable" in headers["Cache-Control"]

    # The worker script and the manifest are the app's, checked by the browser on every load.
    for path in ("/service-worker.js", "/manifest.json"):
        status, headers, data = phone.request("GET", path)
        assert status == 200, path
        assert "no-cache" in headers["Cache-Control"] and _max_age(headers) == 0, path
        assert _max_age(headers, "Strict-Transport-Security") >= 365 * 24 * 3600, path
        if "Expires" in headers:  # send_file's max_age=0 says "now"
            assert parsedate_to_datetime(headers["Expires"]) <= dt.datetime.now(dt.timezone.utc), path
    assert b"__STATIC_FINGERPRINT__" not in phone.request("GET", "/service-worker.js")[2]

    # gunicorn answered the worker script and never saw the static files.
    assert access_lines(stack, "/service-worker.js")
    log = stack.gunicorn.log()
    assert "/static/js/outbox.js" not in log and "/static/vendor/" not in log


def test_the_app_records_and_logs_the_phones_address_not_the_proxys_nor_a_forged_one(stack):
    phone = Phone(stack)
    # A forged X-Forwarded-For from the phone is kept to the left of what nginx appends; the
    # app reads from the right and stops at the first address that is not a trusted proxy.
    status, _, _ = phone.request("POST", "/api/v1/plans", b"{}",
                                 {"Authorization": f"Bearer {stack.api_token}", "Content-Type": "application/json",
                                  "X-Forwarded-For": "203.0.113.7", "X-Request-ID": "forged"})
    assert status in (400, 422)
    with stack.app.app_context():
        assert db.session.scalar(db.select(ApiToken.last_used_from)) == PHONE_ADDRESS

    phone.request("GET", "/login?from=address-check", headers={"X-Forwarded-For": "203.0.113.7"})
    [line] = access_lines(stack, "/login?from=address-check")
    assert f"{PHONE_ADDRESS} " in line and "203.0.113.7" not in line
    # nginx's own request id reaches the app (a client's is replaced).
    assert re.search(r"rid=[0-9a-f]{32}\b", line), line
