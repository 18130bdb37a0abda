"""Flask-Login's user loader: the id carries the session version, so a password change
ends every other session of the account."""
from flask_babel import lazy_gettext as _l

from .extensions import db, login_manager
from .models import Auditor

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
    auditor = db.session.get(Auditor, auditor_id)
    if auditor is None or auditor.session_version != version:
        return None
    return auditor
