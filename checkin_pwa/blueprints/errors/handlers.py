"""The app-wide error handlers. Areas that answer an error their own way (the console, a
throttled login, a photo too large) register a handler on their blueprint, which wins."""
from __future__ import annotations

import errno
import logging

from flask import current_app, jsonify, render_template, request
from flask_babel import get_locale, gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from ...extensions import db, login_manager
from ...storage import StoreUnavailable
from ...web import wants_json
from . import bp

log = logging.getLogger("checkin_pwa.web")

# A disk that is full or went read-only: nothing can be stored until the operator acts.
STORAGE_UNAVAILABLE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


def error_response(status: int, message: str, **context):
    if wants_json():
        return jsonify({"error": message, **context}), status
    return render_template("errors/error.html", status=status, message=message, **context), status


@bp.app_errorhandler(CSRFError)
def csrf_error(error):
    # No session at all: the token could never have been good; an outbox or htmx
    # request hears 401 (log in again), not "renew the token".
    if request.htmx.wants_fragment and not current_user.is_authenticated:
        return login_manager.unauthorized()
    # data-csrf-expired: the outbox fetches a new token (GET /session/csrf) and retries.
    return error_response(400, _("The form has expired or was not sent from this app. Go back, reload the page and try again."),
                          csrf_expired=True)


@bp.app_errorhandler(404)
def not_found(error):
    return error_response(404, _("Not found, or not yours to see."))


@bp.app_errorhandler(413)
def too_large(error):
    return error_response(413, _("What was sent is too large."))


@bp.app_errorhandler(429)
def too_many(error):
    return error_response(429, _("Too many attempts. Wait a few minutes and try again."))


@bp.app_errorhandler(HTTPException)
def other_http_error(error):
    return error_response(error.code or 500, _("The request could not be handled (%(code)s).", code=error.code))


@bp.app_errorhandler(sa_exc.OperationalError)  # read-only, full, locked, unreachable
@bp.app_errorhandler(sa_exc.InterfaceError)
@bp.app_errorhandler(sa_exc.TimeoutError)  # no pooled connection came free
def database_unavailable(error):
    return _storage_unavailable(error)


@bp.app_errorhandler(OSError)
def storage_error(error):
    if error.errno in STORAGE_UNAVAILABLE_ERRNOS:
        return _storage_unavailable(error)
    return unexpected(error)


@bp.app_errorhandler(Exception)
def unexpected(error):
    # Logged with the trace for the operator; the user sees a plain message.
    log.exception("unhandled error on %s %s", request.method, request.path)
    db.session.rollback()
    return error_response(500, _("Something went wrong on the server. Nothing was changed; please try again."))


def _storage_unavailable(error: Exception):
    """503 with Retry-After: nothing was stored, and a phone's outbox keeps what it sent and
    sends it again later. The page is rendered without the database when it must be (the
    signed-in user and the bottom nav are read from it)."""
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
        response = current_app.make_response(error_response(503, message))
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
