"""English pages read as English: no Chinese punctuation (。，：（）！？、 …) in the visible text
of the main pages, the data a body sent (addresses, remarks and the like) set aside."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from checkin_pwa.extensions import db
from checkin_pwa.models import AuditPlan, Enterprise
from checkin_pwa.services import notices

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser

CHINESE_PUNCTUATION = re.compile("[。，、：；！？（）【】《》〈〉「」『』〔〕～\u3000]")
ENTERPRISE = "Dalian Harbour Group"


def data_strings() -> set[str]:
    """What the body's system sent (shown as it came, whatever its language)."""
    found = set()
    for plan in db.session.scalars(db.select(AuditPlan)):
        found |= {plan.activity, plan.region, plan.remarks, plan.certificate_no, *plan.project_levels}
        found |= {site.address for site in plan.sites}
    for company in db.session.scalars(db.select(Enterprise)):
        found |= {company.name, company.contact or "", company.phone or ""}
    return {text for text in found if text}


def chinese_punctuation(page, data: set[str]) -> list[str]:
    text = page.evaluate("document.body.innerText")
    for item in sorted(data, key=len, reverse=True):
        text = text.replace(item, " ")
    return [text[max(0, m.start() - 30):m.end() + 10].replace("\n", " ⏎ ")
            for m in CHINESE_PUNCTUATION.finditer(text)]


def test_english_pages_have_no_chinese_punctuation(page, data, live_server):
    with data as f:
        body = f.agency(name="Beijing Certification Centre")
        me = f.auditor(name="Zhang San")
        levels = ("Management system certification", "Quality management system", "ISO9001")
        today = f.plan([me], company=f.enterprise(ENTERPRISE), levels=levels)
        past = f.plan([me], company=f.enterprise("Tonghua Steel"), levels=levels,
                      start=f.local_today(-3), end=f.local_today(-2, 17))
        phone, today_id, past_id = me.phone, today.id, past.id
        past_day = f.local_today(-3).date()
        notice = notices.create_notice(body, "Check-in rules for this year", "Sign in on the site.\nThank you.")
        notice_id = notice.id
    with live_server.app.app_context():
        data_texts = data_strings()
    live_server.app.config.update(HELP_CONTACT_NAME="Li Ming", HELP_CONTACT_PHONE="0435-1234567")

    page.goto("/login")
    page.get_by_role("link", name="English").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    problems = {}
    for path in ("/login", "/password/forgot", "/phone/change", "/offline"):
        page.goto(path)
        problems[path] = chinese_punctuation(page, data_texts)

    login_in_browser(page, phone)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    pages = ["/", f"/plans/{today_id}/checkin", f"/plans/{today_id}/together", f"/plans/{today_id}",
             f"/plans/{past_id}", f"/plans/{past_id}/explain",
             f"/calendar/{past_day.year}/{past_day.month}?day={past_day.isoformat()}",
             "/tasks", "/history", "/notices", f"/notices/{notice_id}",
             "/me", "/me/avatar", "/me/password", "/help", "/outbox", "/plans/999999"]
    for path in pages:
        page.goto(path)
        page.wait_for_load_state("load")
        problems[path] = chinese_punctuation(page, data_texts)
    # A check-in made in English, then what today and the plan say about it.
    page.goto(f"/plans/{today_id}/checkin")
    expect(page.locator("#map")).to_have_attribute("data-geo", "ready")
    problems["check-in, located"] = chinese_punctuation(page, data_texts)
    page.get_by_role("button", name="Confirm and check in").click()
    expect(page.locator("#check-outcome")).to_contain_text("Checked in successfully")
    problems["check-in, answered"] = chinese_punctuation(page, data_texts)
    for path in ("/", f"/plans/{today_id}", f"/plans/{today_id}/checkout"):
        page.goto(path)
        page.wait_for_load_state("load")
        problems[path + " (after check-in)"] = chinese_punctuation(page, data_texts)
    # A form error, in English too.
    page.goto("/me/password")
    page.get_by_role("button", name="Change password").click()
    problems["/me/password (errors)"] = chinese_punctuation(page, data_texts)

    found = {path: found for path, found in problems.items() if found}
    assert not found, "\n".join(f"{path}: {snippets}" for path, snippets in found.items())
