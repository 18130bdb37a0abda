"""Login and change-password forms (R1). Field names are part of the contract:
`phone` and `password` are what browsers, password managers and other tests fill in."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, TelField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from ...domain.passwords import MAX_LENGTH, PasswordProblem
from ...services.accounts import is_mobile_number, normalise_phone

PASSWORD_PROBLEM_MESSAGES = {
    PasswordProblem.TOO_SHORT: _l("Use at least 8 characters."),
    PasswordProblem.TOO_LONG: _l("Use at most %(max)s characters.", max=MAX_LENGTH),
    PasswordProblem.UNSUPPORTED_CHARACTER: _l(
        "Use only English letters, digits and half-width symbols (no spaces or Chinese characters)."
    ),
    PasswordProblem.NO_DIGIT: _l("Include at least one digit (0-9)."),
    PasswordProblem.NO_LETTER: _l("Include at least one letter (a-z or A-Z)."),
    PasswordProblem.NO_SYMBOL: _l("Include at least one symbol, such as # @ ! $."),
    PasswordProblem.SAME_AS_OLD: _l("The new password must differ from the current one."),
    PasswordProblem.CONTAINS_PHONE: _l("The password must not contain your mobile number."),
}


class LoginForm(FlaskForm):
    phone = TelField(
        _l("Mobile number"),
        filters=[normalise_phone],
        validators=[DataRequired(_l("Enter your mobile number."))],
        render_kw={"inputmode": "numeric", "autocomplete": "tel",
                   "maxlength": 20, "placeholder": _l("11-digit mobile number")},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )

    def validate_phone(self, field):
        if not is_mobile_number(field.data or ""):
            raise ValidationError(_l("Enter an 11-digit mobile number starting with 1."))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Enter a new password."))],
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        _l("Repeat the new password"),
        validators=[
            DataRequired(_l("Enter the new password again.")),
            EqualTo("new_password", _l("The two new passwords are not the same.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
