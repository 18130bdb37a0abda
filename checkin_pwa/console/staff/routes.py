"""An administrator manages their body's staff (R18): add, change role, disable and enable,
reset (a new initial password and the second factor set up again). Each is in the audit
log (services.staff); another body's staff member is a 404 (guard.own_row)."""
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ...blueprints.auth.forms import _check_mobile, _mobile_field
from ...extensions import client_address
from ...models import Staff
from ...services import staff as staff_service
from ..auth.forms import ButtonForm
from ..guard import own_row, staff_required
from ..words import ROLE_HINTS, ROLE_WORDS, refusal_text
from . import bp


def _role_field():
    return SelectField(_l("Role"), choices=[SelectChoice(code, words) for code, words in ROLE_WORDS.items()],
                       default="readonly")


class NewStaffForm(FlaskForm):
    name = StringField(_l("Name"), filters=[lambda value: " ".join((value or "").split())],
                       validators=[DataRequired(_l("Enter the name.")), Length(max=100)],
                       render_kw={"maxlength": 100, "autocomplete": "off"})
    phone = _mobile_field(_l("Mobile number"))
    role = _role_field()

    validate_phone = _check_mobile


class RoleForm(FlaskForm):
    role = _role_field()


@bp.get("/staff")
@staff_required("admin")
def people():
    return render_template("console/staff/list.html", people=staff_service.body_staff(g.staff.agency_id))


@bp.route("/staff/new", methods=["GET", "POST"])
@staff_required("admin")
def add():
    form = NewStaffForm()
    if form.validate_on_submit():
        try:
            person, password = staff_service.create_staff(
                g.staff.agency, form.phone.data, form.name.data, form.role.data,
                by=staff_service.audit.actor_for(g.staff, client_address()))
        except staff_service.StaffRefused as refused:
            form.phone.errors.append(refusal_text(refused.code))
        else:
            # The initial password is shown once, in this answer; only its hash is kept.
            return render_template("console/staff/password_once.html", person=person, password=password)
    status = 422 if request.method == "POST" else 200
    return render_template("console/staff/new.html", form=form, role_hints=ROLE_HINTS), status


@bp.get("/staff/<int:staff_id>")
@staff_required("admin")
def person(staff_id: int):
    found = own_row(Staff, staff_id)
    return render_template("console/staff/person.html", person=found, role_form=RoleForm(role=found.role),
                           form=ButtonForm(), codes_left=staff_service.recovery_codes_left(found))


def _refused(found: Staff, refused: staff_service.StaffRefused):
    flash(refusal_text(refused.code), "error")
    return redirect(url_for("console.staff.person", staff_id=found.id), code=303)


@bp.post("/staff/<int:staff_id>/role")
@staff_required("admin")
def change_role(staff_id: int):
    found = own_row(Staff, staff_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Unknown role."), "error")
        return redirect(url_for("console.staff.person", staff_id=found.id), code=303)
    try:
        staff_service.change_role(g.staff, found, form.role.data, address=client_address())
    except staff_service.StaffRefused as refused:
        return _refused(found, refused)
    flash(_("The role has been changed."), "success")
    return redirect(url_for("console.staff.person", staff_id=found.id), code=303)


@bp.post("/staff/<int:staff_id>/disable")
@staff_required("admin")
def disable(staff_id: int):
    return _set_disabled(own_row(Staff, staff_id), True)


@bp.post("/staff/<int:staff_id>/enable")
@staff_required("admin")
def enable(staff_id: int):
    return _set_disabled(own_row(Staff, staff_id), False)


def _set_disabled(found: Staff, disable: bool):
    try:
        staff_service.set_disabled(g.staff, found, disable, address=client_address())
    except staff_service.StaffRefused as refused:
        return _refused(found, refused)
    flash(_("The account has been disabled; its sessions have ended.") if disable
          else _("The account has been enabled."), "success")
    return redirect(url_for("console.staff.person", staff_id=found.id), code=303)


@bp.post("/staff/<int:staff_id>/reset")
@staff_required("admin")
def reset(staff_id: int):
    found = own_row(Staff, staff_id)
    ButtonForm()
    try:
        password = staff_service.reset(g.staff, found, address=client_address())
    except staff_service.StaffRefused as refused:
        return _refused(found, refused)
    return render_template("console/staff/password_once.html", person=found, password=password, reset=True)
