"""R1 §4.1: a new password has 8+ characters and mixes digits, letters and symbols; it is
neither the old password nor built on the phone number. Pure domain code, no app."""
import pytest

from checkin_pwa.domain.passwords import MAX_LENGTH, PasswordProblem, is_acceptable, password_problems

PHONE = "13912345678"


def test_r1_good_password_is_accepted():
    assert password_problems("Audit#2026", old="Init#2026a", phone=PHONE) == []
    assert is_acceptable("Audit#2026", old="Init#2026a", phone=PHONE)


def test_r1_exactly_eight_characters_is_enough():
    assert password_problems("ab#12345") == []


def test_r1_seven_characters_is_too_short():
    assert password_problems("ab#1234") == [PasswordProblem.TOO_SHORT]


def test_r1_password_needs_a_digit():
    assert password_problems("Audit#abc") == [PasswordProblem.NO_DIGIT]


def test_r1_password_needs_a_letter():
    assert password_problems("2026#2026") == [PasswordProblem.NO_LETTER]


def test_r1_password_needs_a_symbol():
    assert password_problems("Audit2026") == [PasswordProblem.NO_SYMBOL]


@pytest.mark.parametrize("symbol", list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"))
def test_r1_any_ascii_symbol_counts(symbol):
    assert password_problems(f"Audit2026{symbol}") == []


def test_r1_every_unmet_requirement_is_reported_at_once():
    assert password_problems("abc") == [
        PasswordProblem.TOO_SHORT, PasswordProblem.NO_DIGIT, PasswordProblem.NO_SYMBOL,
    ]


def test_r1_new_password_equal_to_old_is_refused():
    assert password_problems("Init#2026a", old="Init#2026a") == [PasswordProblem.SAME_AS_OLD]


def test_r1_old_password_differing_in_case_is_a_new_password():
    assert password_problems("init#2026A", old="Init#2026a") == []


def test_r1_password_equal_to_phone_is_refused():
    problems = password_problems(PHONE, phone=PHONE)
    assert PasswordProblem.CONTAINS_PHONE in problems


def test_r1_password_containing_the_phone_is_refused():
    assert password_problems(f"a#{PHONE}", phone=PHONE) == [PasswordProblem.CONTAINS_PHONE]


@pytest.mark.parametrize("password", ["Audit 2026#", "Audit＃2026", "审核Audit#2026", "Audit#2026\t"])
def test_r1_spaces_full_width_and_chinese_characters_are_refused(password):
    # A look-alike typed by an input method (＃ for #) would lock the auditor out later.
    assert PasswordProblem.UNSUPPORTED_CHARACTER in password_problems(password)


def test_r1_overlong_password_is_refused():
    assert password_problems("a#1" + "x" * (MAX_LENGTH - 3)) == []
    assert password_problems("a#1" + "x" * (MAX_LENGTH - 2)) == [PasswordProblem.TOO_LONG]
