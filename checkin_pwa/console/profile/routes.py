"""The body's profile (R18): its name and code (from its plan documents) and the contact
person the regulator asks for, which an administrator fills in."""
import re
import unicodedata

from flask import flash, g, redirect, render_template, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField, TelField
from wtforms.validators import DataRequired, Length, Regexp

from ...extensions import client_address
from ...services import phone_changes, staff as staff_service
from ..guard import staff_required
from . import bp


def _clean(value):
    return " ".join(unicodedata.normalize("NFKC", value or "").split())


class ContactForm(FlaskForm):
    contact_name = StringField(_l("Contact person"), filters=[_clean],
                               validators=[DataRequired(_l("Enter the contact person's name.")), Length(max=100)],
                               render_kw={"maxlength": 100, "autocomplete": "name"})
    contact_phone = TelField(_l("Phone"), filters=[_clean],
                             validators=[DataRequired(_l("Enter a phone number.")), Length(max=50),
                                         Regexp(r"^\+?[0-9][0-9 ()\-]{4,48}$",
                                                message=_l("Enter a phone number: digits, with - or spaces."))],
                             render_kw={"maxlength": 50, "autocomplete": "tel", "inputmode": "tel"})
    contact_email = EmailField(_l("Email"), filters=[_clean],
                               validators=[DataRequired(_l("Enter an email address.")), Length(max=200),
                                           Regexp(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", flags=re.ASCII,
                                                  message=_l("Enter an email address such as name@example.com."))],
                               render_kw={"maxlength": 200, "autocomplete": "email"})


class PhoneChangeSettingForm(FlaskForm):
    phone_change_approval = BooleanField(_l("Hold every change of an auditor's login number until a manager or an "
                                            "administrator approves it"))


def _page(agency, form, setting_form=None, status=200):
    setting_form = setting_form or PhoneChangeSettingForm(
        formdata=None, phone_change_approval=bool(agency.phone_change_approval))
    return render_template("console/profile/page.html", agency=agency, form=form, setting_form=setting_form), status


@bp.get("/profile")
@staff_required()
def profile():
    agency = g.staff.agency
    return _page(agency, ContactForm(obj=agency))


@bp.post("/profile/phone-changes")
@staff_required("admin")
def update_phone_change_setting():
    """The body's setting: changes of login number wait for approval, or apply at once."""
    agency = g.staff.agency
    form = PhoneChangeSettingForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Nothing was changed; please try again."), "error")
    elif phone_changes.set_approval(g.staff, agency, bool(form.phone_change_approval.data), address=client_address()):
        flash(_("Changes of login number now wait for approval.") if agency.phone_change_approval
              else _("Changes of login number now apply at once, without approval."), "success")
    return redirect(url_for("console.profile.profile"), code=303)


@bp.post("/profile")
@staff_required("admin")
def update_profile():
    agency = g.staff.agency
    form = ContactForm()
    if form.validate_on_submit():
        staff_service.update_contact(g.staff, agency, name=form.contact_name.data, phone=form.contact_phone.data,
                                     email=form.contact_email.data, address=client_address())
        flash(_("The body's profile has been saved."), "success")
        return redirect(url_for("console.profile.profile"), code=303)
    return _page(agency, form, status=422)
