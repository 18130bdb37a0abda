"""R1 verification codes (§4.1-4.3): 6 digits, 5 minutes, 5 tries, one use, resend limits,
only a keyed hash stored. Pure rules (domain.codes) and the service on a real database."""
from __future__ import annotations

import datetime as dt
import logging

import pytest

from checkin_pwa.domain import codes
from checkin_pwa.extensions import db
from checkin_pwa.models import VerificationCode
from checkin_pwa.services import verification
from checkin_pwa.services.sms import LogSmsSender, SmsError, SmsSender

SECRET = "test-secret"
PHONE = "13800000001"
T0 = dt.datetime(2026, 11, 22, 8, 0, 0, tzinfo=dt.timezone.utc)


class Recorder(SmsSender):
    """Keeps what would have been sent (the code is read from the text, as a person would)."""

    def __init__(self, config=None):
        super().__init__(config)
        self.sent: list[tuple[str, str]] = []

    def send(self, phone, text):
        self.sent.append((phone, text))

    def last_code(self) -> str:
        text = self.sent[-1][1]
        return text.split("验证码是")[1][:6]


class Broken(SmsSender):
    def send(self, phone, text):
        raise SmsError("gateway down")


@pytest.fixture
def sms():
    return Recorder()


@pytest.fixture
def settings(app):
    return verification.Settings.from_config(app.config)


def send(sms, settings, now=T0, purpose="reset_password", phone=PHONE):
    return verification.send_code(phone, purpose, sender=sms, settings=settings, now=now, auditor_id=None)


def check(settings, typed, now, purpose="reset_password", phone=PHONE):
    return verification.check_code(phone, purpose, typed, settings=settings, now=now)


# --- pure ----------------------------------------------------------------------------------

def test_r1_code_is_six_random_digits():
    made = {codes.new_code() for _ in range(200)}
    assert all(len(code) == 6 and code.isdigit() for code in made)
    assert len(made) > 150  # random, not a counter


def test_r1_code_hash_is_keyed_and_salted_and_compares_right():
    stored = codes.hash_code(SECRET, "012345")
    assert "012345" not in stored
    assert codes.code_matches(SECRET, stored, "012345")
    assert codes.code_matches(SECRET, stored, " ０１２３４５ ")  # full-width digits from an IME
    assert not codes.code_matches(SECRET, stored, "012346")
    assert not codes.code_matches("another-key", stored, "012345")
    assert codes.hash_code(SECRET, "012345") != stored  # a fresh salt each time


def test_r1_code_expires_exactly_at_five_minutes():
    alive = codes.state(created_at=T0, used_at=None, tries=0, now=T0 + dt.timedelta(seconds=299))
    dead = codes.state(created_at=T0, used_at=None, tries=0, now=T0 + dt.timedelta(seconds=300))
    assert alive is codes.CodeState.LIVE and dead is codes.CodeState.EXPIRED


def test_r1_resend_rules_pure():
    policy = codes.Policy()
    assert codes.resend_wait([], "reset_password", T0, policy).allowed
    verdict = codes.resend_wait([(T0, "reset_password")], "reset_password", T0 + dt.timedelta(seconds=15), policy)
    assert verdict.reason is codes.Wait.RESEND and verdict.seconds == 45
    # Another purpose is not held back by the 60 s rule.
    assert codes.resend_wait([(T0, "change_phone")], "reset_password", T0 + dt.timedelta(seconds=15), policy).allowed


def test_r1_phone_masked_as_on_the_personal_page():
    assert codes.mask_phone("13800000001") == "138****0001"


# --- service -----------------------------------------------------------------------------

def test_r1_only_the_hash_is_stored(app_context, app, sms, settings):
    assert send(sms, settings).code == verification.SENT
    code = sms.last_code()
    row = db.session.scalar(db.select(VerificationCode))
    assert code not in row.code_hash and len(row.code_hash) > 64
    assert row.expires_at == T0 + dt.timedelta(minutes=5)


def test_r1_right_code_within_five_minutes_then_never_again(app_context, app, sms, settings):
    send(sms, settings)
    code = sms.last_code()
    assert check(settings, code, T0 + dt.timedelta(seconds=299)).code == verification.OK
    reused = check(settings, code, T0 + dt.timedelta(seconds=300))
    assert reused.code == verification.NO_CODE


