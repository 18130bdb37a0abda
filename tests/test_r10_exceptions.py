"""R10 exceptions (domain.audit_exceptions) at their boundaries, on the plan's own calendar, and
the notes that are not exceptions (domain.notes). Pure: no app."""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from checkin_pwa.domain import audit_exceptions as rules10
from checkin_pwa.domain import notes
from checkin_pwa.domain.geo import nearest_site, points, Point
from checkin_pwa.domain.rules import PlanFacts

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """A Shanghai wall-clock time in November 2026, as aware UTC."""
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def facts(**changes) -> PlanFacts:
    """An audit from 2026-11-10 08:30 to 2026-11-12 17:00 Shanghai time."""
    base = dict(plan_id=1, enterprise_id=1, start=at(10, 8, 30), end=at(12, 17), timezone="Asia/Shanghai",
                mode="onsite", status="valid", team=frozenset({7}))
    base.update(changes)
    return PlanFacts(**base)


SIGNED = dict(checked_in_at=at(10, 8, 40), checked_out_at=at(12, 16, 30))
ALL_PHOTOS = {"first": 1, "last": 2}


def codes(found) -> list[str]:
    return [e.code for e in found]


def test_r10_not_signed_only_from_the_day_after_the_last_day_in_the_plans_zone():
    plan = facts()
    # 23:59 on the last day, Shanghai time: still the audit's last day.
    assert rules10.exceptions(plan, [], {}, at(12, 23, 59)) == []
    # 00:00 the day after, Shanghai time (16:00 UTC the same day): over.
    found = rules10.exceptions(plan, [], {}, at(13, 0, 0))
    assert found[0] == rules10.PlanException(rules10.NOT_SIGNED, missing=("in", "out"))
    assert at(13, 0, 0).date() == dt.date(2026, 11, 12)  # the UTC date is still the last day


def test_r10_not_signed_names_the_missing_check_out():
    plan = facts(checked_in_at=at(10, 8, 40))
    found = rules10.exceptions(plan, [], ALL_PHOTOS, at(13, 9))
    assert found == [rules10.PlanException(rules10.NOT_SIGNED, missing=("out",))]


def test_r10_a_fully_signed_plan_with_its_photos_has_no_exception_after_the_end():
    assert rules10.exceptions(facts(**SIGNED), [], ALL_PHOTOS, at(20, 9)) == []


def test_r10_photos_missing_names_the_group_only_after_the_last_day():
    plan = facts(**SIGNED)
    assert rules10.exceptions(plan, [], {"first": 1}, at(12, 23, 59)) == []
    found = rules10.exceptions(plan, [], {"first": 1}, at(13, 0, 1))
    assert found == [rules10.PlanException(rules10.PHOTOS_MISSING, missing=("last",))]
    found = rules10.exceptions(plan, [], {"other": 5}, at(13, 0, 1))
    assert found[0].missing == ("first", "last")  # other photos do not stand in


def test_r10_deviation_over_5_km_at_any_moment_and_not_at_5_km():
    plan = facts(checked_in_at=at(10, 8, 40))
    far = rules10.TeamEventFacts("in", 5000.1)
    edge = rules10.TeamEventFacts("in", 5000.0)
    assert rules10.exceptions(plan, [edge], {}, at(10, 9)) == []
    found = rules10.exceptions(plan, [far], {}, at(10, 9))  # during the audit already
    assert found == [rules10.PlanException(rules10.DEVIATION, kind="in", distance_m=5000.1)]


def test_r10_multi_site_deviation_uses_the_nearest_site():
    sites = points([(41.1256, 126.1865), (43.8171, 125.3235)])  # Ji'an and Changchun
    signed = Point(43.8000, 125.3235)  # ~1.9 km from Changchun, ~300 km from Ji'an
    nearest = nearest_site(signed, sites)
    assert nearest.index == 1 and nearest.distance_m < 5000
    plan = facts(checked_in_at=at(10, 8, 40))
    assert rules10.exceptions(plan, [rules10.TeamEventFacts("in", nearest.distance_m)], {}, at(10, 9)) == []


