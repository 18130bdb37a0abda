"""Who may enter the console, in one place (CTFd's admins_only as the model).

A staff login lives in the session under its own key, never as a Flask-Login user: an
auditor's session opens no /admin page and a staff session opens no auditor page (each
login starts a fresh session, so one browser holds one or the other). A login has two
stages: after the password it is "pending" and reaches only the next step (change the
initial password, set up the second factor, or enter a code); after the second factor it
is "in". It ends after STAFF_IDLE_MINUTES without a request, on logout (server side, by
its session id), and when the account changes (session version: password, role, reset,
disabled)."""
from __future__ import annotations

import time
from functools import wraps
from typing import Optional, TypeVar

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from .. import sessions
from ..domain import row_ids
from ..domain.staff import Role, role_allows
from ..extensions import client_address, db
from ..models import Staff
from ..services import accounts, staff as staff_service
from ..htmx import go_to
from ..web import safe_next, this_path

KEY = "staff"
PENDING, IN = "pending", "in"


def start(person: Staff, next_url: Optional[str]) -> None:
    """A new session after the right password (stage pending): nothing from before stays."""
    sessions.start(permanent=False)  # a staff login is not kept when the browser closes
    session[KEY] = {"id": person.id, "v": person.session_version or 0, "stage": PENDING,
                    "seen": int(time.time()), "next": safe_next(next_url)}


def promote(person: Staff) -> str:
    """The second factor passed: the session is in. Returns where to go."""
    state = session[KEY]
    session[KEY] = {**state, "stage": IN, "v": person.session_version or 0, "seen": int(time.time())}
    first = "console.regulator.overview" if is_regulator(person) else "console.home.index"
    return state.get("next") or url_for(first)


def renew(person: Staff) -> None:
    """After the holder changed their own password (session version bumped)."""
    session[KEY] = {**session[KEY], "v": person.session_version or 0}


def end(person: Optional[Staff], action: Optional[str]) -> None:
    """End the session on the server (its id) and in the cookie; log `action` if given."""
    sessions.end_on_server()
    if person is not None and action:
        staff_service.note(person, action, address=client_address())
    sessions.fresh()


def session_staff(stage: str) -> Optional[Staff]:
    """The staff member of this session at `stage`, or None; ends an idle session."""
    state = session.get(KEY)
    if not isinstance(state, dict) or state.get("stage") != stage:
        return None
    sid = session.get("sid")
    if not isinstance(sid, str):
        return None
    try:
        person = accounts.signed_in(Staff, int(state["id"]), sid)
        version, seen = int(state["v"]), int(state["seen"])
    except (KeyError, TypeError, ValueError):
        return None
    if person is None or person.disabled or (person.session_version or 0) != version:
        return None
    idle = current_app.config["STAFF_IDLE_MINUTES"] * 60
    if time.time() - seen > idle:
        end(person, "session_expired")
        flash(_("You were logged out after %(minutes)s minutes without activity.",
                minutes=current_app.config["STAFF_IDLE_MINUTES"]), "info")
        return None
    if not request.htmx.auto_refresh:
        # A page refreshing itself (today's board) is nobody's activity: it does not keep
        # an idle session open on a shared computer.
        session[KEY] = {**state, "seen": int(time.time())}
    return person


def next_step(person: Staff) -> str:
    """Where a pending login goes next: the initial password first, then the second factor."""
    if person.must_change_password:
        return url_for("console.auth.change_password")
    if not person.totp_secret:
        return url_for("console.auth.set_up")
    return url_for("console.auth.code")


def _go(target: str):
    """A redirect that htmx follows as a page (HX-Redirect), not a swap."""
    return go_to(target, htmx_status=401)


def pending_required(view):
    """For the steps between the password and the second factor (stage pending)."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        person = session_staff(PENDING)
        if person is None:
            return _go(url_for("console.auth.login"))
        g.staff = person
        return view(*args, **kwargs)
    return wrapped



def is_regulator(person: Staff) -> bool:
    return person.role == Role.REGULATOR.value


def _signed_in():
    """The staff member whose login is complete (set as g.staff), or the answer sending the
    browser to the login's next step or to the login page."""
    person = session_staff(IN)
    if person is None:
        pending = session_staff(PENDING)
        if pending is not None:
            return None, _go(next_step(pending))
        return None, _go(url_for("console.auth.login", next=this_path()
                                 if request.method == "GET" else None))
    g.staff = person
    return person, None


def staff_required(role: str = Role.READONLY.value, *, regulator_reads: bool = False):
    """Only a staff member whose login is complete (password changed, second factor passed)
    and whose role allows `role` enters; the rest of the console's views say nothing more
    about who may. No login: to the console's login page (a pending login: to its next
    step, so an account without a second factor reaches nothing but its setup). A role too
    low: 403 with the reason, before the view runs, so nothing changes. The regulator's
    role allows nothing of a body's, except reading (GET) the views marked
    `regulator_reads`, for any body (own_row, body_in_view)."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            person, elsewhere = _signed_in()
            if person is None:
                return elsewhere
            reading = regulator_reads and request.method in ("GET", "HEAD")
            if not (role_allows(person.role, role) or (reading and is_regulator(person))):
                from .words import role_name

                message = _("Your role (%(role)s) may not do this. Nothing was changed.", role=role_name(person.role))
                return render_template("console/error.html", status=403, message=message), 403
            return view(*args, **kwargs)
        return wrapped
    return decorator


def regulator_required(view):
    """The regulator's own pages: anyone else signed in (a body's staff) gets 404, as for a
    page that does not exist."""
    @wraps(view)
    def wrapped(*args, **kwargs):
        person, elsewhere = _signed_in()
        if person is None:
            return elsewhere
        if not is_regulator(person):
            abort(404)
        return view(*args, **kwargs)
    return wrapped


Row = TypeVar("Row")


def own_row(model: type[Row], row_id: int) -> Row:
    """The row `row_id` of `model` if it belongs to the staff member's own body (R16, R18),
    or any body's for the regulator (a view that lets the regulator in only reads);
    otherwise 404, the same answer as for a row that does not exist."""
    row = db.session.get(model, row_id)
    if row is None or (getattr(row, "agency_id", None) != g.staff.agency_id and not is_regulator(g.staff)):
        abort(404)
    return row


def body_in_view() -> int:
    """The body whose pages are shown: the staff member's own; for the regulator, the body
    named by the `body` argument (404 when there is none such)."""
    if not is_regulator(g.staff):
        return g.staff.agency_id
    from ..models import Agency

    body_id = row_ids.row_id(request.args.get("body"))
    if body_id is None or db.session.get(Agency, body_id) is None:
        abort(404)
    return body_id
