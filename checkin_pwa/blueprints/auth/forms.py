"""Account forms (R1): login, password changes, forgot password, change of login phone. Field names are part of the contract:
`phone` and `password` are what browsers, password managers and other tests fill in."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField, TelField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, ValidationError

from ...services.accounts import is_mobile_number, normalise_phone


def _code_field():
    return StringField(
        _l("Verification code"),
        filters=[lambda value: (value or "").strip()],
        validators=[DataRequired(_l("Enter the verification code."))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 6,
                   "pattern": "[0-9]*", "placeholder": _l("6 digits")},
    )


def _new_password_fields():
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Enter a new password."))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(_l("Enter the new password again.")),
            EqualTo("new_password", _l("The two new passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    return new, confirm


def _mobile_field(label):
    return TelField(
        label,
        filters=[normalise_phone],
        validators=[DataRequired(_l("Enter your mobile number."))],
        render_kw={"inputmode": "numeric", "autocomplete": "tel",
                   "maxlength": 20, "placeholder": _l("11-digit mobile number")},
    )


def _check_mobile(form, field):
    if not is_mobile_number(field.data or ""):
        raise ValidationError(_l("Enter an 11-digit mobile number starting with 1."))


class LoginForm(FlaskForm):
    phone = _mobile_field(_l("Mobile number"))
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )

    validate_phone = _check_mobile


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    new_password, confirm_password = _new_password_fields()


# --- R1 §4.1-4.3: forms with an SMS code ---------------------------------------------------

class CodedPasswordForm(ChangePasswordForm):
    """§4.1 from the personal page: current password, new password twice, SMS code."""

    code = _code_field()


class ForgotPasswordForm(FlaskForm):
    """§4.2: the login number, the code sent to it, the new password twice."""

    phone = _mobile_field(_l("Mobile number"))
    code = _code_field()
    new_password, confirm_password = _new_password_fields()

    validate_phone = _check_mobile


ID_TYPES = [SelectChoice("id_card", _l("Resident ID card")), SelectChoice("other", _l("Other"))]


class IdentityForm(FlaskForm):
    """§4.3 step 1: who the auditor is, as the body registered them."""

    name = StringField(
        _l("Name"),
        filters=[lambda value: (value or "").strip()],
        validators=[DataRequired(_l("Enter your name.")), Length(max=100)],
        render_kw={"autocomplete": "name", "maxlength": 100},
    )
    id_type = SelectField(_l("ID type"), choices=ID_TYPES, default="id_card")
    id_number = StringField(
        _l("ID number"),
        filters=[lambda value: (value or "").strip()],
        validators=[DataRequired(_l("Enter your ID number.")), Length(max=64)],
        render_kw={"autocomplete": "off", "maxlength": 64, "autocapitalize": "characters"},
    )


class NewPhoneForm(FlaskForm):
    """§4.3 step 2: the new login number and the code sent to it."""

    new_phone = _mobile_field(_l("New mobile number"))
    code = _code_field()

    validate_new_phone = _check_mobile


class AvatarForm(FlaskForm):
    """Only the CSRF token: the file is read from request.files (services.accounts checks it)."""