def test_r10_a_site_not_located_is_no_deviation():
    plan = facts(checked_in_at=at(10, 8, 40))
    assert rules10.exceptions(plan, [rules10.TeamEventFacts("in", None)], {}, at(10, 9)) == []


def test_r10_remote_and_cancelled_plans_have_no_exceptions():
    far = [rules10.TeamEventFacts("in", 90_000.0)]
    for changes in ({"mode": "remote"}, {"status": "cancelled"}):
        assert rules10.exceptions(facts(**changes), far, {}, at(20, 9)) == []


def test_r10_combined_mode_signs_like_on_site():
    assert codes(rules10.exceptions(facts(mode="combined"), [], {}, at(13, 9))) == ["not_signed", "photos_missing"]


def deadline(year: int, month: int, day: int) -> rules10.ReviewDeadline:
    return rules10.review_deadline(dt.date(year, month, day))


def test_r20_deadline_is_five_working_days_after_the_last_day_on_ordinary_weeks():
    # Thursday 2026-11-12 -> Fri 13, Mon 16, Tue 17, Wed 18, Thu 19.
    assert deadline(2026, 11, 12) == rules10.ReviewDeadline(dt.date(2026, 11, 19), estimated=False)
    # Friday 2026-11-13 -> Mon 16 .. Fri 20; a Saturday's audit counts from the same Monday.
    assert deadline(2026, 11, 13).day == dt.date(2026, 11, 20)
    assert deadline(2026, 11, 14).day == dt.date(2026, 11, 20)


def test_r20_deadline_skips_the_national_day_holiday_and_counts_its_adjusted_saturday():
    # Wed 2026-09-30: 1-7 October are off; Thu 8, Fri 9, Sat 10 (an adjusted working day),
    # Mon 12, Tue 13. Monday to Friday alone would have said Wed 7 October, a holiday.
    assert deadline(2026, 9, 30) == rules10.ReviewDeadline(dt.date(2026, 10, 13), estimated=False)


def test_r20_deadline_across_the_spring_festival():
    # Fri 2026-02-13: Sat 14 is worked (adjusted), 15-23 are off, then Tue 24, Wed 25, Thu 26,
    # Fri 27. Monday to Friday alone would have said Fri 20 February, in the holiday.
    assert deadline(2026, 2, 13) == rules10.ReviewDeadline(dt.date(2026, 2, 27), estimated=False)


def test_r20_deadline_counts_an_adjusted_saturday_working_day():
    # Tue 2026-02-24: Wed 25, Thu 26, Fri 27, Sat 28 (worked for the Spring Festival), Mon 2 March.
    assert deadline(2026, 2, 24).day == dt.date(2026, 3, 2)
    assert rules10.official_working_day(dt.date(2026, 2, 28)) == (True, True)
    assert rules10.official_working_day(dt.date(2026, 10, 1)) == (False, True)


def test_r20_deadline_beyond_the_calendars_data_is_counted_monday_to_friday_and_says_so():
    # 2040 is not published: Monday to Friday, marked estimated.
    assert deadline(2040, 10, 1) == rules10.ReviewDeadline(dt.date(2040, 10, 8), estimated=True)
    assert rules10.official_working_day(dt.date(2040, 10, 6)) == (False, False)
    # Crossing into an unpublished year: the known days count officially, the rest Monday to
    # Friday (Tue 29, Wed 30, Thu 31 December 2026, Fri 1 and Mon 4 January 2027).
    assert deadline(2026, 12, 28) == rules10.ReviewDeadline(dt.date(2027, 1, 4), estimated=True)
    # A deadline wholly inside a published year is not estimated.
    assert deadline(2026, 12, 18).estimated is False


def test_r20_verification_state_and_lateness_at_the_deadlines_edges():
    day = dt.date(2026, 10, 13)
    assert rules10.verification_state(day, verified=False, today=day) == rules10.TO_VERIFY
    assert rules10.verification_state(day, verified=False, today=dt.date(2026, 10, 14)) == rules10.OVERDUE
    assert rules10.verification_state(day, verified=True, today=dt.date(2026, 12, 1)) == rules10.VERIFIED
    assert rules10.verified_late(day, day) is False and rules10.verified_late(day, dt.date(2026, 10, 14)) is True
    # The reminder: due tomorrow, due today, overdue; not two days ahead, never once verified.
    assert rules10.needs_reminder_to_verify(day, False, dt.date(2026, 10, 12))
    assert rules10.needs_reminder_to_verify(day, False, dt.date(2026, 10, 20))
    assert not rules10.needs_reminder_to_verify(day, False, dt.date(2026, 10, 11))
    assert not rules10.needs_reminder_to_verify(day, True, dt.date(2026, 10, 20))


