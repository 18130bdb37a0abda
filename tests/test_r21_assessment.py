"""The summary rule of the evidence review (R21, domain.assessment): each level, and each
threshold at its edge (the level and the reason's place in the ranking on both sides)."""
from __future__ import annotations

import pytest

from checkin_pwa.domain.assessment import (
    CREDIBLE,
    DOUBTFUL,
    VERIFY,
    EventFacts,
    EvidenceFacts,
    PhotoFacts,
    assess,
)

HOUR = 3600.0


def on_site(kind="in", **changes) -> EventFacts:
    values = {"kind": kind, "distance_m": 40.0, "accuracy_m": 20.0, "skew_s": 1.0}
    values.update(changes)
    return EventFacts(**values)


def good_photo(group="first", **changes) -> PhotoFacts:
    values = {"group": group, "time": "ok", "time_hours": 0.2, "place": "ok", "place_km": 0.05}
    values.update(changes)
    return PhotoFacts(**values)


def audit(*, events=None, photos=None, ended=True, **changes) -> EvidenceFacts:
    return EvidenceFacts(
        needs_check_in=changes.pop("needs_check_in", True), ended=ended,
        events=tuple(events if events is not None else (on_site("in"), on_site("out"))),
        photos=tuple(photos if photos is not None else (good_photo("first"), good_photo("last"))), **changes)


def codes(result) -> list[str]:
    return [reason.code for reason in result.reasons]


def test_r21_a_record_with_everything_in_place_is_credible_and_says_why():
    result = assess(audit())
    assert result.level == CREDIBLE
    assert codes(result) == ["on_site", "on_site", "photos_time_ok", "photos_place_ok"]
    assert result.reasons[0].params == {"kind": "in", "km": 0.04, "accuracy_m": 20}
    assert result.reasons[2].params["count"] == 2


def test_r21_remote_and_cancelled_audits_need_no_check_in_and_are_not_doubted():
    result = assess(audit(needs_check_in=False, events=(), photos=()))
    assert result.level == CREDIBLE and codes(result) == ["no_check_in_needed"]


def test_r21_presence_after_the_audit_no_check_in_is_doubtful_no_check_out_or_photos_verify():
    assert assess(audit(events=(), ended=False, photos=())).level == CREDIBLE  # not yet: a note
    assert codes(assess(audit(events=(), ended=False, photos=()))) == ["not_checked_in_yet"]
    nothing = assess(audit(events=(), photos=()))
    assert nothing.level == DOUBTFUL and codes(nothing)[:2] == ["no_check_in", "photos_missing"]
    no_out = assess(audit(events=(on_site("in"),)))
    assert no_out.level == VERIFY and codes(no_out)[0] == "no_check_out"
    no_last = assess(audit(photos=(good_photo("first"),)))
    assert no_last.level == VERIFY and no_last.reasons[0].params["groups"] == ("last",)


@pytest.mark.parametrize("distance, level, first", [
    (5000.0, CREDIBLE, "on_site"),
    (5000.5, VERIFY, "deviation"),  # R5's 地点偏差: more than 5 km
    (50_000.0, VERIFY, "deviation"),
    (50_000.5, DOUBTFUL, "far_from_site"),  # another area
])
def test_r21_distance_from_the_nearest_site_at_its_edges(distance, level, first):
    result = assess(audit(events=(on_site("in", distance_m=distance), on_site("out"))))
    assert result.level == level and codes(result)[0] == first


def test_r21_a_distance_just_past_the_far_edge_moves_ahead_of_a_photo_to_verify():
    photos = (good_photo("first", time="mismatch", time_hours=3.0), good_photo("last"))
    at_edge = assess(audit(events=(on_site("in", distance_m=50_000.0), on_site("out")), photos=photos))
    assert codes(at_edge)[:2] == ["deviation", "photo_time_mismatch"]
    past = assess(audit(events=(on_site("in", distance_m=50_000.5), on_site("out")), photos=photos))
    assert codes(past)[:2] == ["far_from_site", "photo_time_mismatch"]
    assert past.reasons[0].params == {"kind": "in", "km": 50.1, "limit_km": 50.0}


def test_r21_of_two_deviations_the_farther_is_listed_first():
    result = assess(audit(events=(on_site("in", distance_m=6_000.0), on_site("out", distance_m=30_000.0))))
    assert [(r.code, r.params["kind"]) for r in result.reasons[:2]] == [("deviation", "out"), ("deviation", "in")]


@pytest.mark.parametrize("accuracy, level, found, absent", [
    (500.0, CREDIBLE, "on_site", "poor_accuracy"),
    (501.0, CREDIBLE, "poor_accuracy", "useless_accuracy"),  # a note: indoors
    (5000.0, CREDIBLE, "poor_accuracy", "useless_accuracy"),
    (5001.0, VERIFY, "useless_accuracy", "on_site"),  # cannot tell on site from a deviation
])
def test_r21_accuracy_at_its_edges(accuracy, level, found, absent):
    result = assess(audit(events=(on_site("in", accuracy_m=accuracy), on_site("out", distance_m=10.0))))
    assert result.level == level
    in_codes = [r.code for r in result.reasons if r.params.get("kind") == "in"]
    assert found in in_codes and absent not in in_codes


