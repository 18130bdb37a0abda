"""Notes that a logged-in auditor's session was online (services.presence), after each of its
own requests: not the outbox's replays (X-Outbox), which come when the phone gets a network
back, nor the service worker's fetches (X-Background-Fetch), which run without the auditor.
At most once a minute per session: the session cookie keeps when it last wrote."""
import time

from flask import Flask, g, request, session
from sqlalchemy.exc import SQLAlchemyError

from .domain import clock
from .extensions import db
from .models import Auditor
from .services import presence

SEEN_KEY = "seen"


def register_presence(app: Flask) -> None:
    @app.after_request
    def note_online(response):
        user = g.get("_login_user")  # only when this request already loaded the auditor
        if not isinstance(user, Auditor) or request.endpoint in (None, "static"):
            return response
        if request.htmx.outbox or request.htmx.background:
            return response
        last = session.get(SEEN_KEY)
        now = time.time()
        if isinstance(last, (int, float)) and 0 <= now - last < presence.NOTE_EVERY_S:
            return response
        ref = presence.session_ref(session.get("sid"))
        if ref is None or db.session.new or db.session.dirty or db.session.deleted:
            return response  # the view's own unsaved work is not ours to commit
        try:
            presence.note_seen(user.id, ref, clock.now())
        except SQLAlchemyError:
            db.session.rollback()  # "last seen" is never worth a failed request
            return response
        session[SEEN_KEY] = int(now)
        return response
