"""static/js/plan-rules.js judges R6 as domain/rules.py does, with the constants the server
writes into the page: the same answer (reason, minutes left) for the same plan at the same
moment, across the days of a plan, in two time zones, signed or not. The server runs here with
a check-out wait of 90 minutes instead of 60: a script that kept its own copy of the constant
would answer differently and fail."""
from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from checkin_pwa.domain import rules
from checkin_pwa.domain.rules import PlanFacts

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
ME = 1
WAIT = dt.timedelta(minutes=90)


@pytest.fixture
def ninety_minutes(monkeypatch):
    monkeypatch.setattr(rules, "CHECKOUT_MIN_AFTER_CHECKIN", WAIT)


def moment(zone, day, hour=0, minute=0) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=zone)


def plans() -> list[PlanFacts]:
    found = []
    for zone in (SHANGHAI, BERLIN):
        base = PlanFacts(plan_id=1, enterprise_id=1, start=moment(zone, 20, 9), end=moment(zone, 22, 17),
                         timezone=zone.key, mode="onsite", status="valid", team=frozenset({ME}))
        one_day = dataclasses.replace(base, end=moment(zone, 20, 17))
        for facts in (base, one_day):
            found += [
                facts,
                dataclasses.replace(facts, checked_in_at=moment(zone, 20, 9, 5)),
                dataclasses.replace(facts, checked_in_at=moment(zone, 20, 16, 10)),
                dataclasses.replace(facts, checked_in_at=moment(zone, 20, 9, 5), checked_out_at=moment(zone, 20, 17)),
            ]
    return found


def moments() -> list[dt.datetime]:
    start = moment(dt.timezone.utc, 19, 0)
    return [start + dt.timedelta(minutes=37 * i) + dt.timedelta(seconds=i % 60) for i in range(0, 5 * 24 * 60 // 37)]


def server_answer(decision: rules.Decision) -> dict:
    answer = {"allowed": decision.allowed, "reason": decision.reason}
    if decision.reason == "too_soon_after_check_in":
        answer["minutes"] = decision.params["minutes"]
    return answer


def ms(when: dt.datetime) -> int:
    return round(when.timestamp() * 1000)


def test_r6_the_phone_judges_check_in_and_out_as_the_server_does(page, data, ninety_minutes):
    with data as f:
        me = f.auditor()
        f.plan([me])
        phone = me.phone
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    constants = page.evaluate("JSON.parse(document.getElementById('plan-rules').dataset.rules).constants")
    assert constants == {"checkout_min_after_checkin_ms": WAIT // dt.timedelta(milliseconds=1)}

    cases, expected = [], []
    for facts in plans():
        for now in moments():
            for kind, rule in (("in", rules.may_check_in), ("out", rules.may_check_out)):
                cases.append({"facts": rules.phone_facts(facts), "kind": kind, "now": ms(now), "waiting": {}})
                expected.append(server_answer(rule(facts, ME, now)))
        if facts.checked_in_at and not facts.checked_out_at:
            # A check-in still waiting on the phone counts for check-out as the server's record would.
            unsigned = rules.phone_facts(dataclasses.replace(facts, checked_in_at=None))
            for now in moments():
                cases.append({"facts": unsigned, "kind": "out", "now": ms(now), "waiting": {"in": ms(facts.checked_in_at)}})
                expected.append(server_answer(rules.may_check_out(facts, ME, now)))
    answers = page.evaluate(
        """([cases, constants]) => cases.map(c => {
            const d = PlanRules.decide(c.facts, c.kind, c.now, constants, c.waiting);
            const answer = { allowed: d.allowed, reason: d.reason };
            if (d.reason === "too_soon_after_check_in") answer.minutes = d.params.minutes;
            return answer;
        })""",
        [cases, constants],
    )
    assert len(answers) == len(expected) > 2000
    mismatches = [(case, js, py) for case, js, py in zip(cases, answers, expected) if js != py]
    assert mismatches == []
    seen = {answer["reason"] for answer in expected}
    assert {"ok", "not_started", "audit_ended", "not_last_day", "too_soon_after_check_in", "not_checked_in",
            "already_checked_in", "already_checked_out"} <= seen
