"""R2-R7 as pure functions: fixed aware datetimes in Asia/Shanghai, never the real clock."""
from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from checkin_pwa.domain import rules
from checkin_pwa.domain.rules import PlanFacts

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.timezone.utc

LEADER, MEMBER, EXPERT, INTERN, OUTSIDER = 1, 2, 3, 4, 99
TEAM = frozenset({LEADER, MEMBER, EXPERT, INTERN})
ENTERPRISE = 500


def sh(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    """A moment in November 2026, Shanghai time."""
    return dt.datetime(2026, 11, day, hour, minute, second, tzinfo=SHANGHAI)


def plan(**changes) -> PlanFacts:
    """A three-day on-site audit, 20 Nov 09:00 to 22 Nov 17:00 Shanghai time, not yet signed."""
    facts = PlanFacts(
        plan_id=1,
        enterprise_id=ENTERPRISE,
        start=sh(20, 9),
        end=sh(22, 17),
        timezone="Asia/Shanghai",
        mode="onsite",
        status="valid",
        team=TEAM,
    )
    return dataclasses.replace(facts, **changes)


def checked_in(at: dt.datetime | None = None, **changes) -> PlanFacts:
    return plan(checked_in_at=at or sh(20, 9, 5), **changes)


# --- R2: today's tasks ------------------------------------------------------------------

@pytest.mark.parametrize("now", [sh(20, 0, 0), sh(20, 8), sh(21, 12), sh(22, 23, 59)])
def test_r2_plan_is_todays_task_on_every_day_of_the_audit(now):
    assert rules.is_today_task(plan(), now)


@pytest.mark.parametrize("now", [sh(19, 23, 59), sh(23, 0, 0), sh(30, 12)])
def test_r2_plan_is_not_a_task_before_or_after_its_days(now):
    assert not rules.is_today_task(plan(), now)


def test_r2_plan_ending_at_2359_is_not_a_task_one_minute_after_shanghai_midnight():
    one_day = plan(start=sh(21, 9), end=sh(21, 23, 59))
    assert rules.is_today_task(one_day, sh(21, 23, 58))
    assert not rules.is_today_task(one_day, sh(22, 0, 1))
    # The same instant given in UTC is still 21 Nov there: the plan's own zone decides.
    same_instant_in_utc = sh(22, 0, 1).astimezone(UTC)
    assert same_instant_in_utc.date() == dt.date(2026, 11, 21)
    assert not rules.is_today_task(one_day, same_instant_in_utc)


def test_r2_plan_in_another_zone_follows_that_zones_calendar():
    # An audit in Germany on 22 Nov, local time (CET, UTC+1: seven hours behind Shanghai).
    berlin_day = plan(
        start=dt.datetime(2026, 11, 22, 9, tzinfo=BERLIN),
        end=dt.datetime(2026, 11, 22, 17, tzinfo=BERLIN),
        timezone="Europe/Berlin",
    )
    # 06:30 on 22 Nov in Shanghai is still 23:30 on 21 Nov in Berlin: not yet today.
    assert not rules.is_today_task(berlin_day, sh(22, 6, 30))
    # 07:30 in Shanghai is 00:30 on 22 Nov in Berlin: today.
    assert rules.is_today_task(berlin_day, sh(22, 7, 30))
    # 06:30 on 23 Nov in Shanghai is 23:30 on 22 Nov in Berlin: still today.
    assert rules.is_today_task(berlin_day, sh(23, 6, 30))
    assert not rules.is_today_task(berlin_day, sh(23, 7, 30))


@pytest.mark.parametrize("mode", ["onsite", "combined"])
def test_r2_onsite_and_combined_plans_need_check_in(mode):
    assert plan(mode=mode).needs_check_in


def test_r2_remote_plans_need_no_check_in():
    remote = plan(mode="remote")
    assert not remote.needs_check_in
    assert rules.team_state(remote) == "remote"
    refused = rules.may_check_in(remote, LEADER, sh(20, 9))
    assert not refused and refused.reason == "remote_plan"
    refused = rules.may_check_out(dataclasses.replace(remote, checked_in_at=sh(20, 9)), LEADER, sh(22, 17))
    assert not refused and refused.reason == "remote_plan"


def test_r2_cancelled_plans_need_no_check_in():
    cancelled = plan(status="cancelled")
    assert not cancelled.needs_check_in
    assert rules.team_state(cancelled) == "cancelled"
    refused = rules.may_check_in(cancelled, LEADER, sh(20, 9))
    assert not refused and refused.reason == "plan_cancelled"
    refused = rules.may_check_out(checked_in(status="cancelled"), LEADER, sh(22, 17))
    assert not refused and refused.reason == "plan_cancelled"


# --- R3: the team signs, not the person -----------------------------------------------

@pytest.mark.parametrize("member", sorted(TEAM))
def test_r3_any_member_of_the_team_may_check_in_for_it(member):
    decision = rules.may_check_in(plan(), member, sh(20, 9))
    assert decision and decision.reason == "ok"


def test_r3_someone_outside_the_team_may_not_sign():
    assert rules.may_check_in(plan(), OUTSIDER, sh(20, 9)).reason == "not_on_team"
    assert rules.may_check_out(checked_in(), OUTSIDER, sh(22, 17)).reason == "not_on_team"


def test_r3_check_in_and_check_out_may_be_done_by_different_members():
    # The leader checked in on the first day; the technical expert checks out.
    decision = rules.may_check_out(checked_in(sh(20, 9, 5)), EXPERT, sh(22, 17))
    assert decision and decision.reason == "ok"


def test_r3_every_member_sees_the_teams_state():
    assert rules.team_state(plan()) == "not_checked_in"
    assert rules.team_state(checked_in()) == "checked_in"
    assert rules.team_state(checked_in(checked_out_at=sh(22, 17, 5))) == "checked_out"
    assert rules.team_state(plan(mode="remote")) == "remote"
    assert rules.team_state(plan(status="cancelled")) == "cancelled"


# --- R4: two events per audit, once each per team -------------------------------------

def test_r4_a_second_check_in_by_another_member_is_refused():
    decision = rules.may_check_in(checked_in(), MEMBER, sh(21, 9))
    assert not decision and decision.reason == "already_checked_in"


def test_r4_decision_is_falsy_when_refused_and_truthy_when_allowed():
    assert bool(rules.Decision(True, "ok")) is True
    assert bool(rules.Decision(False, "not_on_team")) is False


# --- R6: time -----------------------------------------------------------------------------

@pytest.mark.parametrize("now", [sh(20, 7), sh(20, 9), sh(21, 15), sh(22, 16, 59), sh(22, 17)])
def test_r6_check_in_allowed_on_any_day_of_the_audit_until_it_ends(now):
    assert rules.may_check_in(plan(), LEADER, now)


def test_r6_check_in_refused_before_the_first_day():
    decision = rules.may_check_in(plan(), LEADER, sh(19, 23, 59))
    assert not decision and decision.reason == "not_started"
    assert decision.params["first_day"] == dt.date(2026, 11, 20)


@pytest.mark.parametrize("now", [sh(22, 17, 0, 1), sh(22, 17, 1), sh(23, 9)])
def test_r6_check_in_refused_after_the_audit_ended(now):
    decision = rules.may_check_in(plan(), LEADER, now)
    assert not decision and decision.reason == "audit_ended"


def test_r6_check_out_refused_59_minutes_after_check_in_with_1_minute_left():
    # A one-day audit: checked in at 09:00, trying to leave at 09:59.
    one_day = plan(start=sh(22, 9), end=sh(22, 17), checked_in_at=sh(22, 9))
    decision = rules.may_check_out(one_day, MEMBER, sh(22, 9, 59))
    assert not decision
    assert decision.reason == "too_soon_after_check_in"
    assert decision.params["minutes"] == 1
    assert decision.params["ready_at"] == sh(22, 10)


def test_r6_check_out_minutes_left_round_up():
    one_day = plan(start=sh(22, 9), end=sh(22, 17), checked_in_at=sh(22, 9))
    assert rules.may_check_out(one_day, MEMBER, sh(22, 9, 59, 30)).params["minutes"] == 1
    assert rules.may_check_out(one_day, MEMBER, sh(22, 9, 0)).params["minutes"] == 60
    assert rules.may_check_out(one_day, MEMBER, sh(22, 9, 30, 1)).params["minutes"] == 30


@pytest.mark.parametrize("now", [sh(22, 10, 0), sh(22, 10, 1)])
def test_r6_check_out_allowed_at_60_minutes_or_more_after_check_in(now):
    one_day = plan(start=sh(22, 9), end=sh(22, 17), checked_in_at=sh(22, 9))
    decision = rules.may_check_out(one_day, MEMBER, now)
    assert decision and decision.reason == "ok"


def test_r6_check_out_refused_on_the_day_before_the_last_day():
    decision = rules.may_check_out(checked_in(), LEADER, sh(21, 17))
    assert not decision and decision.reason == "not_last_day"
    assert decision.params["last_day"] == dt.date(2026, 11, 22)


def test_r6_check_out_allowed_on_the_last_day_even_after_the_planned_end():
    decision = rules.may_check_out(checked_in(), LEADER, sh(22, 20))
    assert decision and decision.reason == "ok"


@pytest.mark.parametrize("now", [sh(23, 0, 0), sh(23, 9)])
def test_r6_check_out_refused_after_the_last_day(now):
    decision = rules.may_check_out(checked_in(), LEADER, now)
    assert not decision and decision.reason == "audit_ended"


def test_r6_second_check_out_refused():
    done = checked_in(checked_out_at=sh(22, 17, 5))
    decision = rules.may_check_out(done, MEMBER, sh(22, 17, 30))
    assert not decision and decision.reason == "already_checked_out"


def test_r6_check_out_before_check_in_refused():
    decision = rules.may_check_out(plan(), LEADER, sh(22, 17))
    assert not decision and decision.reason == "not_checked_in"


def test_r6_constants_are_the_bodys_windows():
    assert rules.CHECKOUT_MIN_AFTER_CHECKIN == dt.timedelta(hours=1)
    assert rules.CHECKIN_LATE_AFTER_START == dt.timedelta(minutes=30)
    assert rules.CHECKOUT_LATE_AFTER_END == dt.timedelta(hours=2)
    assert rules.LAST_MEETING_LENGTH == dt.timedelta(hours=1)


def test_r6_check_in_at_start_plus_29_minutes_is_on_time():
    assert rules.timeliness(plan(), "in", sh(20, 9, 29)) is None


def test_r6_check_in_at_start_plus_30_minutes_is_on_time():
    assert rules.timeliness(plan(), "in", sh(20, 9, 30)) is None


def test_r6_check_in_at_start_plus_31_minutes_is_late():
    assert rules.timeliness(plan(), "in", sh(20, 9, 31)) == {"code": "late_check_in", "minutes": 31}


def test_r6_check_in_on_a_later_audit_day_is_late():
    assert rules.timeliness(plan(), "in", sh(21, 9))["code"] == "late_check_in"


def test_r6_check_in_earlier_on_the_first_day_is_on_time_but_the_day_before_is_early():
    assert rules.timeliness(plan(), "in", sh(20, 0, 5)) is None
    assert rules.timeliness(plan(), "in", sh(19, 23, 55)) == {"code": "early_check_in"}


def test_r6_check_out_during_the_last_meeting_and_up_to_2_hours_after_the_end_is_on_time():
    # The last meeting is taken to start one hour before the planned end (16:00).
    for at in (sh(22, 16), sh(22, 17), sh(22, 19)):
        assert rules.timeliness(plan(), "out", at) is None


def test_r6_check_out_before_the_last_meeting_is_early():
    assert rules.timeliness(plan(), "out", sh(22, 15, 59)) == {"code": "early_check_out", "minutes": 1}


def test_r6_check_out_at_end_plus_2_hours_1_minute_is_late():
    assert rules.timeliness(plan(), "out", sh(22, 19, 1)) == {"code": "late_check_out", "minutes": 121}


# --- R7: several plans of one enterprise on one day -----------------------------------

def trio(changes_by_id=None):
    """QMS, EMS and OHSMS audits (ids 1, 2, 3) of one enterprise, same days, same team."""
    changes_by_id = changes_by_id or {}
    return [plan(plan_id=plan_id, **changes_by_id.get(plan_id, {})) for plan_id in (1, 2, 3)]


def test_r7_sign_together_signs_every_plan_when_the_signer_is_on_all_teams():
    qms, ems, ohsms = trio()
    outcome = rules.sign_together(qms, [ems, ohsms], MEMBER, "in", sh(20, 9))
    assert outcome.to_sign == (1, 2, 3)
    assert outcome.skipped == ()


def test_r7_sign_together_skips_plans_without_the_signer():
    qms, ems, ohsms = trio({2: {"team": frozenset({LEADER, 77})}})
    outcome = rules.sign_together(qms, [ems, ohsms], MEMBER, "in", sh(20, 9))
    assert outcome.to_sign == (1, 3)
    assert [(plan_id, d.reason) for plan_id, d in outcome.skipped] == [(2, "not_on_team")]


def test_r7_sign_together_skips_plans_already_checked_in():
    qms, ems, ohsms = trio({3: {"checked_in_at": sh(20, 8, 50)}})
    outcome = rules.sign_together(qms, [ems, ohsms], LEADER, "in", sh(20, 9))
    assert outcome.to_sign == (1, 2)
    assert [(plan_id, d.reason) for plan_id, d in outcome.skipped] == [(3, "already_checked_in")]


def test_r7_sign_together_does_not_sign_the_chosen_plan_twice():
    qms, ems, _ = trio()
    outcome = rules.sign_together(qms, [qms, ems], LEADER, "in", sh(20, 9))
    assert outcome.to_sign == (1, 2)


def test_r7_check_out_together_skips_plans_not_on_their_last_day():
    # QMS and OHSMS end today; the EMS audit goes on until tomorrow.
    qms, ems, ohsms = trio({
        1: {"checked_in_at": sh(20, 9)},
        2: {"checked_in_at": sh(20, 9), "end": sh(23, 12)},
        3: {"checked_in_at": sh(20, 9)},
    })
    outcome = rules.sign_together(qms, [ems, ohsms], EXPERT, "out", sh(22, 17))
    assert outcome.to_sign == (1, 3)
    ((plan_id, decision),) = outcome.skipped
    assert plan_id == 2
    assert decision.reason == "not_last_day"
    assert decision.params["last_day"] == dt.date(2026, 11, 23)


def test_r7_check_out_together_skips_plans_never_checked_in():
    qms, ems, _ = trio({1: {"checked_in_at": sh(20, 9)}})
    outcome = rules.sign_together(qms, [ems], LEADER, "out", sh(22, 17))
    assert outcome.to_sign == (1,)
    assert [(plan_id, d.reason) for plan_id, d in outcome.skipped] == [(2, "not_checked_in")]


def test_r7_other_plans_offered_are_the_same_enterprises_tasks_of_today_that_need_signing():
    chosen = plan(plan_id=1)
    candidates = [
        chosen,
        plan(plan_id=2),  # EMS, same enterprise, same days: offered
        plan(plan_id=3, start=sh(22, 9)),  # starts on the last day of the chosen one
        plan(plan_id=4, enterprise_id=ENTERPRISE + 1),  # another enterprise
        plan(plan_id=5, mode="remote"),  # remote: nothing to sign
        plan(plan_id=6, status="cancelled"),
        plan(plan_id=7, start=sh(25, 9), end=sh(26, 17)),  # another week
    ]
    offered = rules.same_enterprise_same_day(chosen, candidates, sh(21, 10))
    assert [p.plan_id for p in offered] == [2]
    offered_on_last_day = rules.same_enterprise_same_day(chosen, candidates, sh(22, 10))
    assert [p.plan_id for p in offered_on_last_day] == [2, 3]


def test_r7_other_plans_use_each_plans_own_time_zone():
    chosen = plan(plan_id=1, start=sh(22, 9), end=sh(22, 17))
    abroad = plan(
        plan_id=2,
        start=dt.datetime(2026, 11, 22, 9, tzinfo=BERLIN),
        end=dt.datetime(2026, 11, 22, 17, tzinfo=BERLIN),
        timezone="Europe/Berlin",
    )
    # 22 Nov 06:00 in Shanghai is 21 Nov 23:00 in Berlin: not yet that plan's day.
    assert rules.same_enterprise_same_day(chosen, [abroad], sh(22, 6)) == []
    assert rules.same_enterprise_same_day(chosen, [abroad], sh(22, 10)) == [abroad]


# --- R6 on the phone's clock: the facts and constants the page gives the script ----------

def ms(moment: dt.datetime) -> int:
    return round(moment.timestamp() * 1000)


def test_r6_phone_facts_give_the_plans_days_as_instants_of_its_own_zone():
    facts = rules.phone_facts(checked_in(sh(20, 9, 5)))
    assert facts["first_day_start"] == ms(sh(20)) and facts["last_day_start"] == ms(sh(22))
    assert facts["last_day_end"] == ms(sh(23))
    assert facts["end"] == ms(sh(22, 17)) and facts["checked_in_at"] == ms(sh(20, 9, 5))
    assert facts["checked_out_at"] is None and facts["needs_check_in"] is True
    assert (facts["first_day"], facts["last_day"]) == ("2026-11-20", "2026-11-22")


def test_r6_phone_facts_follow_another_zones_calendar():
    berlin = plan(start=dt.datetime(2026, 11, 20, 9, tzinfo=BERLIN), end=dt.datetime(2026, 11, 20, 17, tzinfo=BERLIN),
                  timezone="Europe/Berlin")
    facts = rules.phone_facts(berlin)
    assert facts["first_day_start"] == ms(dt.datetime(2026, 11, 20, tzinfo=BERLIN))
    assert facts["last_day_end"] == ms(dt.datetime(2026, 11, 21, tzinfo=BERLIN))


def test_r6_phone_facts_boundaries_are_where_the_server_rules_change_their_answer():
    facts = rules.phone_facts(checked_in(sh(20, 9, 5)))
    def at(stamp):
        return dt.datetime.fromtimestamp(stamp / 1000, UTC)
    assert rules.may_check_in(plan(), LEADER, at(facts["first_day_start"] - 1)).reason == "not_started"
    assert rules.may_check_in(plan(), LEADER, at(facts["first_day_start"]))
    assert rules.may_check_out(checked_in(), LEADER, at(facts["last_day_start"] - 1)).reason == "not_last_day"
    assert rules.may_check_out(checked_in(), LEADER, at(facts["last_day_start"]))
    assert rules.may_check_out(checked_in(), LEADER, at(facts["last_day_end"])).reason == "audit_ended"


def test_r6_the_phone_constant_is_the_one_the_server_rule_uses(monkeypatch):
    assert rules.phone_constants() == {"checkout_min_after_checkin_ms": 3_600_000}
    monkeypatch.setattr(rules, "CHECKOUT_MIN_AFTER_CHECKIN", dt.timedelta(minutes=90))
    assert rules.phone_constants()["checkout_min_after_checkin_ms"] == 90 * 60_000
