"""Helpers for server tests: CSRF is on in tests as in production."""
from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager

from flask import g, has_app_context

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"|"X-CSRFToken": "([^"]+)"')


def csrf_token_from(response) -> str:
    """The CSRF token of a rendered page (a form field, or the htmx header in base.html)."""
    match = _TOKEN.search(response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1) or match.group(2)


def csrf_token(client, path: str = "/login") -> str:
    """A token from `path`, following redirects (a logged-in client asking for /login lands
    on today's page, a first-login one on /password: every page carries the token)."""
    if has_app_context():
        # A test under `app_context` keeps one app context, so `g` outlives a request here
        # (never in production). Flask-WTF caches the signed token in g: with two clients, or after a
        # login or logout cleared the session, that cached token belongs to another session.
        g.pop("csrf_token", None)
    return csrf_token_from(client.get(path, follow_redirects=True))


@contextmanager
def in_app_context(app):
    """The test's own database work (factories, queries) between the requests of several
    browsers, in an app context of its own as in flaskr's tests; committed at the end, and
    the rows it made or read stay readable afterwards. Under `app_context`, in that one."""
    from checkin_pwa.extensions import db

    if has_app_context():
        yield
        db.session.commit()
        return
    with app.app_context():
        yield
        db.session.commit()
        for row in list(db.session.identity_map.values()):
            db.session.refresh(row)


def log_in(client, person, password: str | None = None) -> None:
    """Log `person` in on `client` through the real form (CSRF and all)."""
    from .factories import PASSWORD

    token = csrf_token(client, "/login")
    response = client.post("/login", data={"phone": person.phone, "password": password or PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 303


def on_own_plan(app):
    """An auditor with a plan of their own (committed) and a client logged in as them:
    (client, plan, auditor, the CSRF token of the plan's page)."""
    from checkin_pwa.extensions import db

    from . import factories

    person = factories.auditor()
    plan = factories.plan([person])
    db.session.commit()
    client = app.test_client()
    log_in(client, person)
    return client, plan, person, csrf_token_from(client.get(f"/plans/{plan.id}"))


def phone_of(app, person):
    """A logged-in phone (a test client) for `person`."""
    client = app.test_client()
    log_in(client, person)
    return client


def act_the_moment_it_appears(page, selector: str, action: str) -> None:
    """Run `action` (JavaScript, with the element as `el`) on the first element matching
    `selector` that is added to the page from now on, in the first microtask after it is
    inserted: the quickest thumb there is, before any timer the page may have set runs."""
    page.evaluate(
        """([selector, action]) => {
            const act = new Function("el", action);
            const seen = new Set(document.querySelectorAll(selector));
            const observer = new MutationObserver(() => {
                const el = [...document.querySelectorAll(selector)].find((e) => !seen.has(e));
                if (el) { observer.disconnect(); act(el); }
            });
            observer.observe(document.body, {childList: true, subtree: true});
        }""",
        [selector, action],
    )


def wait_until(page, condition, timeout_ms: int = 10_000) -> None:
    """Let the page run until `condition()` (read on the test's side, e.g. requests seen) holds."""
    waited = 0
    while not condition():
        assert waited < timeout_ms, "timed out waiting for the page"
        page.wait_for_timeout(50)
        waited += 50


def job_settled(client, state_url: str, timeout: float = 120.0, what: str = "the job") -> str:
    """Poll a job's state fragment as its page does (htmx, every second while the job runs)
    until the job is done; the last fragment."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(state_url)
        assert answer.status_code == 200
        text = answer.get_data(as_text=True)
        if 'hx-trigger="every 1s"' not in text:
            return text
        assert time.monotonic() < deadline, f"{what} did not finish"
        time.sleep(0.1)


class HttpPhone:
    """A phone logged in to a real server over HTTP: one cookie jar for all its requests
    (several threads may send through it at once, as an outbox does)."""

    def __init__(self, base: str, phone: str):
        from .factories import PASSWORD

        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        token = self.token("/login")
        self.request("/login", fields={"phone": phone, "password": PASSWORD, "csrf_token": token})

    def token(self, path: str) -> str:
        match = _TOKEN.search(self.request(path)[1])
        return match.group(1) or match.group(2)

    def request(self, path: str, fields=None, files=None, headers=None) -> tuple[int, str]:
        data, content_type = None, None
        if fields is not None or files:
            data, content_type = multipart(fields or {}, files or {})
        request = urllib.request.Request(self.base + path, data=data, headers=dict(headers or {}))
        if content_type:
            request.add_header("Content-Type", content_type)
        try:
            with self.opener.open(request, timeout=120) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f'Content-Type: image/jpeg\r\n\r\n'.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


PHONE_USER_AGENT = "Mozilla/5.0 (Linux; Android 14; Pixel 7) test"


def exchange(connection, method: str, path: str, body: bytes | None, headers: dict, cookies: dict):
    """One request on `connection` (an http.client connection, closed after) as a phone's
    browser sends it: its user agent, the `cookies` it holds, which Set-Cookie then updates.
    (status, headers, body)."""
    sent = {"User-Agent": PHONE_USER_AGENT, **headers}
    if cookies:
        sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
    try:
        connection.request(method, path, body=body, headers=sent)
        response = connection.getresponse()
        data = response.read()
    finally:
        connection.close()
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        cookies[name.strip()] = rest.split(";", 1)[0]
    return response.status, response.headers, data
