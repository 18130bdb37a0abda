"""A login's session cookie, for both ends: a new one at each login (nothing from before
survives: no session fixation) keeping only the language chosen, and its end on the server
at logout, so a copy of the cookie no longer logs in."""
from __future__ import annotations

from flask import current_app, g, session

from .domain import clock
from .services import accounts


def fresh() -> None:
    """Forget everything in the session but the language the person chose."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    # Flask-WTF caches the signed CSRF token in `g`; it belongs to the session just cleared.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def start(*, permanent: bool) -> None:
    """A fresh session with an id of its own (the server can end it). A permanent one
    (PERMANENT_SESSION_LIFETIME) outlives the browser being closed."""
    fresh()
    session["sid"] = accounts.new_session_id()
    session.permanent = permanent


def end_on_server() -> None:
    """This session's id is ended on the server: a copy of its cookie no longer logs in."""
    sid = session.get("sid")
    if isinstance(sid, str):
        now = clock.now()
        accounts.end_session(sid, now=now, forget_before=now - current_app.permanent_session_lifetime)


def log_in_auditor(auditor) -> None:
    """An auditor's login: a new session, permanent (the app is closed and opened all day)."""
    from flask_login import login_user

    start(permanent=True)
    login_user(auditor)
