"""What every response shares: security headers, the language switch, friendly errors,
and the one helper that answers a page or its htmx partial."""
from __future__ import annotations

import errno
import logging
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, jsonify, redirect, render_template, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import get_locale, gettext as _, refresh
from flask_login import current_user
from flask_wtf.csrf import CSRFError, generate_csrf
from markupsafe import escape
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from .domain.row_ids import MAX_ROW_ID, ROW_ID_PATTERN
from .htmx import HtmxRequest, go_to, refusal, vary
from .storage import StoreUnavailable

log = logging.getLogger(__name__)

# Photos, avatars and attachments: for the signed-in auditor only, and never kept on the
# phone's disk by the browser (a shared phone, a lost one). Pages are no-store too.
PRIVATE_FILE = "private, no-store"

# A disk that is full or went read-only: nothing can be stored until the operator acts.
STORAGE_UNAVAILABLE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


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


def _error_response(status: int, message: str, **context):
    if wants_json():
        return jsonify({"error": message, **context}), status
    return render_template("errors/error.html", status=status, message=message, **context), status


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
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["this_path"] = this_path

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
                                     "pwa.service_worker", "pwa.manifest", "pwa.offline", "set_language", "session_csrf",
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

    @app.get("/lang/<code>")
    def set_language(code: str):
        if code in app.config["LANGUAGES"]:
            session["lang"] = code
            refresh()  # flask-babel caches the locale per app context
        return redirect(safe_next(request.args.get("next")) or url_for("main.today"), code=303)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        # No session at all: the token could never have been good; an outbox or htmx
        # request hears 401 (log in again), not "renew the token".
        if request.htmx.wants_fragment and not current_user.is_authenticated:
            from .extensions import login_manager

            return login_manager.unauthorized()
        # data-csrf-expired: the outbox fetches a new token (GET /session/csrf) and retries.
        return _error_response(400, _("The form has expired or was not sent from this app. Go back, reload the page and try again."),
                               csrf_expired=True)

    @app.get("/session/csrf")
    def session_csrf():
        """A fresh CSRF token for the outbox's replays (R17); 401 without a session."""
        if not current_user.is_authenticated:
            response = jsonify({"error": _("Please log in first.")})
            response.status_code = 401
        else:
            # And whose session it is: the outbox sends only that auditor's entries.
            response = jsonify({"csrf_token": generate_csrf(), "auditor": current_user.id})
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.errorhandler(404)
    def not_found(error):
        return _error_response(404, _("Not found, or not yours to see."))

    @app.errorhandler(413)
    def too_large(error):
        return _error_response(413, _("What was sent is too large."))

    @app.errorhandler(429)
    def too_many(error):
        return _error_response(429, _("Too many attempts. Wait a few minutes and try again."))

    @app.errorhandler(HTTPException)
    def other_http_error(error):
        return _error_response(error.code or 500, _("The request could not be handled (%(code)s).", code=error.code))

    @app.errorhandler(sa_exc.OperationalError)  # read-only, full, locked, unreachable
    @app.errorhandler(sa_exc.InterfaceError)
    @app.errorhandler(sa_exc.TimeoutError)  # no pooled connection came free
    def database_unavailable(error):
        return _storage_unavailable(error)

    @app.errorhandler(OSError)
    def storage_error(error):
        if error.errno in STORAGE_UNAVAILABLE_ERRNOS:
            return _storage_unavailable(error)
        return unexpected(error)

    @app.errorhandler(Exception)
    def unexpected(error):
        # Logged with the trace for the operator; the user sees a plain message.
        log.exception("unhandled error on %s %s", request.method, request.path)
        from .extensions import db

        db.session.rollback()
        return _error_response(500, _("Something went wrong on the server. Nothing was changed; please try again."))


def _storage_unavailable(error: Exception):
    """503 with Retry-After: nothing was stored, and a phone's outbox keeps what it sent and
    sends it again later. The page is rendered without the database when it must be (the
    signed-in user and the bottom nav are read from it)."""
    from .extensions import db

    def rollback():
        try:
            db.session.rollback()
        except sa_exc.SQLAlchemyError:
            pass

    rollback()
    busy = _database_busy(error)
    if busy:
        log.warning("database busy on %s %s: %s", request.method, request.path, error)
        message = _("The server is busy writing other work and could not save this just now. Nothing was "
                    "saved: it is tried again shortly. What waits on this phone is kept and sent again by itself.")
    elif isinstance(error, StoreUnavailable):
        log.error("photo store unavailable on %s %s: %s", request.method, request.path, error)
        message = _("The server cannot reach its photo store at the moment. Nothing was saved: try again in a "
                    "few minutes. What waits on this phone is kept and sent again by itself.")
    else:
        log.error("storage unavailable on %s %s: %s", request.method, request.path, error)
        message = _("The server cannot store anything at the moment (its disk is full or its database is "
                    "unavailable). Nothing was saved: try again in a few minutes. What waits on this phone "
                    "is kept and sent again by itself.")
    try:
        response = current_app.make_response(_error_response(503, message))
    except Exception:  # noqa: BLE001 - the page itself needed the database
        rollback()
        response = current_app.response_class(
            f'<!doctype html><html lang="{get_locale()}"><meta charset="utf-8"><title>503</title>'
            f'<p class="error" role="alert">{escape(message)}</p></html>', status=503, mimetype="text/html")
    response.headers["Retry-After"] = "10" if busy else "60"
    return response


def _database_busy(error: Exception) -> bool:
    """SQLite's other writer held its one write lock past the busy timeout (a plan import,
    another request): nothing is wrong with the database, a moment later the write goes
    through."""
    return isinstance(error, sa_exc.OperationalError) and "locked" in str(getattr(error, "orig", error)).lower()
