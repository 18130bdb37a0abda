"""Changes of an auditor's login number waiting for the body's approval (R18): every staff
member reads the list; an audit manager or an administrator approves (the new number is
checked again) or refuses with an optional reason. The auditor is told by SMS and at the
next login; each decision is in the audit log (services.phone_changes); another body's
request is a 404 (guard.own_row)."""
from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length

from ...extensions import client_address
from ...models import PhoneChangeRequest
from ...services import phone_changes as service
from ...web import render_page_or_partial
from ..auth.forms import ButtonForm
from ..guard import own_row, staff_required
from ..words import refusal_text
from . import bp


class RefuseForm(FlaskForm):
    reason = StringField(_l("Reason (optional)"), filters=[lambda value: " ".join((value or "").split())],
                         validators=[Length(max=service.REASON_MAX,
                                            message=_l("The reason is too long: at most %(max)s characters."))],
                         render_kw={"maxlength": service.REASON_MAX, "autocomplete": "off"})


@bp.get("/phone-changes")
@staff_required("readonly")
def requests():
    """The page, or only its table for htmx (page change replaces it)."""
    page = service.pending_page(g.staff.agency_id, request.args.get("page", 1, type=int))
    return render_page_or_partial("console/phone_changes/list.html", "console/phone_changes/_requests.html",
                                  request_page=page, form=RefuseForm(formdata=None), button=ButtonForm())


def _back():
    return redirect(url_for("console.phone_changes.requests"), code=303)


def _decided(decision, done: str):
    """Run `decision` (True when the SMS to the auditor was accepted); say what happened."""
    try:
        told = decision()
    except service.PhoneChangeRefused as refused:
        flash(refusal_text(refused.code), "error")
    else:
        flash(done, "success")
        if not told:
            flash(_("The text message to the auditor could not be sent; they will see the decision at their "
                    "next login."), "info")
    return _back()


@bp.post("/phone-changes/<int:request_id>/approve")
@staff_required("manager")
def approve(request_id: int):
    row = own_row(PhoneChangeRequest, request_id)
    if not ButtonForm().validate_on_submit():
        flash(_("The form had expired. Nothing was changed; please try again."), "error")
        return _back()
    return _decided(lambda: service.approve(g.staff, row, address=client_address()),
                    _("Approved: %(name)s now logs in with %(phone)s.", name=row.auditor.name, phone=row.new_phone))


@bp.post("/phone-changes/<int:request_id>/refuse")
@staff_required("manager")
def refuse(request_id: int):
    row = own_row(PhoneChangeRequest, request_id)
    form = RefuseForm()
    if not form.validate_on_submit():
        for problem in form.reason.errors or [_("The form had expired. Nothing was changed; please try again.")]:
            flash(str(problem), "error")
        return _back()
    return _decided(lambda: service.refuse(g.staff, row, form.reason.data, address=client_address()),
                    _("Refused: %(name)s keeps logging in with %(phone)s.", name=row.auditor.name, phone=row.old_phone))
