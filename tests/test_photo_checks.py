"""R8/R17: each photo's EXIF judged against the team's record: time, place, duplicate."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from checkin_pwa.domain import photo_checks
from checkin_pwa.domain.evidence import ABSENT, READ, UNREADABLE, EvidenceField, PhotoEvidence, read_exif
from checkin_pwa.domain.geo import Point, destination
from checkin_pwa.domain.photo_checks import (
    CANNOT_CHECK, MISMATCH, OK, PLACE_CHECKIN_M, PLACE_SITE_M, TIME_TOLERANCE, Verdicts, judge, summary,
)

PHOTOS = Path(__file__).resolve().parents[2] / "shared/fixtures/photos"
UTC = dt.timezone.utc
SHANGHAI = dt.timezone(dt.timedelta(hours=8))

# A two-day audit in Shanghai time: 10 May 08:30 to 11 May 17:00 (+08:00).
PLAN_START = dt.datetime(2024, 5, 10, 0, 30)  # naive UTC, as the database keeps it
PLAN_END = dt.datetime(2024, 5, 11, 9, 0)
CHECKIN = dt.datetime(2024, 5, 10, 1, 0)  # 09:00 in Shanghai
CHECKOUT = dt.datetime(2024, 5, 11, 8, 30)  # 16:30 in Shanghai
SITE = Point(41.1256, 126.1865)
CHECKIN_POINT = destination(SITE, 90, 300)


def exif(*, taken=None, offset=None, gps=None, gps_time=None) -> PhotoEvidence:
    """Evidence as read_exif would give it; taken is the camera's local time."""
    def field(value):
        return EvidenceField(READ, value, source="DateTimeOriginal" if isinstance(value, dt.datetime) else None) \
            if value is not None else EvidenceField(ABSENT)

    return PhotoEvidence(taken_at=field(taken), offset=field(offset), gps=field(gps),
                         gps_time=EvidenceField(READ, gps_time) if gps_time else EvidenceField(ABSENT),
                         status=READ)


def shanghai(moment_utc: dt.datetime, delta=dt.timedelta(0)) -> dt.datetime:
    """The local time a phone in Shanghai shows at moment_utc + delta (naive, as EXIF has it)."""
    return (moment_utc + delta + dt.timedelta(hours=8)).replace(tzinfo=None)


def check(evidence, group="first", **overrides) -> Verdicts:
    args = dict(group=group, plan_start=PLAN_START, plan_end=PLAN_END, plan_zone="Asia/Shanghai",
                checkin_time=CHECKIN, checkout_time=CHECKOUT, checkin_point=CHECKIN_POINT,
                sites=[SITE], duplicate_plan_nos=())
    args.update(overrides)
    return judge(evidence, **args)


# --- time -------------------------------------------------------------------------------------


def test_r8_tolerances_live_in_one_place_and_travel_with_each_verdict():
    assert TIME_TOLERANCE == dt.timedelta(hours=2)
    assert (PLACE_CHECKIN_M, PLACE_SITE_M) == (1000, 5000)
    verdicts = check(exif(taken=shanghai(CHECKIN), offset="+08:00", gps=CHECKIN_POINT)).to_json()
    assert verdicts["time"]["tolerance_hours"] == 2
    assert (verdicts["place"]["checkin_limit_km"], verdicts["place"]["site_limit_km"]) == (1, 5)


@pytest.mark.parametrize("minutes, outcome, hours", [
    (119, OK, 2.0), (120, OK, 2.0), (121, MISMATCH, 2.1),
    (-119, OK, 2.0), (-121, MISMATCH, 2.1), (0, OK, 0.0), (600, MISMATCH, 10.0),
])
def test_r8_first_meeting_photo_within_2_hours_of_checkin(minutes, outcome, hours):
    taken = shanghai(CHECKIN, dt.timedelta(minutes=minutes))
    time = check(exif(taken=taken, offset="+08:00")).time
    assert time.outcome == outcome
    assert time.numbers["hours_apart"] == hours
    assert time.numbers["minutes_apart"] == minutes
    assert time.numbers["event"] == "checkin" and time.numbers["basis"] == "exif_offset"
    assert "assumed_zone" not in time.numbers


