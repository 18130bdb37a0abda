"""R17 on the server: what the phone's outbox relies on when it sends queued actions later.

Exactly once per action key (check-in, check-out, photo), a key reused for another payload
refused, keys per auditor; 401 instead of a login page for outbox requests; a new CSRF token
on demand. Over HTTP with CSRF on and real SQLite, as the outbox sends them.
"""
from __future__ import annotations

import io
import time

import pytest
from PIL import Image
from sqlalchemy import func, select

from checkin_pwa.extensions import db
from checkin_pwa.models import CheckEvent, IdempotencyRecord, Photo

from . import factories as f
from .helpers import csrf_token_from, in_app_context, phone_of

OUTBOX = {"X-Outbox": "1"}
SITE = f.SITE




@pytest.fixture
def store(app):
    return app.extensions["photo_store"]


# --- helpers ---------------------------------------------------------------------------------

def text(response) -> str:
    return response.get_data(as_text=True)


def ms(moment_s: float) -> str:
    return str(int(moment_s * 1000))


def reading(at_s: float | None = None, sent_s: float | None = None, **extra) -> dict:
    """What a queued action carries: the position and phone clock at the action, and the
    phone clock at sending."""
    at_s = time.time() if at_s is None else at_s
    fields = {"device_lat": repr(SITE[0]), "device_lon": repr(SITE[1]), "device_accuracy": "12",
              "device_position_time": ms(at_s), "device_time": ms(at_s),
              "lat": repr(SITE[0]), "lon": repr(SITE[1])}
    if sent_s is not None:
        fields["device_time_sent"] = ms(sent_s)
    fields.update(extra)
    return fields


def token_of(client) -> str:
    response = client.get("/session/csrf")
    assert response.status_code == 200
    return response.get_json()["csrf_token"]


def replay(client, path: str, key: str, fields: dict, files: dict | None = None, headers=None):
    """One send from the outbox: the key in the header, a fresh CSRF token, X-Outbox."""
    data = {"csrf_token": token_of(client), **fields}
    if files:
        data.update({name: (io.BytesIO(body), "photo.jpg", "image/jpeg") for name, body in files.items()})
    return client.post(path, data=data, headers={**OUTBOX, "Idempotency-Key": key, **(headers or {})},
                       content_type="multipart/form-data" if files else None)


