"""Flask-Login's user loader: the id carries the session version, so a password change
ends every other session of the account; the session's own id, once logged out, ends
that one session (a copy of the cookie made before logout logs nobody in)."""
from flask import flash, redirect, request, session
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login.utils import login_url

from .extensions import login_manager
from .models import Auditor
from .services import accounts
from .web import login_required_401

login_manager.login_view = "auth.login"
login_manager.login_message = _l("Please log in first.")
# "basic", not "strong": strong drops the session whenever the address or browser
# identifier changes, and an auditor's phone moves between factory Wi-Fi and 4G all day.
# Session fixation is handled by renewing the session at login (auth.login).
login_manager.session_protection = "basic"


@login_manager.user_loader
def load_auditor(user_id: str):
    try:
        auditor_id, version = (int(part) for part in user_id.split(":", 1))
    except ValueError:
        return None
    sid = session.get("sid")
    if not isinstance(sid, str):
        return None
    auditor = accounts.signed_in(Auditor, auditor_id, sid)
    if auditor is None or auditor.session_version != version or auditor.disabled:
        return None
    return auditor


@login_manager.unauthorized_handler
def unauthorized():
    """No session: 401 for htmx, the outbox and the photo script (the outbox keeps its entry and asks
    to log in again); otherwise Flask-Login's own flash and redirect to the login page."""
    if request.htmx.wants_fragment:
        return login_required_401(
            _("Your session has ended. Please log in again; nothing waiting on this phone is lost."))
    flash(login_manager.login_message, login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, request.url))
