"""The audit log (R18, R21): an administrator reads their body's entries, filtered and
paginated in the database, and exports them as CSV. Read only: no route here (or
anywhere) updates or deletes an entry."""
import datetime as dt

from flask import current_app, g, render_template, request, stream_with_context
from flask_babel import gettext as _

from ...domain import clock
from ...domain.row_ids import row_id
from ...template_helpers import when  # times on the app's clock, as the notices show them
from ...models import AuditLogEntry
from ...services import audit, staff as staff_service
from ...web import render_page_or_partial
from ..guard import own_row, staff_required
from ..words import action_name
from . import bp


def _date(name: str, problems: list[str]):
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw[:10])
    except ValueError:
        problems.append(_("A date is written as YYYY-MM-DD: %(value)s was ignored.", value=raw[:20]))
        return None


def _filter() -> tuple[audit.LogFilter, list[str]]:
    problems: list[str] = []
    action = request.args.get("action") or None
    if action not in audit.ACTIONS:
        action = None
    return audit.LogFilter(action=action, staff_id=row_id(request.args.get("staff")),
                           since=_date("since", problems), until=_date("until", problems)), problems


def _offset_minutes() -> int:
    return int(clock.local(clock.now()).utcoffset().total_seconds() // 60)


@bp.get("/log")
@staff_required("admin")
def entries():
    """The page, or only its table for htmx (filter and page change replace it)."""
    wanted, problems = _filter()
    page = audit.page_of(g.staff.agency_id, wanted, request.args.get("page", 1, type=int),
                         offset_minutes=_offset_minutes())
    return render_page_or_partial("console/log/page.html", "console/log/_entries.html", log_page=page, wanted=wanted,
                                  problems=problems, actions=audit.ACTIONS,
                                  people=staff_service.body_staff(g.staff.agency_id))


@bp.get("/log/<int:entry_id>")
@staff_required("admin")
def entry(entry_id: int):
    return render_template("console/log/entry.html", entry=own_row(AuditLogEntry, entry_id))


@bp.get("/log.csv")
@staff_required("admin")
def export():
    wanted, _problems = _filter()
    header = [_("No."), _("Time"), _("Who"), _("IP address"), _("Action"), _("Object"), _("Before"), _("After")]
    lines = audit.csv_lines(g.staff.agency_id, wanted, header, action_name,
                            lambda at: when(at, "default", "second"), offset_minutes=_offset_minutes())
    # Streamed inside the request's context (the rows are read as the lines go out).
    response = current_app.response_class(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=audit-log.csv"
    return response
