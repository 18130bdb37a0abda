from __future__ import annotations

from flask import current_app, jsonify, redirect, request, session, url_for
from flask_babel import gettext as _, refresh
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ...web import safe_next
from . import bp


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        refresh()  # flask-babel caches the locale per app context
    return redirect(safe_next(request.args.get("next")) or url_for("main.today"), code=303)


@bp.get("/session/csrf")
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