@pytest.mark.parametrize("skew, sent_later, level, code", [
    (300.0, False, CREDIBLE, None),
    (301.0, False, VERIFY, "clock_skew"),
    (-301.0, False, VERIFY, "clock_skew"),  # slow or fast alike
    (HOUR, True, VERIFY, "clock_skew"),
    (HOUR + 1, True, DOUBTFUL, "skew_offline"),  # the action's time rests on that clock
    (3 * HOUR, False, VERIFY, "clock_skew"),  # online: the server's clock is the record
])
def test_r21_clock_skew_at_its_edges(skew, sent_later, level, code):
    event = on_site("in", skew_s=skew, sent_later=sent_later, delay_s=600.0 if sent_later else None)
    result = assess(audit(events=(event, on_site("out"))))
    assert result.level == level
    if code:
        assert codes(result)[0] == code and result.reasons[0].params["minutes"] == round(skew / 60)
    else:
        assert "clock_skew" not in codes(result)


@pytest.mark.parametrize("delay, level, code", [
    (24 * HOUR, CREDIBLE, "sent_later"),
    (24 * HOUR + 1, VERIFY, "sent_very_late"),
])
def test_r21_an_offline_action_received_late_at_its_edge(delay, level, code):
    result = assess(audit(events=(on_site("in", sent_later=True, delay_s=delay), on_site("out"))))
    assert result.level == level and code in codes(result)


def test_r21_an_offline_time_the_server_did_not_believe_asks_to_verify():
    event = on_site("in", sent_later=True, delay_s=0.0, flags=("offline_sent_later", "action_in_future"))
    result = assess(audit(events=(event, on_site("out"))))
    assert result.level == VERIFY and codes(result)[0] == "offline_clock_doubt"


@pytest.mark.parametrize("hours, level, code", [
    (23.9, VERIFY, "photo_time_mismatch"),
    (24.0, DOUBTFUL, "photo_other_day"),  # a day or more: not that meeting's photo
])
def test_r21_a_meeting_photo_taken_away_from_its_meeting_at_the_day_edge(hours, level, code):
    result = assess(audit(photos=(good_photo("first", time="mismatch", time_hours=hours), good_photo("last"))))
    assert result.level == level and codes(result)[0] == code
    assert result.reasons[0].params["hours"] == hours and result.reasons[0].params["groups"] == ("first",)


@pytest.mark.parametrize("km, level, code", [
    (50.0, VERIFY, "photo_place_mismatch"),
    (50.01, DOUBTFUL, "photo_far_away"),
])
def test_r21_a_photo_taken_away_from_the_site_at_its_edge(km, level, code):
    result = assess(audit(photos=(good_photo("first", place="mismatch", place_km=km), good_photo("last"))))
    assert result.level == level and codes(result)[0] == code


def test_r21_photos_are_counted_per_reason_with_the_largest_number():
    photos = (good_photo("first", time="mismatch", time_hours=3.0), good_photo("last", time="mismatch", time_hours=9.5),
              good_photo("other", time="cannot_check", place="cannot_check", no_exif=True))
    result = assess(audit(photos=photos))
    first = result.reasons[0]
    assert first.code == "photo_time_mismatch" and first.params["count"] == 2 and first.params["hours"] == 9.5
    assert first.params["groups"] == ("first", "last")
    assert "photo_no_exif" in codes(result) and result.level == VERIFY  # no EXIF is only a note


def test_r21_the_same_photo_bytes_in_another_plan_are_doubtful():
    result = assess(audit(photos=(good_photo("first", duplicates=2), good_photo("last"))))
    assert result.level == DOUBTFUL and codes(result)[0] == "duplicate_photo"
    assert result.reasons[0].params["plans"] == 2


def test_r21_reasons_are_ranked_doubtful_then_verify_then_notes_then_what_corroborates():
    events = (on_site("in", distance_m=80_000.0, skew_s=2 * HOUR, sent_later=True, delay_s=900.0, pin_offset_m=300.0),
              on_site("out", distance_m=7_000.0))
    photos = (good_photo("first", time="mismatch", time_hours=30.0, duplicates=1),
              good_photo("last", time="mismatch", time_hours=4.0))
    result = assess(audit(events=events, photos=photos, explanations=2))
    assert result.level == DOUBTFUL
    # No on_site for either event: one is far away, the other deviates.
    assert codes(result) == ["far_from_site", "duplicate_photo", "photo_other_day", "skew_offline",
                             "deviation", "photo_time_mismatch",
                             "sent_later", "pin_moved", "explained",
                             "photos_place_ok"]
    levels = [reason.level for reason in result.reasons]
    assert levels == sorted(levels, key=["doubtful", "verify", "note", "ok"].index)


def test_r21_a_cross_audit_anomaly_of_the_team_is_doubtful_and_not_counted_twice():
    result = assess(audit(anomalies=("travel", "overlap", "travel")))
    assert result.level == DOUBTFUL
    assert [(r.code, r.params) for r in result.reasons[:2]] == [
        ("cross_audit", {"anomaly": "overlap", "count": 1}), ("cross_audit", {"anomaly": "travel", "count": 2})]
    # Above a far check-in, below no check-in at all.
    far = assess(audit(events=(on_site("in", distance_m=60_000.0), on_site("out")), anomalies=("late_send",)))
    assert codes(far)[:2] == ["far_from_site", "cross_audit"]
    # The same bytes and a photo's time across plans are the photos' own verdicts: weighed there.
    assert assess(audit(anomalies=("photo_reuse", "exif_time"))).level == CREDIBLE
