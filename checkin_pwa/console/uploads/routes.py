"""Uploading a plan document on the console (the JSON contract or an Excel workbook): every
upload is first a dry run, shown with what would be created, updated and refused and each
problem at its place; one click then imports exactly what was checked, in one transaction.
Both steps are jobs (services.plan_uploads) the page polls with htmx. Audit managers and
administrators only; an upload is its uploader's (another's id is a 404, R16)."""
from __future__ import annotations

import io
from dataclasses import dataclass

from flask import abort, current_app, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import undefer

from ...domain import plan_workbook
from ...domain.filters import page_within
from ...domain.plan_import import Issue, NotADocument
from ...extensions import client_address, db
from ...models import PlanUpload
from ...services import plan_uploads
from ...words import plan_import as import_words
from ...web import render_page_or_partial
from ..auth.forms import ButtonForm
from ..guard import own_row, staff_required
from . import bp
from .words import PHASE_WORDS, STATE_WORDS, field_names, upload_error

PER_PAGE = 50
RECENT = 10


@bp.route("/plans/upload", methods=["GET", "POST"])
@staff_required("manager")
def upload():
    """The form; a file posted to it is kept and its dry run started."""
    error = None
    if request.method == "POST" and ButtonForm().validate_on_submit():
        file = request.files.get("document")
        limit = current_app.config["PLAN_UPLOAD_MAX_BYTES"]
        data = file.stream.read(limit + 1) if file is not None else b""
        try:
            kept = plan_uploads.receive(g.staff, file.filename if file is not None else "", data,
                                        address=client_address())
        except plan_uploads.UploadRefused as refused:
            error = upload_error(refused.code, refused.params)
        else:
            plan_uploads.start(kept.id, "check")
            return redirect(url_for(".show", upload_id=kept.id), code=303)
    elif request.method == "POST":
        error = _("The form had expired. Nothing was changed; please try again.")
    recent = db.session.scalars(db.select(PlanUpload).where(PlanUpload.staff_id == g.staff.id)
                                .order_by(PlanUpload.id.desc()).limit(RECENT)).all()
    status = 422 if error else 200
    return render_template("console/uploads/upload.html", error=error, recent=recent, form=ButtonForm(),
                           state_words=STATE_WORDS), status


@bp.get("/plans/template.xlsx")
@staff_required("manager")
def template():
    """The Excel template (docs/plan-workbook.md), the body's code and name filled in."""
    agency = g.staff.agency
    data = plan_workbook.template_workbook(agency={"code": agency.code, "name": agency.name})
    return send_file(io.BytesIO(data), mimetype=plan_workbook.MIMETYPE, as_attachment=True,
                     download_name=_("plan-template.xlsx"), max_age=0)


def _mine(upload_id: int, *, with_result: bool = False) -> PlanUpload:
    """The staff member's own upload; any other id (another body's, a colleague's) is a 404."""
    found = own_row(PlanUpload, upload_id)
    if found.staff_id != g.staff.id:
        abort(404)
    plan_uploads.give_up_if_stalled(found)
    if with_result and found.state not in plan_uploads.RUNNING:
        found = db.session.scalars(db.select(PlanUpload).options(undefer(PlanUpload.result))
                                   .where(PlanUpload.id == upload_id)).one()
    return found


@dataclass(frozen=True)
class Pager:
    page: int
    pages: int
    total: int


def _view(found: PlanUpload) -> dict:
    """What the state fragment shows: progress while a job runs; when done, one page of
    the plans (accepted) or of the problems (refused)."""
    result = (found.result or {}) if found.state not in plan_uploads.RUNNING else {}
    rows = result.get("plans") if result.get("accepted") else result.get("issues")
    rows = rows or []
    at = page_within(request.args.get("page", 1, type=int), len(rows), PER_PAGE)
    shown = rows[at.offset: at.offset + PER_PAGE]
    problems = []
    if not result.get("accepted"):
        problems = [_problem(item, found.kind) for item in shown]
    document_error = result.get("document_error")
    return {
        "upload": found, "result": result, "running": found.state in plan_uploads.RUNNING,
        "phase_words": PHASE_WORDS, "field_names": field_names,
        "plans": shown if result.get("accepted") else [], "problems": problems,
        "pager": Pager(at.number, at.pages, len(rows)), "committable": plan_uploads.committable(found),
        "expired": plan_uploads.expired(found),
        "document_error": _document_error(document_error) if document_error else None,
        "job_error": upload_error(found.outcome["error"]) if (found.outcome or {}).get("error") else None,
        "form": ButtonForm(),
    }


def _problem(item: dict, kind: str) -> dict:
    """A stored problem in the reader's language, with its place: sheet, row and column
    of a workbook, or the JSON path."""
    params = dict(item.get("params") or {})
    if item.get("first_place"):
        params["first"] = import_words.describe_stored_place(item["first_place"])
    issue = Issue(tuple(), item["code"], params)
    place = item.get("place")
    if place:
        where = import_words.describe_stored_place(place)
    else:
        where = item["path"] or _("the whole document")
    return {"where": where, "path": item["path"], "reason": import_words.reason(issue)}


def _document_error(error: dict) -> str:
    code, params = error.get("code"), error.get("params") or {}
    if code in ("wrong_agency",):
        return upload_error(code, params)
    return import_words.render_not_a_document(NotADocument(code, **params))


@bp.get("/plans/uploads/<int:upload_id>")
@staff_required("manager")
def show(upload_id: int):
    found = _mine(upload_id, with_result=True)
    return render_page_or_partial("console/uploads/show.html", "console/uploads/_upload.html", **_view(found))


@bp.get("/plans/uploads/<int:upload_id>/state")
@staff_required("manager")
def state(upload_id: int):
    """The fragment the page polls every second while a job runs (it stops when done)."""
    found = _mine(upload_id, with_result=True)
    return render_template("console/uploads/_upload.html", **_view(found))


@bp.post("/plans/uploads/<int:upload_id>/commit")
@staff_required("manager")
def commit(upload_id: int):
    found = _mine(upload_id, with_result=True)
    if not ButtonForm().validate_on_submit():
        flash(_("The form had expired. Nothing was changed; please try again."), "error")
    elif plan_uploads.claim_commit(found):
        plan_uploads.start(found.id, "commit")
    elif found.state not in plan_uploads.RUNNING:
        flash(_("This upload cannot be imported: it was refused, has expired or was imported already. "
                "Nothing was changed."), "error")
    return redirect(url_for(".show", upload_id=found.id), code=303)