def test_r1_code_refused_at_the_five_minute_boundary(app_context, app, sms, settings):
    send(sms, settings)
    assert check(settings, sms.last_code(), T0 + dt.timedelta(minutes=5)).code == verification.EXPIRED


def test_r1_five_wrong_tries_kill_the_code_even_for_the_right_sixth(app_context, app, sms, settings):
    send(sms, settings)
    code = sms.last_code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    outcomes = [check(settings, wrong, T0 + dt.timedelta(seconds=10 + i)) for i in range(5)]
    assert [o.code for o in outcomes] == ["wrong"] * 4 + ["dead"]
    assert [o.tries_left for o in outcomes[:4]] == [4, 3, 2, 1]
    assert check(settings, code, T0 + dt.timedelta(seconds=20)).code == verification.DEAD
    # A new code must be asked for; it works.
    send(sms, settings, now=T0 + dt.timedelta(seconds=61))
    assert check(settings, sms.last_code(), T0 + dt.timedelta(seconds=70)).code == verification.OK


def test_r1_a_new_code_replaces_the_older_one(app_context, app, sms, settings):
    send(sms, settings)
    first = sms.last_code()
    send(sms, settings, now=T0 + dt.timedelta(seconds=60))
    second = sms.last_code()
    if first != second:
        assert check(settings, first, T0 + dt.timedelta(seconds=61)).code != verification.OK
    assert check(settings, second, T0 + dt.timedelta(seconds=62)).code == verification.OK


def test_r1_resend_within_60_seconds_refused_with_the_seconds(app_context, app, sms, settings):
    send(sms, settings)
    again = send(sms, settings, now=T0 + dt.timedelta(seconds=20))
    assert again.code == verification.WAIT and again.wait is codes.Wait.RESEND and again.seconds == 40
    assert len(sms.sent) == 1
    assert send(sms, settings, now=T0 + dt.timedelta(seconds=60)).code == verification.SENT


def test_r1_at_most_five_codes_an_hour(app_context, app, sms, settings):
    for i in range(5):
        assert send(sms, settings, now=T0 + dt.timedelta(minutes=2 * i)).code == verification.SENT
    sixth = send(sms, settings, now=T0 + dt.timedelta(minutes=10))
    assert sixth.wait is codes.Wait.HOURLY
    assert sixth.seconds == 50 * 60  # the first leaves the hour at T0 + 60 min
    assert send(sms, settings, now=T0 + dt.timedelta(minutes=60)).code == verification.SENT


def test_r1_at_most_ten_codes_a_day(app_context, app, sms, settings):
    for i in range(10):
        assert send(sms, settings, now=T0 + dt.timedelta(hours=2 * i)).code == verification.SENT
    eleventh = send(sms, settings, now=T0 + dt.timedelta(hours=20))
    assert eleventh.wait is codes.Wait.DAILY and eleventh.seconds == 4 * 3600
    assert len(sms.sent) == 10


def test_r1_limits_are_configurable(app_context, app, sms):
    app.config["CODE_MAX_PER_HOUR"] = 2
    settings = verification.Settings.from_config(app.config)
    send(sms, settings)
    send(sms, settings, now=T0 + dt.timedelta(minutes=1))
    assert send(sms, settings, now=T0 + dt.timedelta(minutes=2)).wait is codes.Wait.HOURLY


def test_r1_failed_sending_keeps_no_code(app_context, app, settings):
    outcome = send(Broken(), settings)
    assert outcome.code == verification.SEND_FAILED
    assert db.session.scalar(db.select(db.func.count()).select_from(VerificationCode)) == 0


def test_r1_log_backend_writes_the_whole_message(app_context, app, settings, caplog):
    with caplog.at_level(logging.INFO, logger="checkin_pwa.sms"):
        send(LogSmsSender(app.config), settings)
    record = [r for r in caplog.records if r.name == "checkin_pwa.sms"][-1]
    assert record.levelno == logging.INFO
    assert PHONE in record.getMessage() and "验证码是" in record.getMessage()
    assert "5分钟内有效" in record.getMessage()