# --- notes: not exceptions ---------------------------------------------------------------

def test_r10_notes_from_event_flags_leave_the_deviation_to_the_exceptions():
    flags = (
        {"code": "deviation_over_5km", "distance_m": 8000.0, "limit_m": 5000.0},
        {"code": "offline_sent_later", "action_time": "2026-11-10T00:40:00Z", "receipt_time": "2026-11-10T02:00:00Z"},
        {"code": "clock_skew", "skew_s": 600, "limit_s": 300.0},
        {"code": "pin_moved", "offset_m": 800.0},
        {"code": "stale_position", "age_s": 300, "limit_s": 120.0},
        {"code": "poor_accuracy", "accuracy_m": 900.0, "limit_m": 500.0},
        {"code": "late_check_in", "minutes": 95},
    )
    found = notes.event_notes([notes.EventFacts("in", flags, True, "张三")])
    assert [n.code for n in found] == ["offline_sent_later", "clock_skew", "late_check_in", "pin_moved",
                                       "stale_position", "poor_accuracy"]
    assert all(n.kind == "in" and not n.on_copy for n in found)
    assert found[2].params == {"minutes": 95}


def test_r10_notes_of_every_event_flag_code():
    for code in notes.EVENT_NOTE_CODES:
        found = notes.event_notes([notes.EventFacts("out", ({"code": code},), True)])
        assert [n.code for n in found] == [code]


def test_r10_a_late_offline_copy_is_a_note_on_the_members_copy_after_the_team_records():
    team = notes.EventFacts("in", (), True, "李四")
    copy = notes.EventFacts("in", ({"code": "offline_sent_later"},), False, "张三")
    found = notes.event_notes([copy, team])
    assert [(n.code, n.on_copy, n.signer) for n in found] == [
        ("offline_sent_later", True, "张三"), ("late_offline_copy", True, "张三")]


def test_r10_photo_notes_count_per_group_and_no_exif_is_not_a_mismatch():
    photos = [
        notes.PhotoFacts("first", {"time": {"outcome": "mismatch", "hours_apart": 30}, "place": {"outcome": "ok"},
                                   "duplicate": {"outcome": "ok"}}),
        notes.PhotoFacts("first", {"time": {"outcome": "cannot_check", "why": "no_exif"},
                                   "place": {"outcome": "cannot_check", "why": "no_exif"},
                                   "duplicate": {"outcome": "ok"}}),
        notes.PhotoFacts("first", {"time": {"outcome": "cannot_check", "why": "no_exif"},
                                   "place": {"outcome": "cannot_check", "why": "no_exif"},
                                   "duplicate": {"outcome": "mismatch"}}),
        notes.PhotoFacts("last", {"time": {"outcome": "ok"}, "place": {"outcome": "mismatch", "km": 9},
                                  "duplicate": {"outcome": "ok"}}),
        notes.PhotoFacts("other", {"time": {"outcome": "cannot_check", "why": "no_checkin_yet"}}),
        notes.PhotoFacts("other", "not a dict"),
    ]
    found = [(n.code, n.group, n.params["count"]) for n in notes.photo_notes(photos)]
    assert found == [
        ("photo_time_mismatch", "first", 1),
        ("photo_place_mismatch", "last", 1),
        ("photo_duplicate", "first", 1),
        ("photo_no_exif", "first", 2),
    ]


def test_r10_a_clean_record_has_no_notes():
    assert notes.notes([notes.EventFacts("in", ()), notes.EventFacts("out", ())],
                       [notes.PhotoFacts("first", {"time": {"outcome": "ok"}, "place": {"outcome": "ok"}})]) == []
