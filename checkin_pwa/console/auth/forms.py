"""Console login forms: the auditors' fields (phone, password, R1's change) reused, plus
the second factor's code."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired

from ...blueprints.auth.forms import ChangePasswordForm, LoginForm  # noqa: F401  (same fields, same rules)


class CodeForm(FlaskForm):
    """A 6-digit code from the authenticator app, or a recovery code."""

    code = StringField(
        _l("Code"),
        filters=[lambda value: (value or "").strip()[:64]],
        validators=[DataRequired(_l("Enter the code."))],
        render_kw={"autocomplete": "one-time-code", "maxlength": 64, "autocapitalize": "off",
                   "spellcheck": "false", "placeholder": _l("6 digits, or a recovery code")},
    )


class SetUpForm(FlaskForm):
    code = StringField(
        _l("Code shown by the app"),
        filters=[lambda value: (value or "").strip()[:64]],
        validators=[DataRequired(_l("Enter the code."))],
        render_kw={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 12,
                   "pattern": "[0-9 ]*", "placeholder": _l("6 digits")},
    )


class ButtonForm(FlaskForm):
    """Only the CSRF token: for buttons that POST (logout, new recovery codes)."""