@pytest.mark.parametrize("minutes, outcome", [(119, OK), (121, MISMATCH), (-119, OK), (-121, MISMATCH)])
def test_r8_last_meeting_photo_within_2_hours_of_checkout(minutes, outcome):
    taken = shanghai(CHECKOUT, dt.timedelta(minutes=minutes))
    time = check(exif(taken=taken, offset="+08:00"), group="last").time
    assert (time.outcome, time.numbers["event"]) == (outcome, "checkout")


def test_r8_last_meeting_photo_is_not_compared_with_the_checkin():
    time = check(exif(taken=shanghai(CHECKIN), offset="+08:00"), group="last").time
    assert time.outcome == MISMATCH
    assert time.numbers["hours_apart"] == 31.5


def test_r8_meeting_photo_before_the_team_signed_cannot_be_checked_yet():
    first = check(exif(taken=shanghai(CHECKIN), offset="+08:00"), checkin_time=None).time
    last = check(exif(taken=shanghai(CHECKOUT), offset="+08:00"), group="last", checkout_time=None).time
    assert (first.outcome, first.why) == (CANNOT_CHECK, "no_checkin_yet")
    assert (last.outcome, last.why) == (CANNOT_CHECK, "no_checkout_yet")


@pytest.mark.parametrize("local, outcome, hours", [
    (dt.datetime(2024, 5, 10, 0, 10), OK, 0.0),  # just after midnight of the first day
    (dt.datetime(2024, 5, 11, 23, 50), OK, 0.0),  # late on the last day
    (dt.datetime(2024, 5, 12, 0, 30), MISMATCH, 0.5),  # the day after
    (dt.datetime(2024, 5, 9, 21, 0), MISMATCH, 3.0),  # the evening before
])
def test_r8_other_photos_fall_within_the_audit_days_in_the_plans_zone(local, outcome, hours):
    time = check(exif(taken=local, offset="+08:00"), group="other").time
    assert (time.outcome, time.numbers["hours_apart"]) == (outcome, hours)
    assert time.numbers["audit_days"] == ["2024-05-10", "2024-05-11"]
    assert time.numbers["event"] == "audit_days"


def test_r8_audit_days_are_the_plans_days_not_utc_days():
    # 12 May 01:00 in Shanghai is still 11 May in UTC: outside the audit days all the same.
    time = check(exif(taken=dt.datetime(2024, 5, 11, 17, 0), offset="+00:00"), group="other").time
    assert time.outcome == MISMATCH


def test_r8_without_offset_the_plans_zone_is_assumed_and_said():
    local = shanghai(CHECKIN, dt.timedelta(minutes=10))  # 09:10 on the phone's clock
    assumed = check(exif(taken=local)).time
    assert assumed.outcome == OK
    assert assumed.numbers["basis"] == "assumed_zone"
    assert assumed.numbers["assumed_zone"] == "Asia/Shanghai"
    # The same wall-clock time with an offset of +03:00 is five hours later than the check-in.
    moscow = check(exif(taken=local, offset="+03:00")).time
    assert moscow.outcome == MISMATCH and moscow.numbers["hours_apart"] == 5.2
    assert "assumed_zone" not in moscow.numbers


def test_r8_assumed_zone_follows_the_plan():
    # 09:10 on a phone in Urumqi's plan zone is 03:10 UTC: two hours after a 01:00 UTC check-in.
    time = check(exif(taken=shanghai(CHECKIN, dt.timedelta(minutes=10))), plan_zone="Asia/Urumqi").time
    assert time.numbers["assumed_zone"] == "Asia/Urumqi"
    assert time.outcome == MISMATCH and time.numbers["hours_apart"] == 2.2


def test_r8_a_plan_zone_that_does_not_exist_falls_back_to_shanghai_and_says_so():
    time = check(exif(taken=shanghai(CHECKIN)), plan_zone="Mars/Olympus").time
    assert time.outcome == OK and time.numbers["assumed_zone"] == "Asia/Shanghai"


