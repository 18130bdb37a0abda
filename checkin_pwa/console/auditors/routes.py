"""The body's auditors (R18): a list every staff member reads (search, state filter,
server-side pages), and the changes an audit manager or an administrator makes to an
account: add one by hand and correct it (the plan import's checks), disable and enable,
reset to an initial password (sent by SMS), lift a login restriction. Each change is in the audit log (services.auditors); another body's auditor
is a 404 (guard.own_row)."""
import datetime as dt
import unicodedata

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TelField

from ...blueprints.auth.forms import ID_TYPES
from ...domain import clock, plan_import
from ...domain.auditors import AuditorState
from ...extensions import client_address
from ...models import Auditor
from ...services import auditors as service, phone_changes
from ...words import plan_import as import_words
from ...services.accounts import normalise_phone
from ...web import render_page_or_partial
from ..auth.forms import ButtonForm
from ..guard import own_row, staff_required
from ..words import AUDITOR_STATE_WORDS, refusal_text
from . import bp


def _this_month() -> tuple[dt.datetime, dt.datetime]:
    """The body's current calendar month (its configured zone) as UTC bounds."""
    first = clock.local_date(clock.now()).replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    return (clock.at_local(dt.datetime.combine(first, dt.time())),
            clock.at_local(dt.datetime.combine(after, dt.time())))


def _filter() -> service.AuditorFilter:
    state = request.args.get("state") or None
    if state not in {item.value for item in AuditorState}:
        state = None
    return service.AuditorFilter(q=(request.args.get("q") or "").strip()[:100], state=state)


@bp.get("/auditors")
@staff_required("readonly")
def people():
    """The page, or only its table for htmx (search, filter and page change replace it)."""
    wanted = _filter()
    page = service.page_of(g.staff.agency_id, wanted, request.args.get("page", 1, type=int), month=_this_month())
    return render_page_or_partial("console/auditors/list.html", "console/auditors/_list.html",
                                  auditor_page=page, wanted=wanted, state_words=AUDITOR_STATE_WORDS)


@bp.get("/auditors/<int:auditor_id>")
@staff_required("readonly")
def person(auditor_id: int):
    found = own_row(Auditor, auditor_id)
    counts = service.plans_in([found.id], *_this_month())
    return render_template("console/auditors/person.html", row=service.row_for(found, counts.get(found.id, 0)),
                           state_words=AUDITOR_STATE_WORDS, form=ButtonForm(),
                           waiting_change=phone_changes.pending_for(found))


def _back(found: Auditor):
    return redirect(url_for("console.auditors.person", auditor_id=found.id), code=303)


def _checked_form() -> bool:
    form = ButtonForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Nothing was changed; please try again."), "error")
        return False
    return True


@bp.post("/auditors/<int:auditor_id>/disable")
@staff_required("manager")
def disable(auditor_id: int):
    return _set_disabled(own_row(Auditor, auditor_id), True)


@bp.post("/auditors/<int:auditor_id>/enable")
@staff_required("manager")
def enable(auditor_id: int):
    return _set_disabled(own_row(Auditor, auditor_id), False)


def _set_disabled(found: Auditor, disable: bool):
    if _checked_form():
        service.set_disabled(g.staff, found, disable, address=client_address())
        flash(_("The auditor has been disabled: they cannot log in, and their sessions have ended. "
                "Their plans and records stay.") if disable else _("The auditor has been enabled."), "success")
    return _back(found)


@bp.post("/auditors/<int:auditor_id>/reset")
@staff_required("manager")
def reset(auditor_id: int):
    found = own_row(Auditor, auditor_id)
    if _checked_form():
        try:
            service.reset_password(g.staff, found, address=client_address())
        except service.AuditorRefused as refused:
            flash(refusal_text(refused.code), "error")
        else:
            flash(_("A new initial password was sent by text message to %(phone)s. "
                    "The auditor must change it at the next login.", phone=found.phone), "success")
    return _back(found)


@bp.post("/auditors/<int:auditor_id>/lift")
@staff_required("manager")
def lift(auditor_id: int):
    found = own_row(Auditor, auditor_id)
    if _checked_form():
        if service.lift_restriction(g.staff, found, address=client_address()):
            flash(_("The login restriction has been lifted: the auditor can log in again now."), "success")
        else:
            flash(_("The account was not restricted. Nothing was changed."), "info")
    return _back(found)


# --- adding by hand, editing --------------------------------------------------------------------

class AuditorForm(FlaskForm):
    """Name, phone, ID type and number; checked by the plan import's own rules
    (domain.plan_import.auditor_issues) after full-width characters are made ASCII."""

    name = StringField(_l("Name"), filters=[lambda value: " ".join((value or "").split())],
                       render_kw={"maxlength": 100, "autocomplete": "off"})
    phone = TelField(_l("Mobile number"), filters=[normalise_phone],
                     render_kw={"inputmode": "numeric", "maxlength": 20, "autocomplete": "off"})
    id_type = SelectField(_l("ID type"), choices=ID_TYPES, default="id_card", validate_choice=False)
    id_number = StringField(_l("ID number"),
                            filters=[lambda value: unicodedata.normalize("NFKC", value or "").strip().upper()],
                            render_kw={"maxlength": 64, "autocomplete": "off", "autocapitalize": "characters"})

    def checked(self, *, with_phone: bool) -> bool:
        """The import's checks; each problem on its field, in the reader's language."""
        if not self.validate_on_submit():
            return False
        entry = {"phone": self.phone.data if with_phone else "13800000000", "name": self.name.data,
                 "id_type": self.id_type.data, "id_number": self.id_number.data}
        issues = plan_import.auditor_issues(entry)
        for issue in issues:
            field = getattr(self, str(issue.path[0]), None) if issue.path else None
            (field.errors if field is not None else self.name.errors).append(import_words.reason(issue))
        return not issues


@bp.route("/auditors/new", methods=["GET", "POST"])
@staff_required("manager")
def add():
    form = AuditorForm()
    if form.checked(with_phone=True):
        try:
            found = service.create_auditor(g.staff, phone=form.phone.data, name=form.name.data,
                                           id_type=form.id_type.data, id_number=form.id_number.data,
                                           address=client_address())
        except service.AuditorRefused as refused:
            field = form.phone if refused.code.startswith("auditor_") else form.name
            field.errors = [*field.errors, refusal_text(refused.code)]
        else:
            flash(_("The auditor has been added; the initial password was sent by text message to %(phone)s.",
                    phone=found.phone), "success")
            return _back(found)
    status = 422 if request.method == "POST" else 200
    return render_template("console/auditors/form.html", form=form, person=None), status


@bp.route("/auditors/<int:auditor_id>/edit", methods=["GET", "POST"])
@staff_required("manager")
def edit(auditor_id: int):
    found = own_row(Auditor, auditor_id)
    form = AuditorForm(obj=found) if request.method == "GET" else AuditorForm()
    if form.checked(with_phone=False):
        if service.update_auditor(g.staff, found, name=form.name.data, id_type=form.id_type.data,
                                  id_number=form.id_number.data, address=client_address()):
            flash(_("The auditor's details have been saved."), "success")
        return _back(found)
    status = 422 if request.method == "POST" else 200
    return render_template("console/auditors/form.html", form=form, person=found), status
