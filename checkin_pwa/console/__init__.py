"""The management end (管理端): a body's staff console under /admin, its own package of
blueprints, templates (templates/console/) and navigation, sharing the models, domain and
services with the auditors' app. Every view is guarded by console.guard.staff_required."""
import json

from flask import Blueprint, Flask, g, render_template

bp = Blueprint("console", __name__, url_prefix="/admin")


def _error(status: int, message: str):
    return render_template("console/error.html", status=status, message=message), status


def pretty_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def pending_phone_changes() -> int:
    """The staff member's body's phone-number changes waiting for a decision."""
    from ..services.phone_changes import pending_count

    return pending_count(g.staff.agency_id) if g.staff.agency_id is not None else 0


@bp.errorhandler(404)
def not_found(error):
    from flask_babel import gettext as _

    return _error(404, _("Not found, or not yours to see."))


# The areas, each a blueprint of its own nested under /admin (their errors and the
# no-store header above apply to all of them).
from .anomalies import bp as anomalies_bp  # noqa: E402
from .auditors import bp as auditors_bp  # noqa: E402
from .auth import bp as auth_bp  # noqa: E402
from .board import bp as board_bp  # noqa: E402
from .exports import bp as exports_bp  # noqa: E402
from .home import bp as home_bp  # noqa: E402
from .log import bp as log_bp  # noqa: E402
from .notices import bp as notices_bp  # noqa: E402
from .phone_changes import bp as phone_changes_bp  # noqa: E402
from .plans import bp as plans_bp  # noqa: E402
from .plan_edits import bp as plan_edits_bp  # noqa: E402
from .profile import bp as profile_bp  # noqa: E402
from .regulator import bp as regulator_bp  # noqa: E402
from .staff import bp as staff_bp  # noqa: E402
from .tokens import bp as tokens_bp  # noqa: E402
from .uploads import bp as uploads_bp  # noqa: E402
from .verifications import bp as verifications_bp  # noqa: E402

for _child in (auth_bp, home_bp, board_bp, profile_bp, auditors_bp, phone_changes_bp, plans_bp, notices_bp, staff_bp,
               tokens_bp, log_bp, uploads_bp, plan_edits_bp, verifications_bp, anomalies_bp, exports_bp, regulator_bp):
    bp.register_blueprint(_child)


@bp.errorhandler(413)
def too_large(error):
    from flask import current_app, request
    from flask_babel import gettext as _

    from ..domain.notice_body import BODY_MAX
    from ..web import NOTICE_FILE_ENDPOINTS

    if request.endpoint in NOTICE_FILE_ENDPOINTS:
        limit_mb = current_app.config["NOTICE_UPLOAD_MAX_BYTES"] // (1024 * 1024)
        return _error(413, _("What was sent is too large: a notice's text is at most %(chars)s characters and its "
                             "files together at most %(mb)s MB. Nothing was changed.", chars=BODY_MAX, mb=limit_mb))
    if request.endpoint == "console.verifications.record":
        from ..domain.audit_exceptions import VERIFICATION_TEXT_MAX

        return _error(413, _("What was sent is too large: a verification's text is at most %(chars)s characters. "
                             "Nothing was saved.", chars=VERIFICATION_TEXT_MAX))
    return _error(413, _("What was sent is too large. Nothing was changed."))


@bp.errorhandler(429)
def throttled(error):
    from ..throttling import throttled_message

    return _error(429, throttled_message(("STAFF_CODE_LIMIT",)))


def register_console(app: Flask) -> None:
    app.register_blueprint(bp)