def test_r8_gps_time_is_a_second_opinion_reported_not_deciding():
    taken = shanghai(CHECKIN, dt.timedelta(minutes=20))
    stale_fix = CHECKIN - dt.timedelta(hours=5)
    time = check(exif(taken=taken, offset="+08:00", gps_time=stale_fix)).time
    assert time.outcome == OK
    assert time.numbers["gps_time_agrees"] is False
    assert time.numbers["gps_time_hours_from_taken"] == 5.4
    agreeing = check(exif(taken=taken, offset="+08:00", gps_time=CHECKIN + dt.timedelta(minutes=19))).time
    assert agreeing.numbers["gps_time_agrees"] is True


def test_r8_gps_time_alone_stands_for_the_time_taken():
    time = check(exif(gps_time=CHECKIN + dt.timedelta(minutes=30))).time
    assert (time.outcome, time.numbers["basis"]) == (OK, "gps_time")


def test_r8_aware_and_naive_utc_times_judge_alike():
    evidence = exif(taken=shanghai(CHECKIN, dt.timedelta(minutes=130)), offset="+08:00")
    naive = check(evidence)
    aware = check(evidence, checkin_time=CHECKIN.replace(tzinfo=UTC).astimezone(SHANGHAI),
                  plan_start=PLAN_START.replace(tzinfo=UTC), plan_end=PLAN_END.replace(tzinfo=UTC))
    assert naive == aware and naive.time.outcome == MISMATCH


def test_r17_photo_of_an_offline_checkin_is_judged_against_the_action():
    # Signed offline at 09:00, the network came back at 12:00: the photo of the meeting,
    # taken at 09:10, corroborates the action, not the receipt.
    action, receipt = CHECKIN, CHECKIN + dt.timedelta(hours=3)
    evidence = exif(taken=shanghai(action, dt.timedelta(minutes=10)), offset="+08:00")
    online_view = check(evidence, checkin_time=receipt).time
    assert online_view.outcome == MISMATCH
    offline = check(evidence, checkin_time=receipt, checkin_device_time=action).time
    assert offline.outcome == OK
    assert offline.numbers["event_sent_later"] is True
    assert offline.numbers["receipt_hours_apart"] == 2.9
    assert offline.numbers["minutes_apart"] == 10


def test_r17_photo_far_from_an_offline_checkout_still_mismatches():
    action = CHECKOUT
    evidence = exif(taken=shanghai(action, dt.timedelta(hours=-6)), offset="+08:00")
    time = check(evidence, group="last", checkout_time=action + dt.timedelta(hours=2), checkout_device_time=action).time
    assert time.outcome == MISMATCH and time.numbers["hours_apart"] == 6.0


# --- place ------------------------------------------------------------------------------------


def place(gps, **overrides):
    return check(exif(taken=shanghai(CHECKIN), offset="+08:00", gps=gps), **overrides).place


def test_r8_photo_within_1_km_of_the_checkin_point():
    far_site = [destination(CHECKIN_POINT, 0, 20_000)]
    verdict = place(destination(CHECKIN_POINT, 45, 990), sites=far_site)
    assert verdict.outcome == OK
    assert (verdict.numbers["reference"], verdict.numbers["km"]) == ("checkin", 0.99)


def test_r8_photo_1_01_km_from_the_checkin_point_and_far_from_the_site():
    far_site = [destination(CHECKIN_POINT, 0, 20_000)]
    verdict = place(destination(CHECKIN_POINT, 45, 1010), sites=far_site)
    assert verdict.outcome == MISMATCH
    assert (verdict.numbers["reference"], verdict.numbers["km"]) == ("checkin", 1.01)
    assert verdict.numbers["km_from_site"] > 19


def test_r8_photo_4_99_km_from_the_site_is_on_site_even_if_far_from_the_checkin():
    checkin_elsewhere = destination(SITE, 270, 8000)
    verdict = place(destination(SITE, 90, 4990), checkin_point=checkin_elsewhere)
    assert verdict.outcome == OK
    assert (verdict.numbers["reference"], verdict.numbers["km"]) == ("site", 4.99)
    assert verdict.numbers["km_from_checkin"] > 12


