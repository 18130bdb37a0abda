"""What every response shares: security headers, the session cookie, the body limits, and the
helpers views use to answer a page or its htmx partial. Errors: blueprints/errors; the
language switch and the outbox's CSRF token: blueprints/core."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.routing import IntegerConverter

from .domain.row_ids import MAX_ROW_ID, ROW_ID_PATTERN
from .htmx import HtmxRequest, go_to, refusal, vary

# Photos, avatars and attachments: for the signed-in auditor only, and never kept on the
# phone's disk by the browser (a shared phone, a lost one). Pages are no-store too.
PRIVATE_FILE = "private, no-store"


class RowIdConverter(IntegerConverter):
    """`<int:…>` in our URLs is a row id: one past the id columns' range (domain.row_ids)
    matches no route (404), instead of reaching the database and failing there (500). The
    pattern itself stops there: a POST to a path whose GET rule cannot take the number is a
    404 too, not a 405."""

    regex = ROW_ID_PATTERN

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ROW_ID)
        super().__init__(url_map, *args, **kwargs)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None: the one check for every `?next=`
    we redirect to (no open redirect).

    Refuses absolute URLs, scheme-relative `//host` and `/\\host` (browsers read the
    backslash as a slash), and control characters: browsers drop tabs and newlines from a
    URL (`/\t/host` is `//host` to them), and a newline cannot go into a header at all.
    """
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    if any(ord(ch) < 32 or ch == "\x7f" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    # Mounted under a sub-path: only a page of this app, not another one on the same site.
    root = request.script_root if has_request_context() else ""
    if root and parts.path != root and not parts.path.startswith(root + "/"):
        return None
    return target


def this_path(query: bool = True) -> str:
    """This request's path (and query) as the browser asked for it, with the sub-path the app
    is mounted under: what a `?next=` back to this page or a form posting to it needs."""
    path = request.script_root + request.path
    if query and request.query_string:
        path += "?" + request.query_string.decode("latin-1")
    return path


def login_required_401(message: str):
    """401 with the reason where the outbox and the pages look for it: the outbox keeps its
    entry and asks the auditor to log in."""
    return refusal(message, 401, mark="login-required")


def render_page_or_partial(page: str, partial: str, status: int = 200, **context):
    """The page for a normal request, only its partial for a client that reads fragments
    (request.htmx.wants_fragment). The partial gets `swapped`: htmx puts it into a page, so
    its out-of-band parts go along."""
    asking = request.htmx
    template = partial if asking.wants_fragment else page
    response = current_app.make_response((render_template(template, swapped=bool(asking), **context), status))
    return vary(response)


def wants_json() -> bool:
    return request.path.startswith("/api/")


class SessionCookie(SecureCookieSessionInterface):
    """Flask's signed cookie, Secure over HTTPS; a POST (PUT, DELETE…) that came without the session
    cookie never sets or clears one. The browser sends no SameSite=Lax cookie with a form
    another site submits to us; the answer (a CSRF refusal, whose page makes a token) would
    otherwise set a fresh cookie in place of the auditor's and log them out. Our own forms
    always come with the cookie of the page they were on. The service worker's own fetches
    (marked X-Background-Fetch) never set one either."""

    def save_session(self, app, session, response):
        if request.endpoint == "static":
            # The same file for everyone: never a cookie, nor "Vary: Cookie" (a file kept by
            # the browser's cache would be fetched again after a login changed the cookie).
            return
        if request.method not in ("GET", "HEAD", "OPTIONS") and self.get_cookie_name(app) not in request.cookies:
            return
        if request.htmx.background:
            # The service worker's own fetches (precache, pages kept for offline) run beside
            # the auditor's requests; a late answer must not replace the cookie a login or a
            # logout set in the meantime.
            return
        super().save_session(app, session, response)

    def get_cookie_path(self, app) -> str:
        """The path the app is mounted at (SCRIPT_NAME, X-Forwarded-Prefix, APPLICATION_ROOT):
        another app on the same site never gets the cookie, and this one always does."""
        if app.config["SESSION_COOKIE_PATH"] or not has_request_context():
            return super().get_cookie_path(app)
        return request.script_root or "/"

    def get_cookie_secure(self, app) -> bool:
        """Secure whenever the page came over HTTPS (directly, or through a proxy named in
        TRUSTED_PROXIES that says so): the cookie is then never sent over plain http."""
        return super().get_cookie_secure(app) or (has_request_context() and request.is_secure)


# The routes whose body may be a photo or a plan document uploaded on the console
# (MAX_CONTENT_LENGTH); the plan import API reads its own
# body up to PLAN_IMPORT_MAX_BYTES. Every other request is a form of FORM_MAX_BYTES at most.
LARGE_BODY_ENDPOINTS = frozenset({"photos.upload", "account.avatar", "api.import_plans",
                                  "console.uploads.upload"})
# The console's forms that carry a notice's attachments: NOTICE_UPLOAD_MAX_BYTES.
NOTICE_FILE_ENDPOINTS = frozenset({"console.notices.write", "console.notices.attach"})


class SizedRequest(HtmxRequest):
    """A request whose body limit is its route's: checked against Content-Length before a
    byte is read (and on the bytes read, for a body sent without one), by whatever reads
    first, the CSRF check included (the route is matched before any hook runs)."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and current_app and self.endpoint in NOTICE_FILE_ENDPOINTS:
            return current_app.config["NOTICE_UPLOAD_MAX_BYTES"]
        if self._max_content_length is None and current_app and self.endpoint not in LARGE_BODY_ENDPOINTS:
            return current_app.config["FORM_MAX_BYTES"]
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value


def register_web_hooks(app: Flask) -> None:
    app.request_class = SizedRequest
    app.session_interface = SessionCookie()

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        if request.endpoint == "static":
            # A script, stylesheet or image: the policy and the referrer rule apply to the
            # document (or worker) that loads it, not to the file; nosniff is the file's own.
            return response
        response.headers.setdefault("Referrer-Policy", "same-origin")
        # Pages show an auditor's plans and evidence, or a body's data in the console (a shared
        # office computer): no HTTP cache keeps them (the service worker keeps its own offline
        # copies, removed at logout). Static files, the manifest and the worker script set
        # their own.
        response.headers.setdefault("Cache-Control", "no-store")
        tiles = app.config.get("TILE_URL") or ""
        tile_origin = ""
        if tiles.startswith("http"):
            tile_origin = " " + "/".join(tiles.split("/")[:3]).replace("{s}.", "*.")
        store_origin = app.extensions["photo_store"].image_origin()
        if store_origin:
            tile_origin += " " + store_origin
        # 'wasm-unsafe-eval' lets a page compile WebAssembly (the HEIC decoder photo-bytes.js loads
        # when one is picked), not run JavaScript from strings.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data: blob:" + tile_origin + "; "
            "style-src 'self' 'unsafe-inline'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self'; "
            f"frame-ancestors {app.config['FRAME_ANCESTORS']}; base-uri 'self'; form-action 'self'",
        )
        return response

    @app.before_request
    def force_password_change():
        """R1: an account with its initial password can do nothing but change it."""
        # The endpoint first: loading the user runs Flask-Login's session protection, and
        # the browser fetches the service worker script with its own User-Agent (headless
        # Chromium does, under the tests' phone emulation): that fetch would end the session.
        if (
            request.endpoint not in {"auth.change_password", "auth.logout", "static",
                                     "pwa.service_worker", "pwa.manifest", "pwa.offline", "core.set_language", "core.session_csrf",
                                     "health.healthz", "health.readyz"}
            and current_user.is_authenticated
            and current_user.must_change_password
        ):
            if request.htmx.outbox:
                # A replay must hear "not now" (the outbox keeps the entry and asks to log
                # in): an empty 200 with HX-Redirect would read as "sent" and drop it.
                return login_required_401(
                    _("Change your initial password first; what waits on this phone is kept and sent afterwards."))
            return go_to(url_for("auth.change_password"))
        return None