def events_of(plan_id: int) -> list[CheckEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(CheckEvent).where(CheckEvent.plan_id == plan_id).order_by(CheckEvent.id)))


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def jpeg(color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(out, "JPEG")
    return out.getvalue()


def check_in_event(plan, person, minutes_ago: int) -> CheckEvent:
    """The team's check-in, written as if made `minutes_ago` (server time)."""
    at = f.to_utc(f.dt.datetime.now(f.dt.timezone.utc) - f.dt.timedelta(minutes=minutes_ago))
    event = CheckEvent(plan_id=plan.id, kind="in", signer_id=person.id, counts_for_team=True, server_time=at,
                       device_lat=SITE[0], device_lon=SITE[1], chosen_lat=SITE[0], chosen_lon=SITE[1], flags=[])
    db.session.add(event)
    return event


# --- exactly once per key ------------------------------------------------------------------

def test_r17_the_same_check_in_key_and_payload_answers_the_same_and_writes_once(app_context, app):
    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    phone = phone_of(app, me)
    fields = reading(queued_offline="1")
    first = replay(phone, f"/plans/{plan.id}/checkin", "k-in-1", fields)
    # The outbox sends again later: a new sending time and CSRF token, the same action.
    again = replay(phone, f"/plans/{plan.id}/checkin", "k-in-1", {**fields, "device_time_sent": ms(time.time() + 5)})
    assert first.status_code == again.status_code == 200
    assert "签到成功" in text(first) and text(again) == text(first)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(events_of(plan.id)) == 1 and count(IdempotencyRecord) == 1


def test_r17_the_same_check_out_key_and_payload_answers_the_same_and_writes_once(app_context, app):
    me = f.auditor()
    plan = f.plan([me], start=f.local_today(-1, 8, 0), end=f.local_today(0, 23, 59))
    check_in_event(plan, me, minutes_ago=120)
    db.session.commit()
    phone = phone_of(app, me)
    fields = reading()
    first = replay(phone, f"/plans/{plan.id}/checkout", "k-out-1", fields)
    again = replay(phone, f"/plans/{plan.id}/checkout", "k-out-1", fields)
    assert first.status_code == again.status_code == 200 and "签退成功" in text(again)
    assert [e.kind for e in events_of(plan.id)] == ["in", "out"]


def test_r17_the_same_photo_key_and_file_answers_the_same_and_stores_one_photo(app_context, app, store):
    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    phone = phone_of(app, me)
    photo = jpeg()
    first = replay(phone, f"/plans/{plan.id}/photos", "k-photo-1", {"group": "first"}, {"photo": photo})
    again = replay(phone, f"/plans/{plan.id}/photos", "k-photo-1", {"group": "first"}, {"photo": photo})
    assert first.status_code == again.status_code == 201 and text(again) == text(first)
    assert again.headers.get("HX-Trigger") == "photos-changed"
    assert count(Photo) == 1 and len(list(store.keys())) == 3


def test_r17_a_key_reused_with_another_payload_is_refused_and_writes_nothing(app_context, app, store):
    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    phone = phone_of(app, me)
    assert replay(phone, f"/plans/{plan.id}/photos", "k-2", {"group": "first"}, {"photo": jpeg()}).status_code == 201
    other_photo = replay(phone, f"/plans/{plan.id}/photos", "k-2", {"group": "first"}, {"photo": jpeg((0, 90, 0))})
    check_in = replay(phone, f"/plans/{plan.id}/checkin", "k-2", reading())
    for response in (other_photo, check_in):
        assert response.status_code == 422
        assert "已用于另一项操作" in text(response) and 'role="alert"' in text(response)
    assert count(Photo) == 1 and events_of(plan.id) == []


def test_r17_another_auditors_key_is_their_own(app):
    with in_app_context(app):
        me, colleague = f.auditor(), f.auditor()
        plan = f.plan([me, colleague])
        mine = f.plan([me], start=f.local_today(0, 8, 0))
    a, b = phone_of(app, me), phone_of(app, colleague)
    assert replay(a, f"/plans/{mine.id}/checkin", "shared-key", reading()).status_code == 200
    # The colleague's phone made the same key by chance: it is simply their own action.
    response = replay(b, f"/plans/{plan.id}/checkin", "shared-key", reading())
    assert response.status_code == 200 and "签到成功" in text(response)
    with app.app_context():
        assert len(events_of(plan.id)) == 1 and events_of(plan.id)[0].signer_id == colleague.id


def test_r17_a_key_longer_than_64_characters_is_refused(app_context, app):
    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    response = replay(phone_of(app, me), f"/plans/{plan.id}/checkin", "k" * 65, reading())
    assert response.status_code == 422 and "过长" in text(response)
    assert events_of(plan.id) == []


def test_r17_a_question_is_not_stored_and_the_confirmed_post_with_the_same_key_signs(app_context, app):
    me = f.auditor()
    plan = f.plan([me], sites=[(39.9, 116.4)])  # Beijing: far from the phone in Jilin
    db.session.commit()
    phone = phone_of(app, me)
    path = f"/plans/{plan.id}/checkin"
    fields = {"csrf_token": csrf_token_from(phone.get(path)), "idempotency_key": "k-far", **reading()}
    asked = phone.post(path, data=fields, headers={"HX-Request": "true"})
    assert asked.status_code == 200 and "偏差过大" in text(asked)
    assert 'name="idempotency_key" value="k-far"' in text(asked)
    signed = phone.post(path, data={**fields, "confirm": "1"}, headers={"HX-Request": "true"})
    assert signed.status_code == 200 and "签到成功" in text(signed)
    assert len(events_of(plan.id)) == 1


def test_r5_a_replay_far_from_the_site_cannot_ask_and_is_refused_with_the_warning(app_context, app):
    me = f.auditor()
    plan = f.plan([me], sites=[(39.9, 116.4)])
    db.session.commit()
    response = replay(phone_of(app, me), f"/plans/{plan.id}/checkin", "k-far-2", reading(queued_offline="1"))
    assert response.status_code == 409 and "偏差过大" in text(response)
    assert events_of(plan.id) == []


def test_r17_a_server_error_is_not_stored_and_the_retry_succeeds(app_context, app, monkeypatch):
    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    phone = phone_of(app, me)
    from checkin_pwa.services import checkin

    real_sign, calls = checkin.sign, []

    def fails_three_times(*args, **kwargs):
        calls.append(1)
        if len(calls) <= 3:
            raise RuntimeError("database went away")
        return real_sign(*args, **kwargs)

    monkeypatch.setattr(checkin, "sign", fails_three_times)
    fields = reading(queued_offline="1")
    for _ in range(3):
        failed = replay(phone, f"/plans/{plan.id}/checkin", "k-500", fields)
        assert failed.status_code == 500
    assert count(IdempotencyRecord) == 0 and events_of(plan.id) == []
    passed = replay(phone, f"/plans/{plan.id}/checkin", "k-500", fields)
    assert passed.status_code == 200 and "签到成功" in text(passed)
    assert len(events_of(plan.id)) == 1 and count(IdempotencyRecord) == 1


# --- session and CSRF ----------------------------------------------------------------------

def test_r17_an_outbox_request_without_a_session_gets_401_not_the_login_page(app_context, app):
    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    phone = app.test_client()
    for headers in (OUTBOX, {"HX-Request": "true"}):
        response = phone.post(f"/plans/{plan.id}/checkin", data=reading(), headers=headers)
        assert response.status_code == 401 and "请重新登录" in text(response)
        assert "Location" not in response.headers
    plain = phone.get(f"/plans/{plan.id}/checkin")
    assert plain.status_code == 302 and "/login" in plain.headers["Location"]
    assert phone.get("/session/csrf").status_code == 401
    assert events_of(plan.id) == []


def test_r17_an_expired_csrf_token_is_marked_and_a_new_one_can_be_fetched(app_context, app):
    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    phone = phone_of(app, me)
    stale = phone.post(f"/plans/{plan.id}/checkin", data={"csrf_token": "stale", **reading()},
                       headers={**OUTBOX, "Idempotency-Key": "k-csrf"})
    assert stale.status_code == 400 and "data-csrf-expired" in text(stale)
    fresh = phone.get("/session/csrf")
    assert fresh.headers["Cache-Control"] == "no-store"
    retried = replay(phone, f"/plans/{plan.id}/checkin", "k-csrf", reading())
    assert retried.status_code == 200 and len(events_of(plan.id)) == 1


# --- time of an action sent later (R4, R6, R17) -----------------------------------------------

SHANGHAI = f.SHANGHAI


def at(day: int, hour: int, minute: int = 0) -> f.dt.datetime:
    """A fixed wall-clock time in Shanghai (March 2026), aware."""
    return f.dt.datetime(2026, 3, day, hour, minute, tzinfo=SHANGHAI)


def fixed_plan(team):
    """An audit on 2 and 3 March 2026, 08:30 to 17:00 the next day."""
    return f.plan(team, start=at(2, 8, 30), end=at(3, 17, 0))


def my_fixed_plan():
    """One auditor and their fixed_plan, committed."""
    me = f.auditor()
    plan = fixed_plan([me])
    db.session.commit()
    return me, plan


def team_check_in(plan, person, when) -> CheckEvent:
    event = CheckEvent(plan_id=plan.id, kind="in", signer_id=person.id, counts_for_team=True,
                       server_time=f.to_utc(when), device_lat=SITE[0], device_lon=SITE[1],
                       chosen_lat=SITE[0], chosen_lon=SITE[1], flags=[])
    db.session.add(event)
    db.session.commit()
    return event


def queued(action, sent, phone_off=f.dt.timedelta(0), **extra) -> dict:
    """A queued action's fields: the phone's clock (off by `phone_off`) at the action and at sending."""
    return reading((action + phone_off).timestamp(), (sent + phone_off).timestamp(), queued_offline="1", **extra)


def flag(event, code):
    return next((item for item in event.flags if item["code"] == code), None)


def test_r17_a_phone_clock_3_hours_off_is_flagged_and_the_rules_judge_the_corrected_time(app_context, app):
    from checkin_pwa.services import checkin, plan_access

    me, plan = my_fixed_plan()
    receipt = at(2, 11, 0)
    # Checked in at 08:40 (on time: within 30 min of 08:30) with a phone 3 hours fast,
    # sent at 11:00 when the signal came back. Judged at receipt it would be 150 min late.
    outcome = checkin.check(me, plan.id, "in", queued(at(2, 8, 40), receipt, f.dt.timedelta(hours=3)),
                            receipt.astimezone(f.dt.timezone.utc))
    assert outcome.result == "signed"
    event = events_of(plan.id)[0]
    assert event.queued_offline and round(event.clock_skew_s) == 3 * 3600
    assert event.server_time == f.to_utc(receipt)  # the time of record
    assert flag(event, "clock_skew")["skew_s"] == 10800
    sent_later = flag(event, "offline_sent_later")
    assert sent_later["action_time"] == "2026-03-02T00:40:00Z" and sent_later["receipt_time"] == "2026-03-02T03:00:00Z"
    assert flag(event, "late_check_in") is None
    # The team's check-in counts from 08:40: check-out's 1 hour runs from then.
    assert checkin.plan_facts(plan_access.visible_plan(me, plan.id)).checked_in_at == at(2, 8, 40)


def test_r6_a_queued_check_out_made_on_the_last_day_and_sent_next_morning_is_accepted(app_context, app):
    from checkin_pwa.services import checkin

    me, plan = my_fixed_plan()
    team_check_in(plan, me, at(2, 8, 40))
    next_morning = at(4, 9, 0)
    outcome = checkin.check(me, plan.id, "out", queued(at(3, 17, 10), next_morning), next_morning)
    assert outcome.result == "signed"
    event = events_of(plan.id)[-1]
    assert event.kind == "out" and event.counts_for_team and event.queued_offline
    assert flag(event, "offline_sent_later")["action_time"] == "2026-03-03T09:10:00Z"
    assert flag(event, "late_check_out") is None  # 10 minutes after the end, on time


def test_r6_a_queued_check_out_made_after_the_audit_ended_is_refused_with_its_reason(app_context, app):
    from checkin_pwa.services import checkin

    me, plan = my_fixed_plan()
    team_check_in(plan, me, at(2, 8, 40))
    outcome = checkin.check(me, plan.id, "out", queued(at(4, 8, 0), at(4, 9, 0)), at(4, 9, 0))
    assert outcome.result == "refused" and outcome.reason == "audit_ended"
    assert [e.kind for e in events_of(plan.id)] == ["in"]


def test_r17_an_action_time_after_the_receipt_is_capped_and_flagged(app_context, app):
    from checkin_pwa.services import checkin

    me, plan = my_fixed_plan()
    receipt = at(2, 11, 0)
    # The phone's clock jumped back between the action and the sending (synced on reconnect).
    fields = reading(at(2, 13, 0).timestamp(), receipt.timestamp(), queued_offline="1")
    assert checkin.check(me, plan.id, "in", fields, receipt).result == "signed"
    event = events_of(plan.id)[0]
    assert flag(event, "action_in_future")["ahead_s"] == 7200
    assert flag(event, "offline_sent_later")["action_time"] == "2026-03-02T03:00:00Z"


def test_r17_an_action_time_before_the_plan_is_not_believed_and_flagged(app_context, app):
    from checkin_pwa.services import checkin

    me, plan = my_fixed_plan()
    receipt = at(2, 9, 0)
    fields = reading(at(1, 20, 0).timestamp(), receipt.timestamp(), queued_offline="1")
    assert checkin.check(me, plan.id, "in", fields, receipt).result == "signed"
    event = events_of(plan.id)[0]
    assert flag(event, "action_before_plan")["corrected_time"] == "2026-03-01T12:00:00Z"
    assert flag(event, "offline_sent_later")["action_time"] == "2026-03-02T01:00:00Z"


def test_r17_an_action_sent_at_once_is_judged_at_receipt_whatever_the_phone_says(app_context, app):
    from checkin_pwa.services import checkin

    me, plan = my_fixed_plan()
    receipt = at(2, 11, 0)
    fields = reading(at(2, 8, 40).timestamp(), receipt.timestamp())  # not queued_offline
    assert checkin.check(me, plan.id, "in", fields, receipt).result == "signed"
    event = events_of(plan.id)[0]
    assert not event.queued_offline and flag(event, "offline_sent_later") is None
    assert flag(event, "late_check_in")["minutes"] == 150


def test_r17_a_check_in_sent_later_shows_both_times_on_the_today_card(app_context, app):
    me = f.auditor()
    # Began yesterday: the action half an hour ago is within the plan just after midnight too.
    plan = f.plan([me], start=f.local_today(-1, 0, 0), end=f.local_today(1, 17, 0))
    db.session.commit()
    phone = phone_of(app, me)
    now = time.time()
    response = replay(phone, f"/plans/{plan.id}/checkin", "k-shown",
                      reading(now - 1800, now, queued_offline="1"))
    assert response.status_code == 200 and "签到成功" in text(response)
    page = text(phone.get("/"))
    acted = f.dt.datetime.fromtimestamp(now - 1800, SHANGHAI).strftime("%Y-%m-%d %H:%M")
    assert "离线记录，稍后发送" in page and f"操作时间 {acted}" in page and "服务器接收时间" in page


# --- the team (R3, R17) ------------------------------------------------------------------------

def test_r17_a_queued_check_in_after_another_members_is_kept_as_their_own_record(app_context, app):
    leader, member = f.auditor(name="张组长"), f.auditor(name="李组员")
    plan = f.plan([leader, member], start=f.local_today(0, 0, 0), end=f.local_today(1, 17, 0))
    db.session.commit()
    online = replay(phone_of(app, leader), f"/plans/{plan.id}/checkin", "k-leader", reading())
    assert online.status_code == 200
    phone = phone_of(app, member)
    now = time.time()
    fields = reading(now - 600, now, queued_offline="1")
    late = replay(phone, f"/plans/{plan.id}/checkin", "k-member", fields)
    assert late.status_code == 200
    assert "审核组已由张组长于" in text(late) and "您的离线签到已作为个人记录保存" in text(late)
    again = replay(phone, f"/plans/{plan.id}/checkin", "k-member", fields)
    assert again.status_code == 200 and text(again) == text(late)
    team, copy = events_of(plan.id)
    assert team.counts_for_team and team.signer_id == leader.id
    assert not copy.counts_for_team and copy.signer_id == member.id and copy.queued_offline
    assert flag(copy, "late_offline_copy")["team_event_id"] == team.id
    # The same late check-in sent at once (not from the outbox) is refused as before.
    online_late = replay(phone, f"/plans/{plan.id}/checkin", "k-member-2", reading())
    assert online_late.status_code == 422 and "已由张组长" in text(online_late)
    assert len(events_of(plan.id)) == 2


def test_r17_two_identical_sends_at_once_write_one_check_in_and_answer_alike(app_context, app, monkeypatch):
    import threading

    from checkin_pwa.services import checkin, idempotency

    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    phone = phone_of(app, me)
    fields = reading(queued_offline="1")
    token = token_of(phone)
    twin = app.test_client()  # the outbox's second trigger: the same session, at the same moment
    twin.set_cookie("session", phone.get_cookie("session").value)
    # The second request arrives while the first is inside the view, before it wrote anything:
    # its claim of the key waits for the first one's transaction (claim, event and answer are
    # committed together) and then replays that answer instead of running the view again.
    both_claiming, claims = threading.Event(), []
    real_sign, real_claim = checkin.sign, idempotency.claim

    def claim_noted(*args, **kwargs):
        claims.append(1)
        if len(claims) >= 2:
            both_claiming.set()
        return real_claim(*args, **kwargs)

    def sign_while_the_twin_claims(*args, **kwargs):
        assert both_claiming.wait(timeout=10)
        return real_sign(*args, **kwargs)

    monkeypatch.setattr(idempotency, "claim", claim_noted)
    monkeypatch.setattr(checkin, "sign", sign_while_the_twin_claims)
    answers, path = {}, f"/plans/{plan.id}/checkin"

    def send(name, client):
        answers[name] = client.post(path, data={"csrf_token": token, **fields},
                                    headers={**OUTBOX, "Idempotency-Key": "k-twins"})

    threads = [threading.Thread(target=send, args=(name, client)) for name, client in (("a", phone), ("b", twin))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert answers["a"].status_code == answers["b"].status_code == 200
    assert "签到成功" in text(answers["a"]) and "签到成功" in text(answers["b"])
    assert len(events_of(plan.id)) == 1 and count(IdempotencyRecord) == 1


# --- domain.offline, pure ----------------------------------------------------------------------

def test_r17_corrected_action_time_cancels_a_wrong_phone_clock():
    from checkin_pwa.domain import offline

    receipt = at(2, 11, 0)
    fast = f.dt.timedelta(hours=3)
    assert offline.corrected_action_time(at(2, 8, 40) + fast, receipt + fast, receipt) == at(2, 8, 40)
    assert offline.corrected_action_time(at(2, 8, 40), None, receipt) == receipt  # skew unknown
    assert offline.corrected_action_time(None, receipt, receipt) is None
    assert offline.clock_skew_s(receipt + fast, receipt) == 10800


def test_r4_an_action_not_queued_is_judged_at_receipt_with_no_offline_flags():
    from checkin_pwa.domain import offline

    when = offline.action_time(queued=False, device_time=at(2, 8, 0), device_time_sent=at(2, 8, 0),
                               receipt=at(2, 11, 0))
    assert when.at == at(2, 11, 0) and when.flags == [] and when.skew_s == -10800


def test_r17_a_replay_for_an_account_that_must_change_its_password_is_kept_not_taken(app_context, app):
    """The outbox removes an entry on any 2xx: a replay that only met the forced password
    change (R1) must hear 401 (keep it, log in), never an empty 200, and nothing is written."""
    me = f.auditor(must_change=True)
    plan = f.plan([me])
    db.session.commit()
    phone = phone_of(app, me)
    response = phone.post(f"/plans/{plan.id}/checkin", data={"csrf_token": token_of(phone), **reading()},
                          headers={**OUTBOX, "HX-Request": "true", "Idempotency-Key": "k-must-change"})
    assert response.status_code == 401
    assert "修改初始密码" in text(response) and "data-login-required" in text(response)
    assert events_of(plan.id) == []


# --- whose entry: the outbox records its author, the server checks it -------------------------

def test_r17_the_session_token_says_whose_session_it_is(app_context, app):
    me = f.auditor()
    db.session.commit()
    body = phone_of(app, me).get("/session/csrf").get_json()
    assert body["auditor"] == me.id and body["csrf_token"]


@pytest.mark.parametrize("path, fields, files", [
    ("/plans/{plan}/checkin", reading(), None),
    ("/plans/{plan}/explanations", {"text": "王五离线写下的说明"}, None),
    ("/plans/{plan}/photos", {"group": "first"}, {"photo": jpeg()}),
])
def test_r17_an_entry_recorded_as_another_auditors_is_refused_and_writes_nothing(app_context, app, store, path, fields, files):
    wang, li = f.auditor(name="王五"), f.auditor(name="李四")
    plan = f.plan([wang, li])
    db.session.commit()
    phone = phone_of(app, li)  # 王五's entry, replayed while 李四 is logged in
    response = replay(phone, path.format(plan=plan.id), "k-wang-1", fields, files,
                      headers={"X-Outbox-Author": str(wang.id)})
    assert response.status_code == 409
    assert "data-outbox-not-yours" in text(response) and 'role="alert"' in text(response)
    assert "另一位审核员" in text(response) and "李四" in text(response)
    db.session.expire_all()
    assert events_of(plan.id) == [] and count(Photo) == 0 and count(IdempotencyRecord) == 0
    from checkin_pwa.models import Explanation
    assert count(Explanation) == 0
    # The same entry from its author's own session is taken, once.
    wang_phone = phone_of(app, wang)
    taken = replay(wang_phone, path.format(plan=plan.id), "k-wang-1", fields, files,
                   headers={"X-Outbox-Author": str(wang.id)})
    assert 200 <= taken.status_code < 300
    assert count(IdempotencyRecord) == 1
