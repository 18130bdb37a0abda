"""Words for the account pages (R1): why a new password was refused, in the user's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...domain.passwords import MAX_LENGTH, PasswordProblem
from ...words import sentence

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


def password_problems(codes) -> list[str]:
    """Each problem of a refused password (domain.passwords codes) as a sentence."""
    return [sentence(PASSWORD_PROBLEM_MESSAGES, PasswordProblem(code)) for code in codes]
