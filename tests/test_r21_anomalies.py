"""R21 cross-audit anomalies, the pure rules (domain.anomalies): each kind just inside and
just past its threshold."""
from __future__ import annotations

import datetime as dt

from checkin_pwa.domain import anomalies as rules
from checkin_pwa.domain.geo import Point, destination

T0 = dt.datetime(2026, 5, 11, 1, 0)  # 09:00 in Shanghai, naive UTC
JILIN = Point(41.1256, 126.1865)
MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)


def east(km: float) -> Point:
    return destination(JILIN, 90.0, km * 1000)


# --- overlap -------------------------------------------------------------------------------

def assigned(plan_id, start, hours, site, auditor_id=7):
    return rules.Assignment(auditor_id, plan_id, start, start + dt.timedelta(hours=hours), (site,))


def test_r21_overlap_needs_more_than_half_an_hour_and_more_than_50_km():
    far = east(rules.OVERLAP_FAR_KM + 0.5)
    just_overlapping = [assigned(1, T0, 4, JILIN), assigned(2, T0 + 4 * HOUR - rules.OVERLAP_MIN - MIN, 4, far)]
    found = rules.overlapping_plans(just_overlapping)
    assert [(a.kind, a.plan_ids, a.auditor_ids) for a in found] == [("overlap", (1, 2), (7,))]
    assert found[0].numbers["distance_km"] == 50.5

    rounding = [assigned(1, T0, 4, JILIN), assigned(2, T0 + 4 * HOUR - rules.OVERLAP_MIN, 4, far)]
    assert rules.overlapping_plans(rounding) == []
    near = [assigned(1, T0, 8, JILIN), assigned(2, T0 + HOUR, 8, east(rules.OVERLAP_FAR_KM - 0.5))]
    assert rules.overlapping_plans(near) == []


def test_r21_overlap_is_one_auditors_and_needs_located_sites():
    other_person = [assigned(1, T0, 8, JILIN, auditor_id=7), assigned(2, T0, 8, east(300), auditor_id=8)]
    assert rules.overlapping_plans(other_person) == []
    not_located = [assigned(1, T0, 8, JILIN), assigned(2, T0, 8, None)]
    assert rules.overlapping_plans(not_located) == []
    # A plan with a near site among its sites is attendable from the other.
    both = [rules.Assignment(7, 1, T0, T0 + 8 * HOUR, (east(400), east(10))), assigned(2, T0, 8, JILIN)]
    assert rules.overlapping_plans(both) == []


# --- impossible travel ---------------------------------------------------------------------

def at(event_id, when, point, accuracy=None, auditor_id=7):
    return rules.Position(event_id, event_id, auditor_id, when, point, accuracy)


def test_r21_travel_faster_than_500_kmh_is_impossible():
    # 500 km/h for 60 minutes: 500 km. Just under and just over.
    ok = [at(1, T0, JILIN), at(2, T0 + HOUR, east(rules.TRAVEL_MAX_KMH - 1))]
    assert rules.impossible_travel(ok) == []
    fast = [at(1, T0, JILIN), at(2, T0 + HOUR, east(rules.TRAVEL_MAX_KMH + 1))]
    found = rules.impossible_travel(fast)
    assert [(a.kind, a.plan_ids, a.at) for a in found] == [("travel", (2, 1), T0 + HOUR)]
    assert found[0].numbers["speed_kmh"] == 501 and found[0].numbers["minutes"] == 60.0


def test_r21_travel_allows_for_both_positions_accuracy():
    # 520 km in an hour, but each fix is good only to 15 km: 490 km beyond them.
    loose = [at(1, T0, JILIN, 15_000), at(2, T0 + HOUR, east(520), 15_000)]
    assert rules.impossible_travel(loose) == []
    tight = [at(1, T0, JILIN, 5_000), at(2, T0 + HOUR, east(520), 5_000)]
    assert rules.impossible_travel(tight)[0].numbers["beyond_accuracy_km"] == 510.0


