"""services.checkin against a real (migrated SQLite) database, with "now" chosen by the test.

A 20-22 November 2026 audit in Shanghai, first meeting 09:00, last meeting ends 17:00;
the phone stands on the site unless a test moves it.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from checkin_pwa.domain import geo
from checkin_pwa.extensions import db
from checkin_pwa.models import CheckEvent
from checkin_pwa.services import checkin, plan_access

from . import factories as f

pytestmark = pytest.mark.usefixtures("app_context")

SHANGHAI = ZoneInfo("Asia/Shanghai")
UTC = dt.timezone.utc
SITE = geo.Point(*f.SITE)


def sh(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


START, END = sh(20, 9), sh(22, 17)
NOW = sh(20, 9, 10)  # day one, just after the first meeting began
LAST_DAY = sh(22, 16, 30)


def in_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC)


def ms(moment: dt.datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def form(device: geo.Point = SITE, pin: geo.Point | None = None, at: dt.datetime = NOW, **extra) -> dict:
    """What the check page posts: a fresh 12 m fix taken at `at`, sent at `at`."""
    pin = pin or device
    return {"device_lat": repr(device.lat), "device_lon": repr(device.lon), "device_accuracy": "12",
            "device_position_time": ms(at), "device_time": ms(at),
            "lat": repr(pin.lat), "lon": repr(pin.lon), **extra}


def audit(team, **kwargs):
    kwargs.setdefault("start", START)
    kwargs.setdefault("end", END)
    return f.plan(team, **kwargs)


def events(plan_id: int | None = None) -> list[CheckEvent]:
    query = select(CheckEvent).order_by(CheckEvent.id)
    if plan_id is not None:
        query = query.where(CheckEvent.plan_id == plan_id)
    return list(db.session.scalars(query))


def event_count() -> int:
    return db.session.scalar(select(func.count()).select_from(CheckEvent))


def codes(event: CheckEvent) -> set[str]:
    return {flag["code"] for flag in event.flags}


def flag(event: CheckEvent, code: str) -> dict:
    return next(item for item in event.flags if item["code"] == code)


@pytest.fixture
def team():
    leader, member = f.auditor(name="张三"), f.auditor(name="李四")
    return leader, member


# --- R2 ------------------------------------------------------------------------------------

def test_r2_today_uses_the_plans_own_zone_at_midnight(app, team):
    leader, _ = team
    ended_last_night = audit([leader], start=sh(19, 8), end=sh(19, 23, 50))
    starts_after_midnight = audit([leader], start=sh(20, 0, 10), end=sh(20, 18))
    # 00:30 in Shanghai is still the 19th in UTC: a UTC calendar would list the wrong plan.
    now = sh(20, 0, 30)
    assert now.astimezone(UTC).day == 19
    listed = [card.plan.id for card in checkin.today_for(leader, now)]
    assert listed == [starts_after_midnight.id]
    assert ended_last_night.id not in listed


def test_r2_today_follows_another_zones_calendar(app, team):
    leader, _ = team
    berlin = audit([leader], start=dt.datetime(2026, 11, 20, 9, tzinfo=ZoneInfo("Europe/Berlin")),
                   end=dt.datetime(2026, 11, 20, 17, tzinfo=ZoneInfo("Europe/Berlin")))
    berlin.timezone = "Europe/Berlin"
    db.session.flush()
    assert checkin.today_for(leader, sh(20, 6, 30)) == []  # 23:30 on the 19th in Berlin
    assert [c.plan.id for c in checkin.today_for(leader, sh(20, 7, 30))] == [berlin.id]


def test_r2_remote_plan_is_listed_as_needing_no_check_in(app, team):
    leader, _ = team
    audit([leader], mode="remote")
    (card,) = checkin.today_for(leader, NOW)
    assert card.state == "remote" and not card.needs_check_in
    assert card.check_in.reason == "remote_plan" and card.check_out.reason == "remote_plan"


def test_r2_cards_are_ordered_by_start_and_cancelled_plans_are_no_task(app, team):
    leader, _ = team
    later = audit([leader], start=sh(20, 13))
    earlier = audit([leader], start=sh(20, 8))
    audit([leader], status="cancelled")
    assert [c.plan.id for c in checkin.today_for(leader, NOW)] == [earlier.id, later.id]


# --- R3 / R4 ----------------------------------------------------------------------------------

def test_r3_after_one_member_signs_every_member_sees_it(app, team):
    leader, member = team
    plan = audit([leader, member])
    assert isinstance(checkin.check(leader, plan.id, "in", form(), NOW), checkin.Signed)
    (card,) = checkin.today_for(member, NOW)
    assert card.state == "checked_in"
    assert card.checked_in.by == "张三"
    assert card.checked_in.at == NOW.astimezone(SHANGHAI)
    assert card.check_in.reason == "already_checked_in"
    assert card.check_in.params == {"by": "张三", "at": "2026-11-20 09:10"}


def test_r3_check_out_by_a_different_member(app, team):
    leader, member = team
    plan = audit([leader, member])
    checkin.check(leader, plan.id, "in", form(), NOW)
    outcome = checkin.check(member, plan.id, "out", form(at=LAST_DAY), LAST_DAY)
    assert isinstance(outcome, checkin.Signed)
    check_in, check_out = events(plan.id)
    assert (check_in.signer_id, check_out.signer_id) == (leader.id, member.id)
    (card,) = checkin.today_for(leader, LAST_DAY)
    assert card.state == "checked_out" and card.checked_out.by == "李四"


def test_r4_server_clock_is_the_time_of_record_and_the_phone_clock_is_kept(app, team):
    leader, _ = team
    plan = audit([leader])
    phone_clock = NOW - dt.timedelta(days=3)
    checkin.check(leader, plan.id, "in", form(at=phone_clock), NOW)
    (event,) = events(plan.id)
    assert event.server_time == in_utc(NOW)
    assert event.device_time == in_utc(phone_clock)
    assert event.clock_skew_s == pytest.approx(-3 * 86400)
    assert flag(event, "clock_skew")["skew_s"] == -3 * 86400
    # The position was taken at the same phone-clock moment: not stale.
    assert "stale_position" not in codes(event)


@pytest.mark.parametrize("clock", ["", "abc", "NaN", "Infinity", "-Infinity", "1e300", "-5", "9" * 40, "0x10"])
def test_r4_a_bad_phone_clock_is_kept_as_unknown_never_an_error(app, team, clock):
    leader, _ = team
    plan = audit([leader])
    outcome = checkin.check(leader, plan.id, "in", {**form(), "device_time": clock, "device_position_time": clock}, NOW)
    assert isinstance(outcome, checkin.Signed)
    (event,) = events(plan.id)
    assert event.device_time is None and event.clock_skew_s is None and event.device_position_time is None
    assert event.server_time == in_utc(NOW)


def test_r4_stale_position_and_poor_accuracy_are_flagged_with_their_numbers(app, team):
    leader, _ = team
    plan = audit([leader])
    data = {**form(), "device_position_time": ms(NOW - dt.timedelta(minutes=3)), "device_accuracy": "850"}
    checkin.check(leader, plan.id, "in", data, NOW)
    (event,) = events(plan.id)
    assert flag(event, "stale_position")["age_s"] == 180
    assert flag(event, "poor_accuracy")["accuracy_m"] == 850
    assert event.device_accuracy_m == 850


# --- R5 ------------------------------------------------------------------------------------

def test_r5_pin_moved_1_99_km_is_accepted_and_recorded(app, team):
    leader, _ = team
    plan = audit([leader])
    pin = geo.destination(SITE, 90, 1990)
    outcome = checkin.check(leader, plan.id, "in", form(pin=pin), NOW)
    assert isinstance(outcome, checkin.Signed)
    (event,) = events(plan.id)
    assert (event.device_lat, event.device_lon) == (SITE.lat, SITE.lon)
    assert (event.chosen_lat, event.chosen_lon) == (pin.lat, pin.lon)
    assert event.pin_offset_m == pytest.approx(1990, abs=0.01)
    assert flag(event, "pin_moved")["offset_m"] == pytest.approx(1990, abs=0.1)
    assert event.nearest_site_distance_m == pytest.approx(1990, abs=0.01)


@pytest.mark.parametrize("metres,azimuth", [(2010, 90), (2010, 0), (2500, 225)])
def test_r5_pin_beyond_2_km_is_refused_and_nothing_written(app, team, metres, azimuth):
    leader, _ = team
    plan = audit([leader])
    outcome = checkin.check(leader, plan.id, "in", form(pin=geo.destination(SITE, azimuth, metres), confirm="1"), NOW)
    assert isinstance(outcome, checkin.Refused)
    assert outcome.reason == "pin_too_far"
    assert outcome.params["km"] == round(metres / 1000, 2)
    assert event_count() == 0


def test_r5_4_99_km_from_the_site_needs_no_confirmation(app, team):
    leader, _ = team
    plan = audit([leader])
    device = geo.destination(SITE, 45, 4990)
    outcome = checkin.check(leader, plan.id, "in", form(device=device), NOW)
    assert isinstance(outcome, checkin.Signed)
    (event,) = events(plan.id)
    assert event.nearest_site_distance_m == pytest.approx(4990, abs=0.01)
    assert "deviation_over_5km" not in codes(event) and not event.warning_confirmed


def test_r5_5_01_km_from_the_site_needs_confirmation_then_keeps_the_deviation(app, team):
    leader, _ = team
    plan = audit([leader])
    device = geo.destination(SITE, 45, 5010)
    outcome = checkin.check(leader, plan.id, "in", form(device=device), NOW)
    assert isinstance(outcome, checkin.NeedsConfirmation)
    assert [w.distance_km for w in outcome.warnings] == [5.0]
    assert event_count() == 0

    outcome = checkin.check(leader, plan.id, "in", form(device=device, confirm="1"), NOW)
    assert isinstance(outcome, checkin.Signed)
    (event,) = events(plan.id)
    assert event.warning_confirmed
    assert flag(event, "deviation_over_5km") == {"code": "deviation_over_5km", "distance_m": pytest.approx(5010, abs=0.1),
                                                  "limit_m": 5000.0}


def test_r5_the_chosen_point_not_the_device_decides_the_deviation(app, team):
    leader, _ = team
    plan = audit([leader])
    device = geo.destination(SITE, 0, 6000)
    pin = geo.destination(SITE, 0, 4500)  # moved 1.5 km back towards the site
    outcome = checkin.check(leader, plan.id, "in", form(device=device, pin=pin), NOW)
    assert isinstance(outcome, checkin.Signed)
    assert events(plan.id)[0].nearest_site_distance_m == pytest.approx(4500, abs=0.01)


def test_r5_site_not_located_warns_then_is_recorded(app, team):
    leader, _ = team
    plan = audit([leader], sites=[None])
    outcome = checkin.check(leader, plan.id, "in", form(), NOW)
    assert isinstance(outcome, checkin.NeedsConfirmation)
    assert outcome.warnings[0].not_located
    assert event_count() == 0
    checkin.check(leader, plan.id, "in", form(confirm="1"), NOW)
    (event,) = events(plan.id)
    assert event.site_not_located and event.nearest_site_id is None and event.warning_confirmed
    assert "site_not_located" in codes(event)


@pytest.mark.parametrize("changes,reason", [
    ({"device_lat": "NaN"}, "position_invalid"),
    ({"device_lon": "inf"}, "position_invalid"),
    ({"device_lat": "91"}, "position_invalid"),
    ({"device_lon": "-180.5"}, "position_invalid"),
    ({"device_lat": "0", "device_lon": "0"}, "position_invalid"),
    ({"device_lat": "北纬41度"}, "position_invalid"),
    ({"device_lat": ""}, "position_missing"),
    ({"device_lon": None}, "position_missing"),
    ({"lat": "NaN"}, "pin_invalid"),
    ({"lat": "41.1", "lon": ""}, "pin_invalid"),
    ({"lat": "0", "lon": "0"}, "pin_invalid"),
    ({"device_accuracy": "-3"}, "accuracy_invalid"),
    ({"device_accuracy": "NaN"}, "accuracy_invalid"),
    ({"device_accuracy": "twelve"}, "accuracy_invalid"),
])
def test_bad_positions_are_refused_with_a_reason_and_nothing_written(app, team, changes, reason):
    leader, _ = team
    plan = audit([leader])
    data = {k: v for k, v in {**form(), **changes}.items() if v is not None}
    outcome = checkin.check(leader, plan.id, "in", data, NOW)
    assert isinstance(outcome, checkin.Refused)
    assert outcome.reason == reason
    assert event_count() == 0


def test_missing_pin_means_the_pin_was_not_moved(app, team):
    leader, _ = team
    plan = audit([leader])
    data = {k: v for k, v in form().items() if k not in ("lat", "lon")}
    checkin.check(leader, plan.id, "in", data, NOW)
    (event,) = events(plan.id)
    assert (event.chosen_lat, event.chosen_lon, event.pin_offset_m) == (SITE.lat, SITE.lon, 0)


# --- R6 ------------------------------------------------------------------------------------

def test_r6_check_out_59_minutes_after_check_in_is_refused_61_allowed(app, team):
    leader, _ = team
    plan = audit([leader])
    checked_in_at = LAST_DAY - dt.timedelta(minutes=59)
    checkin.check(leader, plan.id, "in", form(at=checked_in_at), checked_in_at)
    outcome = checkin.check(leader, plan.id, "out", form(at=LAST_DAY), LAST_DAY)
    assert isinstance(outcome, checkin.Refused)
    assert (outcome.reason, outcome.params["minutes"]) == ("too_soon_after_check_in", 1)
    assert len(events(plan.id)) == 1

    two_minutes_later = LAST_DAY + dt.timedelta(minutes=2)
    outcome = checkin.check(leader, plan.id, "out", form(at=two_minutes_later), two_minutes_later)
    assert isinstance(outcome, checkin.Signed)
    assert [e.kind for e in events(plan.id)] == ["in", "out"]


def test_r6_check_out_before_the_last_day_is_refused(app, team):
    leader, _ = team
    plan = audit([leader])
    checkin.check(leader, plan.id, "in", form(), NOW)
    day_before = sh(21, 17, 30)
    outcome = checkin.check(leader, plan.id, "out", form(at=day_before), day_before)
    assert (outcome.reason, outcome.params) == ("not_last_day", {"last_day": "2026-11-22"})
    assert len(events(plan.id)) == 1


def test_r6_check_out_before_check_in_and_a_second_check_out_are_refused(app, team):
    leader, member = team
    plan = audit([leader, member])
    assert checkin.check(leader, plan.id, "out", form(at=LAST_DAY), LAST_DAY).reason == "not_checked_in"
    checkin.check(leader, plan.id, "in", form(), NOW)
    checkin.check(leader, plan.id, "out", form(at=LAST_DAY), LAST_DAY)
    later = LAST_DAY + dt.timedelta(minutes=5)
    outcome = checkin.check(member, plan.id, "out", form(at=later), later)
    assert (outcome.reason, outcome.params["by"]) == ("already_checked_out", "张三")
    assert [e.kind for e in events(plan.id)] == ["in", "out"]


def test_r6_a_second_check_in_is_refused_with_who_signed(app, team):
    leader, member = team
    plan = audit([leader, member])
    checkin.check(leader, plan.id, "in", form(), NOW)
    outcome = checkin.check(member, plan.id, "in", form(), NOW)
    assert outcome.reason == "already_checked_in" and outcome.params["by"] == "张三"
    assert len(events(plan.id)) == 1


def test_r6_late_check_in_is_recorded_not_refused(app, team):
    leader, _ = team
    plan = audit([leader])
    late = START + dt.timedelta(minutes=31)
    assert isinstance(checkin.check(leader, plan.id, "in", form(at=late), late), checkin.Signed)
    assert flag(events(plan.id)[0], "late_check_in") == {"code": "late_check_in", "minutes": 31}


def test_r6_check_in_after_the_audit_ended_is_refused(app, team):
    leader, _ = team
    plan = audit([leader])
    after = END + dt.timedelta(minutes=1)
    assert checkin.check(leader, plan.id, "in", form(at=after), after).reason == "audit_ended"
    assert event_count() == 0


# --- R7 ------------------------------------------------------------------------------------

@pytest.fixture
def three_plans(team):
    """QMS, EMS, OHSMS of one enterprise on the same days; the leader is on all three."""
    leader, member = team
    company = f.enterprise("吉林省某某股份有限公司")
    qms = audit([leader, member], company=company, code="ISO9001")
    ems = audit([leader], company=company, code="ISO14001")
    ohsms = audit([leader, member], company=company, code="ISO45001")
    return qms, ems, ohsms


def test_r7_together_signs_every_plan_whose_team_includes_the_signer(app, team, three_plans):
    leader, _ = team
    qms, ems, ohsms = three_plans
    outcome = checkin.check(leader, qms.id, "in", form(together="on"), NOW)
    assert [e.plan_id for e in outcome.events] == [qms.id, ems.id, ohsms.id]
    assert outcome.skipped == []
    written = events()
    assert len(written) == 3
    assert len({e.group_key for e in written}) == 1 and written[0].group_key
    assert all(e.signer_id == leader.id and e.server_time == in_utc(NOW) for e in written)


def test_r7_together_skips_a_plan_without_the_signer_and_says_why_by_project_only(app, team, three_plans):
    _, member = team
    qms, ems, ohsms = three_plans
    outcome = checkin.check(member, ohsms.id, "in", form(together="on"), NOW)
    assert [e.plan_id for e in outcome.events] == [ohsms.id, qms.id]
    assert outcome.skipped == [checkin.Skipped("ISO14001", True, "not_on_team", {})]
    assert {e.plan_id for e in events()} == {qms.id, ohsms.id}


def test_r7_together_skips_a_plan_already_signed_by_someone_else(app, team, three_plans):
    leader, member = team
    qms, ems, ohsms = three_plans
    checkin.check(member, qms.id, "in", form(), NOW)
    outcome = checkin.check(leader, ems.id, "in", form(together="on"), NOW)
    assert [e.plan_id for e in outcome.events] == [ems.id, ohsms.id]
    (skipped,) = outcome.skipped
    assert (skipped.project, skipped.reason, skipped.params["by"]) == ("ISO9001", "already_checked_in", "李四")


def test_r7_unticked_signs_only_this_plan(app, team, three_plans):
    leader, _ = team
    qms, ems, ohsms = three_plans
    outcome = checkin.check(leader, qms.id, "in", form(), NOW)
    assert [e.plan_id for e in outcome.events] == [qms.id]
    assert events()[0].group_key is None
    assert [c.state for c in checkin.today_for(leader, NOW)] == ["checked_in", "not_checked_in", "not_checked_in"]


def test_r7_check_out_together(app, team, three_plans):
    leader, member = team
    qms, ems, ohsms = three_plans
    checkin.check(leader, qms.id, "in", form(together="on"), NOW)
    outcome = checkin.check(member, qms.id, "out", form(at=LAST_DAY, together="on"), LAST_DAY)
    assert [e.plan_id for e in outcome.events] == [qms.id, ohsms.id]
    assert [(s.project, s.reason) for s in outcome.skipped] == [("ISO14001", "not_on_team")]


def test_r7_others_count_every_same_day_plan_but_show_only_the_signers_in_full(app, team, three_plans):
    _, member = team
    qms, ems, ohsms = three_plans
    company = qms.enterprise
    audit([member], company=company, code="ISO27001", mode="remote")  # needs no signing
    audit([member], company=company, start=sh(25, 9), end=sh(26, 17))  # another week
    audit([member], code="ISO9001")  # another enterprise
    others = checkin.others_for_together(member, qms, NOW)
    assert [(o.project, o.on_team) for o in others] == [("ISO14001", False), ("ISO45001", True)]
    assert others[0].card is None  # R16: nothing but the project of a plan the member is not on
    assert others[1].card.plan.id == ohsms.id


# --- R15 -----------------------------------------------------------------------------------

def test_r15_the_nearest_of_several_sites_counts(app, team):
    leader, _ = team
    far = geo.destination(SITE, 0, 30000)
    near = geo.destination(SITE, 90, 1200)
    plan = audit([leader], sites=[(far.lat, far.lon), None, (SITE.lat, SITE.lon), (near.lat, near.lon)])
    device = geo.destination(near, 90, 300)
    assert isinstance(checkin.check(leader, plan.id, "in", form(device=device), NOW), checkin.Signed)
    (event,) = events(plan.id)
    assert event.nearest_site_id == plan.sites[3].id
    assert event.nearest_site_distance_m == pytest.approx(300, abs=0.01)
    assert not event.site_not_located and event.flags == []


# --- R16 -----------------------------------------------------------------------------------

def test_r16_another_teams_plan_is_not_found_and_nothing_is_written(app, team):
    leader, member = team
    theirs = audit([member])
    assert plan_access.visible_plan(leader, theirs.id) is None
    assert plan_access.visible_plan(leader, 999999) is None
    for kind in ("in", "out"):
        assert checkin.check(leader, theirs.id, kind, form(), NOW).not_found
    assert checkin.check(leader, theirs.id, "sideways", form(), NOW).not_found
    assert checkin.today_for(leader, NOW) == []
    assert event_count() == 0


# --- two members at once, and a request sent twice -----------------------------------------

def test_two_members_at_once_the_second_is_told_who_signed_first(app, team):
    leader, member = team
    plan = audit([leader, member])
    db.session.commit()
    assert plan_access.visible_plan(member, plan.id).events == []  # the member's view: unsigned
    # The leader's check-in commits in between, on another connection.
    with db.engine.begin() as connection:
        connection.execute(insert(CheckEvent).values(
            plan_id=plan.id, kind="in", signer_id=leader.id, counts_for_team=True,
            server_time=in_utc(NOW), device_lat=SITE.lat, device_lon=SITE.lon,
            chosen_lat=SITE.lat, chosen_lon=SITE.lon, pin_offset_m=0.0, flags=[],
            site_not_located=False, warning_confirmed=False, queued_offline=False))
    outcome = checkin.check(member, plan.id, "in", form(), NOW)
    assert isinstance(outcome, checkin.Refused)
    assert (outcome.reason, outcome.params["by"]) == ("already_checked_in", "张三")
    assert [e.signer_id for e in events(plan.id)] == [leader.id]


def test_the_same_action_sent_twice_is_written_once(app, team):
    leader, _ = team
    plan = audit([leader])
    data = form(idempotency_key="2f1c0a52-7d0e-4c8e-9a57-0f6f0c1d2e3f")
    first = checkin.check(leader, plan.id, "in", data, NOW)
    again = checkin.check(leader, plan.id, "in", data, NOW + dt.timedelta(seconds=30))
    assert isinstance(again, checkin.Signed)
    assert [e.id for e in again.events] == [e.id for e in first.events]
    assert len(events(plan.id)) == 1


def test_a_key_reused_on_another_plan_does_not_stand_for_it(app, team):
    leader, _ = team
    first, second = audit([leader]), audit([leader], company=f.enterprise("另一家企业"))
    data = form(idempotency_key="same-key")
    checkin.check(leader, first.id, "in", data, NOW)
    outcome = checkin.check(leader, second.id, "in", data, NOW)
    assert [e.plan_id for e in outcome.events] == [second.id]
    assert len(events()) == 2
