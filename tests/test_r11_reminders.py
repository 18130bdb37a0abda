"""R11 签到提醒 (domain.audit_exceptions.needs_reminder) at its boundaries. Pure: no app."""
from __future__ import annotations

from checkin_pwa.domain.audit_exceptions import needs_reminder

from .test_r10_exceptions import at, facts


def test_r11_no_reminder_before_the_start():
    assert needs_reminder(facts(), at(10, 8, 29)) is False
    assert needs_reminder(facts(), at(9, 12)) is False


def test_r11_reminder_after_the_start_without_check_in():
    assert needs_reminder(facts(), at(10, 8, 31)) is True
    assert needs_reminder(facts(), at(11, 10)) is True  # a middle day too


def test_r11_no_reminder_once_checked_in_before_the_end():
    plan = facts(checked_in_at=at(10, 8, 40))
    assert needs_reminder(plan, at(10, 9)) is False
    assert needs_reminder(plan, at(12, 16, 59)) is False


def test_r11_reminder_on_the_last_day_after_the_end_without_check_out():
    plan = facts(checked_in_at=at(10, 8, 40))
    assert needs_reminder(plan, at(12, 17, 1)) is True
    assert needs_reminder(plan, at(12, 23, 59)) is True


def test_r11_no_reminder_the_day_after_the_audit():
    assert needs_reminder(facts(), at(13, 0, 0)) is False  # an exception now, not a reminder
    assert needs_reminder(facts(checked_in_at=at(10, 8, 40)), at(13, 0, 1)) is False


def test_r11_no_reminder_after_check_out():
    assert needs_reminder(facts(checked_in_at=at(10, 8, 40), checked_out_at=at(12, 17, 5)), at(12, 18)) is False


def test_r11_remote_and_cancelled_plans_never_remind():
    assert needs_reminder(facts(mode="remote"), at(10, 12)) is False
    assert needs_reminder(facts(status="cancelled"), at(10, 12)) is False