def test_r21_travel_is_between_consecutive_events_of_one_auditor():
    # 420 km in 20 minutes: 1,260 km/h, the example of the console's wording.
    found = rules.impossible_travel([at(1, T0, JILIN), at(2, T0 + 20 * MIN, east(420))])
    assert found[0].numbers["speed_kmh"] == 1260 and found[0].numbers["distance_km"] == 420.0
    # A third event back home in between makes each leg possible.
    legs = [at(1, T0, JILIN), at(3, T0 + HOUR, east(400)), at(2, T0 + 2 * HOUR, east(420))]
    assert rules.impossible_travel(legs) == []
    # Two people far apart at the same moment are no one's travel.
    assert rules.impossible_travel([at(1, T0, JILIN, auditor_id=7), at(2, T0, east(400), auditor_id=8)]) == []


def test_r21_travel_at_the_same_moment_counts_as_a_minute():
    same_place = [at(1, T0, JILIN), at(2, T0, JILIN)]  # signed together: one action, two plans
    assert rules.impossible_travel(same_place) == []
    # 8 km in a minute is 480 km/h; 9 km is 540 km/h.
    assert rules.impossible_travel([at(1, T0, JILIN), at(2, T0, east(8))]) == []
    assert rules.impossible_travel([at(1, T0, JILIN), at(2, T0, east(9))])[0].numbers["speed_kmh"] == 540


# --- reused photo bytes --------------------------------------------------------------------

def photo(photo_id, plan_id, enterprise_id, when, sha="a" * 64, uploader=7):
    return rules.PhotoBytes(photo_id, plan_id, enterprise_id, sha, uploader, when)


def test_r21_the_same_bytes_in_another_enterprises_plan():
    same_enterprise = [photo(1, 10, 100, T0), photo(2, 11, 100, T0 + HOUR)]  # QMS + EMS of one company
    assert rules.reused_photos(same_enterprise) == []
    other = [photo(1, 10, 100, T0), photo(2, 12, 200, T0 + HOUR, uploader=8)]
    found = rules.reused_photos(other)
    assert [(a.kind, a.plan_ids, a.auditor_ids, a.at) for a in found] == [("photo_reuse", (12, 10), (8, 7), T0 + HOUR)]
    other_bytes = [photo(1, 10, 100, T0), photo(2, 12, 200, T0 + HOUR, sha="b" * 64)]
    assert rules.reused_photos(other_bytes) == []


def test_r21_three_copies_give_two_findings_against_the_first():
    copies = [photo(1, 10, 100, T0), photo(2, 12, 200, T0 + HOUR), photo(3, 13, 300, T0 + 2 * HOUR)]
    assert [a.plan_ids for a in rules.reused_photos(copies)] == [(12, 10), (13, 10)]


# --- sent later while seen online ----------------------------------------------------------

def send(action_at, receipt_at, ref="s1"):
    return rules.QueuedSend(5, 10, 7, ref, action_at, receipt_at)


def test_r21_sent_later_after_being_online_longer_than_the_grace():
    seen = [rules.SeenStretch("s1", T0 + HOUR, T0 + HOUR + 3 * MIN)]
    arrived_in_grace = send(T0, T0 + HOUR + rules.LATE_SEND_GRACE)
    assert rules.late_sends([arrived_in_grace], seen) == []
    arrived_after = send(T0, T0 + HOUR + rules.LATE_SEND_GRACE + MIN)
    found = rules.late_sends([arrived_after], seen)
    assert [(a.kind, a.plan_ids, a.at) for a in found] == [("late_send", (10,), arrived_after.receipt_at)]
    assert found[0].numbers["seen_at"] == T0 + HOUR and found[0].numbers["minutes_online_before"] == 11


def test_r21_sent_later_only_counts_the_same_session_after_the_action():
    late = send(T0, T0 + 3 * HOUR)
    assert rules.late_sends([late], [rules.SeenStretch("s2", T0 + HOUR, T0 + HOUR)]) == []  # another phone
    assert rules.late_sends([late], [rules.SeenStretch("s1", T0 - HOUR, T0 - MIN)]) == []  # online before it
    assert rules.late_sends([send(T0, T0 + 3 * HOUR, ref=None)], [rules.SeenStretch("s1", T0, T0 + HOUR)]) == []
    # Online through the claimed action: seen at most SEEN_STRETCH_GAP after it.
    through = rules.late_sends([late], [rules.SeenStretch("s1", T0 - HOUR, T0 + HOUR)])
    assert through[0].numbers["seen_at"] == T0 + rules.SEEN_STRETCH_GAP


# --- EXIF time against the claimed event ---------------------------------------------------