def test_r8_photo_5_01_km_from_the_site_before_anyone_checked_in():
    verdict = place(destination(SITE, 180, 5010), checkin_point=None)
    assert verdict.outcome == MISMATCH
    assert (verdict.numbers["reference"], verdict.numbers["km"]) == ("site", 5.01)
    assert "km_from_checkin" not in verdict.numbers


def test_r8_place_mismatch_quotes_the_checkin_distance_when_there_is_one():
    gps = destination(SITE, 0, 5010)
    verdict = place(gps, checkin_point=destination(gps, 180, 1010))
    assert verdict.outcome == MISMATCH
    assert verdict.numbers["reference"] == "checkin" and verdict.numbers["km"] == 1.01
    assert verdict.numbers["km_from_site"] == 5.01


def test_r8_several_sites_the_nearest_counts():
    sites = [None, destination(SITE, 0, 50_000), SITE]  # one not located
    verdict = place(destination(SITE, 90, 3000), checkin_point=None, sites=sites)
    assert verdict.outcome == OK and verdict.numbers["site_index"] == 2


def test_r8_nothing_to_compare_a_position_with():
    verdict = place(SITE, checkin_point=None, sites=[None])
    assert (verdict.outcome, verdict.why) == (CANNOT_CHECK, "no_reference")


def test_r8_points_may_come_as_pairs():
    verdict = place(SITE, checkin_point=(CHECKIN_POINT.lat, CHECKIN_POINT.lon), sites=[(SITE.lat, SITE.lon)])
    assert verdict.outcome == OK


# --- no EXIF: neutral, never a mismatch ---------------------------------------------------------


def test_r8_photo_without_exif_cannot_be_checked_and_is_not_suspicious():
    verdicts = check(PhotoEvidence(status=ABSENT, why="no_exif"))
    assert (verdicts.time.outcome, verdicts.time.why) == (CANNOT_CHECK, "no_exif")
    assert (verdicts.place.outcome, verdicts.place.why) == (CANNOT_CHECK, "no_exif")
    assert verdicts.duplicate.outcome == OK


def test_r8_time_without_gps_checks_the_time_only():
    verdicts = check(exif(taken=shanghai(CHECKIN), offset="+08:00"))
    assert verdicts.time.outcome == OK
    assert (verdicts.place.outcome, verdicts.place.why) == (CANNOT_CHECK, "no_gps")


def test_r8_unreadable_fields_say_so():
    broken = PhotoEvidence(taken_at=EvidenceField(UNREADABLE, why="out_of_range"),
                           gps=EvidenceField(UNREADABLE, why="missing_ref"), status=READ)
    verdicts = check(broken)
    assert (verdicts.time.why, verdicts.place.why) == ("time_unreadable", "gps_unreadable")
    whole = check(PhotoEvidence(status=UNREADABLE, why="timeout"))
    assert (whole.time.why, whole.place.why) == ("exif_unreadable", "exif_unreadable")
    assert check(exif(gps=SITE)).time.why == "no_exif_time"


# --- duplicate ----------------------------------------------------------------------------------


def test_r8_same_photo_in_another_plan_is_flagged_with_its_plan_numbers():
    verdict = check(exif(), duplicate_plan_nos=["P-2024-7", "P-2024-3", "P-2024-7"]).duplicate
    assert verdict.outcome == MISMATCH
    assert verdict.numbers == {"plan_nos": ["P-2024-3", "P-2024-7"], "count": 2}
    assert check(exif(), duplicate_plan_nos=[]).duplicate.outcome == OK


# --- storage and summary ------------------------------------------------------------------------


def test_r8_verdicts_store_as_json_and_read_back():
    verdicts = check(exif(taken=shanghai(CHECKIN), gps=destination(SITE, 0, 7000)), duplicate_plan_nos=["X"])
    stored = json.loads(json.dumps(verdicts.to_json()))
    assert Verdicts.from_json(stored) == verdicts
    assert Verdicts.from_json(None).time.outcome == CANNOT_CHECK
    assert Verdicts.from_json({"time": {"outcome": "maybe"}}).time.why == "not_judged"


