"""The body's notices (R14) in the console: every staff member reads the list, a notice with
its attachments and who of the body's auditors has read it; an audit manager or an
administrator writes one (plain text or the Markdown subset, with files), previews it,
keeps it as a draft, publishes it now or at a time, withdraws it and attaches more files.
The work and its audit log entries are services.notices'; another body's notice or
attachment is a 404 (guard.own_row)."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FileField, RadioField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from ...blueprints.notices.routes import send_attachment
from ...domain import clock, notice_body
from ...extensions import client_address
from ...models import Notice
from ...services import notices as service
from ...web import render_page_or_partial
from ..auth.forms import ButtonForm
from ..guard import own_row, staff_required
from ..words import NOTICE_STATE_WORDS, notice_refusal
from . import bp


class NoticeTextForm(FlaskForm):
    """A notice's title and text, as written and as corrected."""

    title = StringField(_l("Title"), render_kw={"maxlength": service.TITLE_MAX, "autocomplete": "off"})
    body_format = RadioField(_l("Format"), choices=[SelectChoice("text", _l("Plain text (line breaks kept)")),
                                                    SelectChoice("markdown", _l("Markdown (headings, emphasis, lists, links)"))],
                             default="text", validate_choice=False)
    body = TextAreaField(_l("Text"), render_kw={"rows": 12, "maxlength": notice_body.BODY_MAX})


class NoticeForm(NoticeTextForm):
    """A new notice: its text, its files and when it is published."""

    files = FileField(_l("Attachments"), render_kw={"multiple": True})
    mode = RadioField(_l("Publish"), choices=[SelectChoice("now", _l("Now")), SelectChoice("at", _l("At a time")),
                                               SelectChoice("draft", _l("Not yet: keep as a draft"))],
                      default="now", validate_choice=False)
    publish_at = StringField(_l("Publishing time (Beijing time)"), render_kw={"type": "datetime-local"})


WRITTEN = {
    "draft": _l("The notice has been kept as a draft: auditors do not see it yet."),
    "now": _l("The notice has been published."),
    "at": _l("The notice has been scheduled; auditors see it from its publishing time on."),
}


def _uploaded() -> list[tuple[str, bytes]]:
    """The chosen files as (name, bytes); each read to one byte past the size limit at most,
    so an oversized file is refused by the service without being read whole."""
    limit = service.max_attachment_bytes()
    return [(item.filename or "", item.stream.read(limit + 1))
            for item in request.files.getlist("files") if item and item.filename]


@bp.get("/notices")
@staff_required("readonly")
def notice_list():
    page = service.console_page(g.staff.agency_id, request.args.get("page", 1, type=int), clock.now())
    return render_page_or_partial("console/notices/list.html", "console/notices/_list.html",
                                  notice_page=page, state_words=NOTICE_STATE_WORDS)


@bp.route("/notices/new", methods=["GET", "POST"])
@staff_required("manager")
def write():
    form = NoticeForm()

    def save():
        notice = service.write_notice(
            g.staff, title=form.title.data or "", body=form.body.data or "",
            body_format=form.body_format.data, files=_uploaded(), mode=form.mode.data,
            local_time=form.publish_at.data or "", now=clock.now(), address=client_address())
        flash(str(WRITTEN[form.mode.data]), "success")
        return redirect(url_for("console.notices.detail", notice_id=notice.id), code=303)
    return _submitted(form, None, save)


@bp.route("/notices/<int:notice_id>/edit", methods=["GET", "POST"])
@staff_required("manager")
def edit(notice_id: int):
    """Correct a draft's or a scheduled notice's title and text."""
    notice = own_row(Notice, notice_id)
    form = NoticeTextForm(obj=notice) if request.method == "GET" else NoticeTextForm()

    def save():
        if service.edit_text(g.staff, notice, title=form.title.data or "", body=form.body.data or "",
                             body_format=form.body_format.data, now=clock.now(), address=client_address()):
            flash(_("The notice's text has been saved."), "success")
        return redirect(url_for("console.notices.detail", notice_id=notice.id), code=303)
    return _submitted(form, notice, save)