def test_r21_meeting_photo_more_than_two_hours_from_the_claimed_check_in():
    check_in = rules.ClaimedEvent(5, 10, "in", 7, T0, True)
    inside = rules.MeetingPhoto(1, 10, 8, "first", T0 - rules.EXIF_TOLERANCE)
    beyond = rules.MeetingPhoto(2, 10, 8, "first", T0 + rules.EXIF_TOLERANCE + MIN)
    found = rules.exif_contradictions([inside, beyond], [check_in])
    assert [(a.kind, a.numbers["photo"], a.auditor_ids) for a in found] == [("exif_time", 2, (7,))]
    assert found[0].numbers["sent_later"] is True and found[0].numbers["hours_apart"] == 2.0


def test_r21_last_meeting_photo_against_the_check_out_and_no_exif_says_nothing():
    check_in = rules.ClaimedEvent(5, 10, "in", 7, T0, False)
    check_out = rules.ClaimedEvent(6, 10, "out", 7, T0 + 8 * HOUR, False)
    last = rules.MeetingPhoto(1, 10, 7, "last", T0 + 8 * HOUR)  # far from the check-in, right at the check-out
    no_time = rules.MeetingPhoto(2, 10, 7, "first", None)
    no_event = rules.MeetingPhoto(3, 11, 7, "first", T0 + 9 * HOUR)
    assert rules.exif_contradictions([last, no_time, no_event], [check_in, check_out]) == []


def test_r21_find_all_lists_the_newest_first():
    facts = rules.Facts(positions=[at(1, T0, JILIN), at(2, T0 + 20 * MIN, east(420))],
                        photos=[photo(1, 10, 100, T0 + 2 * HOUR), photo(2, 12, 200, T0 + 3 * HOUR)])
    assert [a.kind for a in rules.find_all(facts)] == ["photo_reuse", "travel"]


# --- the list's filters --------------------------------------------------------------------

TODAY = dt.date(2026, 11, 29)


def parse(**args):
    return rules.parse_filters(args, TODAY, default_days=30, max_days=92)


def test_r21_the_list_defaults_to_the_last_30_days_and_keeps_a_good_range():
    assert parse() == (rules.Filters(dt.date(2026, 10, 31), TODAY), [])
    wanted = parse(since="2026-09-01", until="2026-11-30", kind="travel")  # 91 days
    assert wanted == (rules.Filters(dt.date(2026, 9, 1), dt.date(2026, 11, 30), "travel"), [])
    assert wanted[0].query_args() == {"since": "2026-09-01", "until": "2026-11-30", "kind": "travel"}


def test_r21_odd_filters_are_said_and_replaced():
    assert parse(since="2026-13-45")[1] == [("bad_date", "2026-13-45")]
    assert parse(since="2026-13-45")[0].since == dt.date(2026, 10, 31)
    assert parse(until="\x00" * 40)[1] == [("bad_date", "\x00" * 20)]
    assert parse(since="２０２６-01-01")[1][0][0] == "bad_date"  # full-width digits are not a date here
    turned = parse(since="2026-11-20", until="2026-11-10")
    assert turned == (rules.Filters(dt.date(2026, 11, 10), dt.date(2026, 11, 20)), [("reversed", "")])
    # 93 days: the last 92 are kept.
    long = parse(since="2026-08-29", until="2026-11-29")
    assert long == (rules.Filters(dt.date(2026, 8, 30), TODAY), [("too_long", "92")])
    assert parse(kind="<script>")[0].kind is None and parse(kind="<script>")[1] == [("bad_kind", "<script>")]


def test_r21_the_quick_sphere_never_understates_the_exact_distance():
    """The travel and overlap rules skip the exact (ellipsoid) distance when the sphere's, 1 %
    longer, is within the limit (that must never be shorter than the exact one), and for the
    list when the sphere's, 1 % shorter, is beyond it (that must never be longer)."""
    import random

    from checkin_pwa.domain.geo import distance_m

    rng = random.Random(21)
    for _ in range(2000):
        a = Point(rng.uniform(-80, 80), rng.uniform(-180, 180))
        b = destination(a, rng.uniform(0, 360), rng.uniform(1, 2_000_000))
        assert rules._sphere_km(a, b) * rules._SPHERE_MARGIN >= distance_m(a, b) / 1000
        assert rules._sphere_km(a, b) / rules._SPHERE_MARGIN <= distance_m(a, b) / 1000
