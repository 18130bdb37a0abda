"""An exception explanation written without a network (R10, R17): kept in the phone's
outbox (kind "note"), "已保存，联网后自动发送" at once, listed on /outbox as 异常说明, and
written exactly once when the network returns, with the phone's time kept beside ours."""
from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from checkin_pwa.extensions import db
from checkin_pwa.models import Explanation

from ..conftest import login_in_browser

pytestmark = pytest.mark.browser

SENT = 30_000  # ms


def controlled(page) -> None:
    page.evaluate("""() => navigator.serviceWorker.controller || new Promise(resolve =>
        navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }))""")


def rows(data, plan_id: int) -> list[Explanation]:
    with data:
        found = db.session.scalars(select(Explanation).where(Explanation.plan_id == plan_id)).all()
        db.session.expunge_all()
        return list(found)


def wait_for(page, condition, timeout_s: float = SENT / 1000) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        page.wait_for_timeout(50)
    return condition()


def test_r17_an_explanation_written_offline_is_sent_once_when_the_network_returns(page, data, arrivals):
    with data as f:
        me = f.auditor(name="张三")
        plan = f.plan([me], start=f.local_today(-3), end=f.local_today(-2, 17))  # ended: exceptions
        phone, plan_id, company = me.phone, plan.id, plan.enterprise.name
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    controlled(page)
    page.get_by_role("link", name="填写异常说明").click()  # today's "现在要做" links here
    expect(page.get_by_role("heading", name="填写异常说明")).to_be_visible()
    page.goto("/outbox")  # loaded once online: the worker keeps a copy for offline
    page.goto(f"/plans/{plan_id}/explain")
    expect(page.locator("#exceptions")).to_contain_text("未签到")

    page.context.set_offline(True)
    # Offline the limits are checked on the phone: nothing empty goes into the outbox.
    page.locator("#explanations textarea[name=text]").fill("   ")
    page.get_by_role("button", name="提交异常说明").click()
    expect(page.locator("#explanation-error")).to_have_text("请先填写异常说明（内容为空）。")
    assert page.evaluate("async () => (await Outbox.list()).length") == 0
    typed = "厂区无信号：首次会议照片由企业保密要求禁止拍摄。<b>原文</b>"
    page.locator("#explanations textarea[name=text]").fill(typed)
    page.get_by_role("button", name="提交异常说明").click()
    queued = page.locator("#explanations .explanation-queued")
    expect(queued).to_contain_text("已保存，联网后自动发送")
    expect(page.locator("#explanation-error")).to_have_count(0)
    expect(queued.locator(".explanation-text")).to_have_text(typed)
    expect(page.locator("#explanations textarea[name=text]")).to_have_value("")
    expect(page.locator("#outbox-badge .outbox-count")).to_have_text("1")
    kept = page.evaluate("async () => (await Outbox.list()).map(e => ({kind: e.kind, label: e.label, key: e.key}))")
    assert [e["kind"] for e in kept] == ["note"]
    assert kept[0]["label"].startswith("异常说明 · " + company)

    page.goto("/outbox")  # offline: the worker's copy, the list from IndexedDB
    entry = page.locator(".outbox-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("异常说明")
    expect(entry.locator(".outbox-note-text")).to_have_text(typed)
    assert rows(data, plan_id) == [] and f"/plans/{plan_id}/explanations" not in arrivals

    page.context.set_offline(False)  # the online event replays
    assert wait_for(page, lambda: len(rows(data, plan_id)) == 1)
    expect(page.locator(".outbox-entry")).to_have_count(0, timeout=SENT)
    expect(page.locator("#outbox-badge")).to_be_hidden()
    [row] = rows(data, plan_id)
    assert (row.text, row.queued_offline, row.idempotency_key) == (typed, True, kept[0]["key"])
    assert row.device_time is not None and row.device_time <= row.created_at
    assert arrivals.count(f"/plans/{plan_id}/explanations") == 1

    page.goto(f"/plans/{plan_id}#explanations")
    shown = page.locator("#explanations .explanation").first
    expect(shown).to_contain_text(typed)
    expect(shown.locator(".sent-later")).to_contain_text("离线记录，稍后发送：操作时间")
    assert len(rows(data, plan_id)) == 1


def test_r17_an_explanation_whose_send_fails_is_kept_and_sent_once_later(page, data, arrivals):
    """Online, but the request never gets an answer (a dead connection): kept in the outbox
    with its action key, then sent once."""
    with data as f:
        me = f.auditor(name="张三")
        plan_id = f.plan([me]).id
        phone = me.phone
    login_in_browser(page, phone)
    controlled(page)
    page.goto(f"/plans/{plan_id}/explain")
    path = f"/plans/{plan_id}/explanations"
    page.context.route(f"**{path}", lambda route: route.abort("connectionreset"))
    page.locator("#explanations textarea[name=text]").fill("连接中断时提交")
    page.get_by_role("button", name="提交异常说明").click()
    expect(page.locator("#explanations .explanation-queued")).to_contain_text("已保存，联网后自动发送")
    assert rows(data, plan_id) == []
    page.context.unroute(f"**{path}")
    page.evaluate("Outbox.replayFromPage(true)")  # what the online event or 立即发送 does
    assert wait_for(page, lambda: len(rows(data, plan_id)) == 1)
    # The open page shows the server's list in place of the waiting item.
    expect(page.locator("#explanations .explanation-queued")).to_have_count(0, timeout=SENT)
    expect(page.locator("#explanations .explanation").first).to_contain_text("连接中断时提交")
    expect(page.locator("#outbox-badge")).to_be_hidden()
    [row] = rows(data, plan_id)
    assert row.queued_offline and row.text == "连接中断时提交"
    assert arrivals.count(path) == 1
