"""Exports of the body's plans, check-in events, exceptions (R10), explanations and
verifications (R20) as CSV or XLSX, for a date range and the plan list's filters. Every
staff member may export (reads); each export is in the audit log with its filters and row
count. Another body's rows are never read (R16: the body is the staff member's own)."""
from flask import current_app, g, render_template, request, send_file, stream_with_context
from flask_babel import lazy_gettext as _l

from ...blueprints.plans.words import MODES
from ...blueprints.tasks.words import filter_error_text
from ...domain.filters import parse_plan_filters
from ...extensions import client_address
from ...services import exports, listing
from ...services.checkin import server_now
from ..guard import staff_required
from ..words import CHECKED_WORDS, PHASE_WORDS
from . import bp
from .columns import TITLES, header, rows

REFUSALS = {
    "dataset": _l("Choose what to export from the list."),
    "format": _l("Choose CSV or XLSX."),
    "range_needed": _l("Give the date range to export: a first and a last day (at most %(days)s days)."),
    "range_too_long": _l("The date range is %(days)s days; an export covers at most %(limit)s days. "
                         "Export a longer period a year at a time."),
}
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


@bp.get("/exports")
@staff_required("readonly")
def form():
    return render_template("console/exports/form.html", titles=TITLES, phase_words=PHASE_WORDS,
                           checked_words=CHECKED_WORDS, mode_words=MODES, raw=request.args, max_days=exports.MAX_DAYS)


def _refused(message: str):
    return render_template("console/error.html", status=400, message=message), 400


@bp.get("/exports/download")
@staff_required("readonly")
def download():
    """The file, streamed: CSV as it is read, XLSX once written to a temporary file."""
    dataset, fmt = str(request.args.get("dataset") or ""), str(request.args.get("format") or "")
    parsed = parse_plan_filters(request.args, listing.body_project_tree(g.staff.agency_id))
    if not parsed.usable:
        return _refused(" ".join(filter_error_text(error) for error in parsed.errors))
    try:
        exports.check(dataset, fmt, parsed.filters)
    except exports.ExportRefused as refused:
        return _refused(str(REFUSALS[refused.code]) % refused.params)
    staff, address, wanted = g.staff, client_address(), parsed.filters.query_args()
    records = exports.records(dataset, staff.agency_id, parsed.filters, server_now())
    name = f"{dataset}-{parsed.filters.date_from}-{parsed.filters.date_to}.{fmt}"
    if fmt == "csv":
        def done(count: int, complete: bool) -> None:
            exports.record(staff, dataset, fmt, wanted, count, address=address, complete=complete)

        text = exports.csv_text(header(dataset), rows(dataset, records), done)
        response = current_app.response_class(stream_with_context(text), mimetype=MIMETYPES["csv"])
        response.headers["Content-Disposition"] = f"attachment; filename={name}"
        return response
    stream, count = exports.write_xlsx(str(TITLES[dataset]), header(dataset), rows(dataset, records))
    exports.record(staff, dataset, fmt, wanted, count, address=address)
    return send_file(stream, mimetype=MIMETYPES["xlsx"], as_attachment=True, download_name=name)
