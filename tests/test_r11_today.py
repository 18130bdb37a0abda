"""R11 on today's page: 签到提醒 on a card exactly when PlanStatus.reminder, and the
"现在要做" list: check in, first-meeting photos, check out, last-meeting photos, and an
explanation for a plan with exceptions (today's, or ended within 30 days)."""
from __future__ import annotations

import datetime as dt
import re
import time

import pytest

from checkin_pwa.domain import clock, geo
from checkin_pwa.extensions import db
from checkin_pwa.models import Photo
from checkin_pwa.services import checkin, explanations

from . import factories as f
from .helpers import phone_of

pytestmark = pytest.mark.usefixtures("app_context")

SITE = geo.Point(*f.SITE)


def text(response) -> str:
    return response.get_data(as_text=True)


def reading() -> dict:
    now_ms = str(int(time.time() * 1000))
    return {"device_lat": repr(SITE.lat), "device_lon": repr(SITE.lon), "device_accuracy": "12",
            "device_position_time": now_ms, "device_time": now_ms}


def sign(person, plan, kind: str, minutes_ago: int) -> None:
    sign_at(person, plan, kind, clock.now() - dt.timedelta(minutes=minutes_ago))


def sign_at(person, plan, kind: str, then: dt.datetime) -> None:
    assert isinstance(checkin.check(person, plan.id, kind, reading(), then), checkin.Signed)


def on_the_first_morning(plan) -> dt.datetime:
    """Half an hour after the plan's start: a check-in on its first day whatever the hour now
    (20 hours ago is today after 20:00)."""
    return plan.start_utc.replace(tzinfo=dt.timezone.utc) + dt.timedelta(minutes=30)


def photo(person, plan, group: str) -> None:
    """A photo row as the service writes it (the files do not matter to the list)."""
    db.session.add(Photo(plan_id=plan.id, group=group, uploader_id=person.id, sha256_received="0" * 64,
                         bytes_received=1, format="jpeg", width=1, height=1, evidence_key="e", display_key="d",
                         thumb_key="t"))
    db.session.commit()


def todo(page: str) -> list[tuple[str, str]]:
    """(what, link) of each "现在要做" item shown (one the phone's clock may open later is hidden)."""
    if 'id="todo"' not in page:
        return []
    block = page[page.index('id="todo"'):page.index("</section>", page.index('id="todo"'))]
    items = re.findall(r'<li class="todo-item todo-(\w+)"([^>]*)><a href="([^"]+)">', block)
    return [(what, href) for what, attributes, href in items if not re.search(r"\shidden\b", attributes)]


def reminders(page: str) -> int:
    return page.count('<span class="reminder">签到提醒</span>')


def ends_today(team):
    return f.plan(team, start=f.local_today(-1, 8, 30), end=f.local_today(0, 0, 1))


def test_r11_started_without_check_in_reminds_and_asks_to_check_in(app):
    me = f.auditor()
    plan = f.plan([me], start=f.local_today(-1, 8, 30), end=f.local_today(1, 17))
    db.session.commit()
    page = text(phone_of(app, me).get("/"))
    assert reminders(page) == 1
    assert todo(page) == [("check_in", f"/plans/{plan.id}/checkin")]
    assert "现在要做" in page and "签到" in page


def test_r11_checked_in_no_reminder_and_asks_for_first_meeting_photos(app):
    me = f.auditor()
    plan = f.plan([me], start=f.local_today(-1, 8, 30), end=f.local_today(1, 17))
    db.session.commit()
    sign(me, plan, "in", 30)
    page = text(phone_of(app, me).get("/"))
    assert reminders(page) == 0
    assert todo(page) == [("first_photos", f"/plans/{plan.id}#photos")]
    assert "上传首次会议照片" in page
    photo(me, plan, "first")
    assert todo(text(phone_of(app, me).get("/"))) == []


def test_r11_last_day_after_the_end_reminds_to_check_out(app):
    me = f.auditor()
    plan = ends_today([me])
    db.session.commit()
    # Checked in yesterday (the first day), photos of the first meeting in.
    sign_at(me, plan, "in", on_the_first_morning(plan))
    photo(me, plan, "first")
    page = text(phone_of(app, me).get("/"))
    assert reminders(page) == 1  # past the end (00:01) on the last day, no check-out
    assert ("check_out", f"/plans/{plan.id}/checkout") in todo(page)


def test_r11_checked_out_asks_for_last_meeting_photos_then_nothing(app):
    me = f.auditor()
    plan = f.plan([me], start=f.local_today(-1, 8, 30), end=f.local_today(0, 23, 59))
    db.session.commit()
    sign_at(me, plan, "in", on_the_first_morning(plan))
    photo(me, plan, "first")
    sign(me, plan, "out", 0)
    page = text(phone_of(app, me).get("/"))
    assert reminders(page) == 0
    assert todo(page) == [("last_photos", f"/plans/{plan.id}#photos")]
    assert "上传末次会议照片" in page
    photo(me, plan, "last")
    assert todo(text(phone_of(app, me).get("/"))) == []


def test_r11_an_ended_plan_with_exceptions_asks_for_an_explanation_until_one_is_written(app):
    me = f.auditor()
    recent = f.plan([me], start=f.local_today(-6), end=f.local_today(-5, 17))
    old = f.plan([me], start=f.local_today(-40), end=f.local_today(-39, 17))
    remote = f.plan([me], start=f.local_today(-6), end=f.local_today(-5, 17), mode="remote")
    db.session.commit()
    client = phone_of(app, me)
    page = text(client.get("/"))
    assert todo(page) == [("explain", f"/plans/{recent.id}/explain")]
    assert "填写异常说明" in page and "今日无现场审核任务" in page
    explanations.add(me, recent.id, "企业停产，未能现场审核。", now=clock.now())
    assert todo(text(client.get("/"))) == []
    assert old.id and remote.id


def test_r11_thirty_days_is_counted_on_the_plans_calendar(app):
    me = f.auditor()
    day30 = f.plan([me], start=f.local_today(-31), end=f.local_today(-30, 17))
    day31 = f.plan([me], start=f.local_today(-32), end=f.local_today(-31, 17))
    db.session.commit()
    assert todo(text(phone_of(app, me).get("/"))) == [("explain", f"/plans/{day30.id}/explain")]
    assert day31.id


def test_r11_another_teams_plans_are_never_on_my_list(app):
    me, other = f.auditor(), f.auditor()
    f.plan([other], start=f.local_today(-6), end=f.local_today(-5, 17))
    f.plan([other])
    db.session.commit()
    page = text(phone_of(app, me).get("/"))
    assert todo(page) == [] and reminders(page) == 0
