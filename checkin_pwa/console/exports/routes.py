"""Exports of the body's plans, check-in events, exceptions (R10), explanations and
verifications (R20) as CSV or XLSX, for a date range and the plan list's filters. Every
staff member may export (reads); each export is in the audit log with its filters and row
count. Another body's rows are never read (R16: the body is the staff member's own)."""
import os

from flask import abort, current_app, g, redirect, render_template, request, stream_with_context, url_for
from flask_babel import force_locale, get_locale

from ...domain import clock
from ...blueprints.plans.words import MODES
from ...blueprints.tasks.words import filter_error_text
from ...domain.filters import parse_plan_filters
from ...extensions import client_address
from ...models import ExportJob
from ...services import exports, jobs, listing
from ...web import PRIVATE_FILE, render_page_or_partial
from ..guard import own_row, staff_required
from ..words import CHECKED_WORDS, PHASE_WORDS
from . import bp
from .columns import TITLES, header, rows
from .words import refusal_text

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
    """CSV streamed as it is read; XLSX written by a job whose page shows its progress and
    then offers the file."""
    dataset, fmt = str(request.args.get("dataset") or ""), str(request.args.get("format") or "")
    parsed = parse_plan_filters(request.args, listing.body_project_tree(g.staff.agency_id))
    if not parsed.usable:
        return _refused(" ".join(filter_error_text(error) for error in parsed.errors))
    try:
        exports.check(dataset, fmt, parsed.filters)
    except exports.ExportRefused as refused:
        return _refused(refusal_text(refused.code, refused.params))
    staff, address, wanted = g.staff, client_address(), parsed.filters.query_args()
    records = exports.records(dataset, staff.agency_id, parsed.filters, clock.now())
    name = f"{dataset}-{parsed.filters.date_from}-{parsed.filters.date_to}.{fmt}"
    if fmt == "csv":
        def done(count: int, complete: bool) -> None:
            exports.record(staff, dataset, fmt, wanted, count, address=address, complete=complete)

        text = exports.csv_text(header(dataset), rows(dataset, records), done)
        response = current_app.response_class(stream_with_context(text), mimetype=MIMETYPES["csv"])
        response.headers["Content-Disposition"] = f"attachment; filename={name}"
        return response
    locale, now, folder = str(get_locale()), clock.now(), _folder()

    def work(job_id: int) -> None:
        with force_locale(locale):
            exports.write(job_id, folder, _parse, str(TITLES[dataset]), header(dataset), rows, now)

    job = exports.begin(staff, dataset, fmt, wanted, locale, address=address)
    jobs.start_job(ExportJob, job.id, work, name=f"export-{job.id}")
    return redirect(url_for(".job", job_id=job.id), code=303)


def _folder() -> str:
    """Where this host builds an XLSX file before it goes to the file store."""
    return current_app.config["EXPORT_DIR"] or os.path.join(current_app.instance_path, "exports")


def _parse(args: dict, agency_id: int):
    return parse_plan_filters(args, listing.body_project_tree(agency_id)).filters


def _mine(job_id: int) -> ExportJob:
    """The staff member's own export; any other id (another body's, a colleague's) is a 404."""
    found = own_row(ExportJob, job_id)
    if found.staff_id != g.staff.id:
        abort(404)
    jobs.give_up_if_stalled(found, exports.EXPORTING)
    return found


def _job_view(found: ExportJob) -> dict:
    return {"job": found, "running": found.state in exports.EXPORTING, "titles": TITLES,
            "file": exports.file_of(found)}


@bp.get("/exports/jobs/<int:job_id>")
@staff_required("readonly")
def job(job_id: int):
    """An XLSX export's page: its progress (polled), then its file's link."""
    return render_page_or_partial("console/exports/job.html", "console/exports/_job.html", **_job_view(_mine(job_id)))


@bp.get("/exports/jobs/<int:job_id>/state")
@staff_required("readonly")
def job_state(job_id: int):
    return render_template("console/exports/_job.html", **_job_view(_mine(job_id)))


@bp.get("/exports/jobs/<int:job_id>/file")
@staff_required("readonly")
def job_file(job_id: int):
    """The finished file from the file store (whichever host wrote it), as a download."""
    found = _mine(job_id)
    key = exports.file_of(found)
    if key is None:
        abort(404)
    filters = found.filters or {}
    name = f"{found.dataset}-{filters.get('from')}-{filters.get('to')}.xlsx"
    try:
        # A key names one file written once: its random part is a stable ETag.
        response = current_app.extensions["photo_store"].response(
            key, mimetype=MIMETYPES["xlsx"], etag=key.rsplit("/", 1)[-1], disposition=f"attachment; filename={name}")
    except FileNotFoundError:
        abort(404)
    response.headers["Cache-Control"] = PRIVATE_FILE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