def _submitted(form: NoticeTextForm, notice, save):
    """The form's answer: `save()` (its redirect) for a valid form; the form again with the
    text rendered for its Preview button (without htmx; nothing is saved), or with the
    refusal (422), its text no longer than the field takes."""
    previewing = False
    if form.validate_on_submit():
        if request.form.get("preview"):
            previewing = True
        else:
            try:
                return save()
            except service.NoticeRefused as refused:
                form.form_errors.append(notice_refusal(refused))
    elif request.method == "POST":
        form.form_errors.append(_("The form had expired. Nothing was changed; please try again."))
    body = form.body.data or ""
    form.body.data = body[:notice_body.BODY_MAX]
    status = 422 if request.method == "POST" and not previewing else 200
    return render_template("console/notices/write.html", form=form, notice=notice,
                           **_preview_context(body if previewing else "", form.body_format.data)), status


def _preview_context(body: str, body_format: str) -> dict:
    return {"body": body if len(body) <= notice_body.BODY_MAX else "", "too_long": len(body) > notice_body.BODY_MAX,
            "body_format": body_format if body_format in notice_body.FORMATS else notice_body.TEXT,
            "body_max": notice_body.BODY_MAX, "files_max": service.FILES_PER_REQUEST,
            "file_mb": f"{service.max_attachment_bytes() / (1024 * 1024):g}"}


@bp.post("/notices/preview")
@staff_required("manager")
def preview():
    """The text as auditors will see it (the same rendering), for the form's preview."""
    return render_template("console/notices/_preview.html",
                           **_preview_context(request.form.get("body") or "", request.form.get("body_format") or ""))


@bp.get("/notices/<int:notice_id>")
@staff_required("readonly")
def detail(notice_id: int):
    notice = own_row(Notice, notice_id)
    receipts = service.receipt_page(notice, request.args.get("which", "all"), request.args.get("page", 1, type=int))
    context = {"notice": notice, "state": service.state(notice, clock.now()), "state_words": NOTICE_STATE_WORDS,
               "receipts": receipts, "readers": service.readers(notice),
               "auditors": service.auditor_count(notice.agency_id), "form": ButtonForm()}
    return render_page_or_partial("console/notices/detail.html", "console/notices/_receipts.html", **context)


def _act(notice: Notice, change, done: str):
    form = ButtonForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Nothing was changed; please try again."), "error")
    else:
        try:
            change()
        except service.NoticeRefused as refused:
            flash(notice_refusal(refused), "error")
        else:
            flash(done, "success")
    return redirect(url_for("console.notices.detail", notice_id=notice.id), code=303)


@bp.post("/notices/<int:notice_id>/publish")
@staff_required("manager")
def publish(notice_id: int):
    notice = own_row(Notice, notice_id)
    return _act(notice, lambda: service.publish_now(g.staff, notice, now=clock.now(), address=client_address()),
                _("The notice has been published."))


@bp.post("/notices/<int:notice_id>/schedule")
@staff_required("manager")
def schedule(notice_id: int):
    notice = own_row(Notice, notice_id)
    when = request.form.get("publish_at") or ""
    return _act(notice, lambda: service.schedule(g.staff, notice, when, now=clock.now(), address=client_address()),
                _("The notice has been scheduled; auditors see it from its publishing time on."))


@bp.route("/notices/<int:notice_id>/withdraw", methods=["GET", "POST"])
@staff_required("manager")
def withdraw(notice_id: int):
    """A page that says what withdrawing does, and its button."""
    notice = own_row(Notice, notice_id)
    if request.method == "GET":
        return render_template("console/notices/withdraw.html", notice=notice, state=service.state(notice, clock.now()),
                               readers=service.readers(notice), form=ButtonForm())
    return _act(notice, lambda: service.withdraw(g.staff, notice, now=clock.now(), address=client_address()),
                _("The notice has been withdrawn: auditors no longer see it. Who had read it stays on record."))


@bp.post("/notices/<int:notice_id>/attachments")
@staff_required("manager")
def attach(notice_id: int):
    notice = own_row(Notice, notice_id)
    return _act(notice, lambda: service.add_attachments(g.staff, notice, _uploaded(), now=clock.now(),
                                                        address=client_address()),
                _("The attachments have been added."))


@bp.get("/notices/<int:notice_id>/attachments/<int:attachment_id>")
@staff_required("readonly")
def attachment(notice_id: int, attachment_id: int):
    item = service.body_attachment(g.staff.agency_id, notice_id, attachment_id)
    if item is None:
        abort(404)
    return send_attachment(item)