def test_r8_summary_counts_for_the_plain_words_line():
    on_time = exif(taken=shanghai(CHECKIN, dt.timedelta(minutes=5)), offset="+08:00", gps=CHECKIN_POINT)
    no_gps = exif(taken=shanghai(CHECKIN, dt.timedelta(minutes=9)))
    late = exif(taken=shanghai(CHECKIN, dt.timedelta(hours=5)), offset="+08:00")
    nothing = PhotoEvidence(status=ABSENT, why="no_exif")
    stored = [check(e).to_json() for e in (on_time, no_gps, late)] + [check(nothing)]
    counts = summary(stored)
    assert counts["photos"] == 4
    assert counts["time"] == {"ok": 2, "mismatch": 1, "cannot_check": 1, "reasons": {"no_exif": 1}, "assumed_zone": 1}
    assert counts["place"] == {"ok": 1, "mismatch": 0, "cannot_check": 3, "reasons": {"no_gps": 2, "no_exif": 1}}
    assert summary([])["photos"] == 0


# --- real photos through both halves ------------------------------------------------------------


def test_r8_real_android_photo_agrees_with_a_checkin_where_it_was_taken():
    evidence = read_exif((PHOTOS / "HMD_Nokia_8.3_5G.jpg").read_bytes())  # 14:12:31 +03:00
    verdicts = judge(
        evidence, group="first", plan_start=dt.datetime(2022, 8, 14, 5), plan_end=dt.datetime(2022, 8, 14, 15),
        plan_zone="Europe/Helsinki", checkin_time=dt.datetime(2022, 8, 14, 10, 0), checkout_time=None,
        checkin_point=Point(60.1470, 24.9070), sites=[Point(60.15, 24.91)], duplicate_plan_nos=(),
    )
    assert verdicts.time.outcome == OK and verdicts.time.numbers["minutes_apart"] == 73
    assert verdicts.time.numbers["gps_time_agrees"] is True
    assert verdicts.place.outcome == OK and verdicts.place.numbers["km"] < 0.1


def test_r8_real_heic_west_longitude_sign_decides_the_place():
    evidence = read_exif((PHOTOS / "IMG_5195.HEIC").read_bytes())
    common = dict(group="other", plan_start=dt.datetime(2021, 4, 11, 12), plan_end=dt.datetime(2021, 4, 12, 0),
                  plan_zone="America/Chicago", checkin_time=None, checkout_time=None, checkin_point=None,
                  duplicate_plan_nos=())
    assert judge(evidence, sites=[Point(39.05, -94.29)], **common).place.outcome == OK
    mirrored = judge(evidence, sites=[Point(39.05, 94.29)], **common).place
    assert mirrored.outcome == MISMATCH and mirrored.numbers["km"] > 10_000
    assert judge(evidence, sites=[], **common).time.outcome == OK


def test_r8_real_photo_without_gps_is_marked_cannot_check():
    evidence = read_exif((PHOTOS / "jolla.jpg").read_bytes())
    verdicts = judge(evidence, group="other", plan_start=dt.datetime(2014, 9, 21), plan_end=dt.datetime(2014, 9, 21, 9),
                     plan_zone="Europe/Helsinki", checkin_time=None, checkout_time=None, checkin_point=None,
                     sites=[SITE], duplicate_plan_nos=())
    assert (verdicts.place.outcome, verdicts.place.why) == (CANNOT_CHECK, "no_gps")
    assert verdicts.time.outcome == OK and verdicts.time.numbers["assumed_zone"] == "Europe/Helsinki"


def test_r8_evidence_and_checks_are_pure_domain_code():
    import ast

    for module in (photo_checks.__file__, read_exif.__code__.co_filename):
        tree = ast.parse(Path(module).read_text())
        imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {name for name in imported if name.split(".")[0] in ("flask", "flask_sqlalchemy", "sqlalchemy")}
        assert not {name for name in imported if name.startswith("checkin_pwa.") and ".domain." not in name}
