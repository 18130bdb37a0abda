"""R1: what a new password must be (§4.1). Pure: no Flask, no database.

The check returns problem codes, not sentences: the web layer words them in the user's
language, and a form can show every unmet requirement at once.
"""
from __future__ import annotations

import string
from enum import Enum

MIN_LENGTH = 8
# Long enough for any passphrase; bounded so nobody makes the server hash megabytes.
MAX_LENGTH = 64
SYMBOLS = frozenset(string.punctuation)  # ASCII symbols: ! " # $ % & ' ( ) * + , - . / : ; < = > ? @ [ \ ] ^ _ ` { | } ~


class PasswordProblem(str, Enum):
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    NO_DIGIT = "no_digit"
    NO_LETTER = "no_letter"
    NO_SYMBOL = "no_symbol"
    # Spaces, full-width characters and Chinese: a phone keyboard or an input method can
    # type a look-alike (＃ for #) and lock the auditor out, so only printable ASCII is taken.
    UNSUPPORTED_CHARACTER = "unsupported_character"
    SAME_AS_OLD = "same_as_old"
    CONTAINS_PHONE = "contains_phone"


def password_problems(new: str, *, old: str | None = None, phone: str | None = None) -> list[PasswordProblem]:
    """Every rule `new` breaks, in the order a person would fix them; [] when it is acceptable.

    `old` is the current password as typed (refused if equal); `phone` the login number
    (refused if the password contains it: the first thing anyone would guess).
    """
    problems: list[PasswordProblem] = []
    if len(new) < MIN_LENGTH:
        problems.append(PasswordProblem.TOO_SHORT)
    if len(new) > MAX_LENGTH:
        problems.append(PasswordProblem.TOO_LONG)
    if any(not ("!" <= ch <= "~") for ch in new):
        problems.append(PasswordProblem.UNSUPPORTED_CHARACTER)
    if not any(ch in string.digits for ch in new):
        problems.append(PasswordProblem.NO_DIGIT)
    if not any(ch in string.ascii_letters for ch in new):
        problems.append(PasswordProblem.NO_LETTER)
    if not any(ch in SYMBOLS for ch in new):
        problems.append(PasswordProblem.NO_SYMBOL)
    if old is not None and new == old:
        problems.append(PasswordProblem.SAME_AS_OLD)
    if phone and phone in new:
        problems.append(PasswordProblem.CONTAINS_PHONE)
    return problems


def is_acceptable(new: str, *, old: str | None = None, phone: str | None = None) -> bool:
    return not password_problems(new, old=old, phone=phone)
