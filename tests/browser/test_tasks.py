"""R13 in the phone's browser: typing part of an enterprise name narrows tasks and history
without pressing 查询, and the certification project's cascading selects."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from ..conftest import login_in_browser
from ..helpers import act_the_moment_it_appears, wait_until

pytestmark = pytest.mark.browser

QMS = ("管理体系认证", "质量管理体系认证", "ISO9001")
EMS = ("管理体系认证", "环境管理体系认证", "ISO14001")
CCC = ("产品认证", "强制性产品认证", "CCC")


def rows(page):
    return page.locator("#task-results .row-link")


def open_list(page, phone, tab):
    login_in_browser(page, phone)
    expect(page.get_by_role("heading", name="今日审核任务")).to_be_visible()
    page.get_by_role("link", name="任务").click()
    if tab == "审核经历":
        page.get_by_role("link", name="审核经历").click()
    expect(page.locator(".tab.current")).to_have_text(tab)
    page.wait_for_load_state("load")  # htmx has bound the filters (see open_calendar)
    page.evaluate("window.__samePage = 'yes'")


def three_tasks(f, me=None):
    """Three coming plans (QMS, EMS, CCC) of `me` (a new auditor if none): their phone."""
    me = me or f.auditor()
    f.plan([me], company=f.enterprise("吉林省通化钢铁股份有限公司"), levels=QMS, start=f.local_today(1), end=f.local_today(2))
    f.plan([me], company=f.enterprise("大连港口集团有限公司"), levels=EMS, code="ISO14001",
           start=f.local_today(2), end=f.local_today(3))
    f.plan([me], company=f.enterprise("大连电器有限公司"), levels=CCC, code="CCC", required=False,
           start=f.local_today(3), end=f.local_today(4))
    return me.phone


def test_r13_typing_part_of_a_name_narrows_tasks_then_the_project_cascade(page, data):
    with data as f:
        me = f.auditor()
        phone = three_tasks(f, me)
        f.plan([me], company=f.enterprise("通化葡萄酒有限公司"), start=f.local_today(-9), end=f.local_today(-8))  # history
    open_list(page, phone, "审核任务")
    expect(rows(page)).to_have_count(3)
    expect(page.locator(".record-count")).to_have_text("共 3 条记录")

    page.locator("#f-enterprise").press_sequentially("大连", delay=60)
    expect(rows(page)).to_have_text(["大连港口集团有限公司", "大连电器有限公司"])
    expect(page).to_have_url(re.compile(r"/tasks\?enterprise=%E5%A4%A7%E8%BF%9E$"))
    page.locator("#f-enterprise").press_sequentially("港", delay=60)
    expect(rows(page)).to_have_text(["大连港口集团有限公司"])
    expect(page.locator(".record-count")).to_have_text("共 1 条记录")
    assert page.evaluate("window.__samePage") == "yes"

    page.locator("#f-enterprise").fill("")
    expect(rows(page)).to_have_count(3)
    level2 = page.locator("#f-l2")
    expect(level2).to_be_disabled()
    page.locator("#f-l1").select_option(QMS[0])
    expect(rows(page)).to_have_text(["吉林省通化钢铁股份有限公司", "大连港口集团有限公司"])
    expect(level2).to_be_enabled()
    expect(level2.locator("option")).to_have_text(["请选择", *sorted([QMS[1], EMS[1]])])
    level2.select_option(EMS[1])
    expect(rows(page)).to_have_text(["大连港口集团有限公司"])
    expect(page.locator("#f-l3 option")).to_have_text(["请选择", "ISO14001"])
    expect(page).to_have_url(re.compile(r"l1=.+&l2="))

    # Level 1 changed: the level 2 of the old branch is dropped, its options follow.
    page.locator("#f-l1").select_option(CCC[0])
    expect(rows(page)).to_have_text(["大连电器有限公司"])
    expect(page.locator("#f-l2 option")).to_have_text(["请选择", CCC[1]])
    expect(page.locator("#f-l2")).to_have_value("")
    assert "l2=" not in page.url
    assert page.evaluate("window.__samePage") == "yes"

    page.get_by_role("link", name="重置").click()
    expect(rows(page)).to_have_count(3)
    expect(page.locator("#f-l1")).to_have_value("")


def test_r13_a_project_level_picked_the_moment_its_select_appears_still_narrows_the_list(page, data):
    # The level 2 select comes back with the answer to level 1; a thumb (or a test) that picks
    # from it at once must get its answer, not a select htmx has not bound yet.
    with data as f:
        phone = three_tasks(f)
    open_list(page, phone, "审核任务")
    expect(rows(page)).to_have_count(3)
    act_the_moment_it_appears(page, "#f-l2:enabled", f"""
        el.value = {EMS[1]!r};
        el.dispatchEvent(new Event("change", {{bubbles: true}}));""")
    page.locator("#f-l1").select_option(QMS[0])
    expect(rows(page)).to_have_text(["大连港口集团有限公司"])
    expect(page.locator("#f-l2")).to_have_value(EMS[1])
    assert page.evaluate("window.__samePage") == "yes"


@pytest.fixture
def page_without_worker(browser, browser_context_args):
    """A phone page whose requests the service worker never handles: Playwright's route()
    does not see a request the worker answers, and the worker claims the page at a moment
    of its own."""
    context = browser.new_context(**browser_context_args, service_workers="block")
    yield context.new_page()
    context.close()


def test_r13_a_late_answer_to_an_older_question_never_replaces_the_newest(page_without_worker, data):
    page = page_without_worker
    with data as f:
        phone = three_tasks(f)
    open_list(page, phone, "审核任务")
    expect(rows(page)).to_have_count(3)
    held, failed, finished = [], [], []
    # The typed question (大连, no level yet) is held on the way, as on a slow network.
    page.route(lambda url: "enterprise=%E5%A4%A7%E8%BF%9E&" in url and url.endswith("l1="), lambda route: held.append(route))
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("requestfinished", lambda r: finished.append(r.url))

    page.locator("#f-enterprise").fill("大连")
    wait_until(page, lambda: held)
    page.locator("#f-l1").select_option(CCC[0])  # the newer question: 大连 and 产品认证
    expect(rows(page)).to_have_text(["大连电器有限公司"])

    try:
        held[0].continue_()  # the older answer arrives late, if it is still wanted
    except Exception:  # the page already gave it up
        pass
    late = held[0].request.url
    wait_until(page, lambda: late in failed or late in finished)
    assert late in failed, "the answer to the older question was still taken after the newer one"
    expect(rows(page)).to_have_text(["大连电器有限公司"])
    expect(page).to_have_url(re.compile(r"l1=%E4%BA%A7%E5%93%81"))


def test_r13_letters_typed_while_the_page_still_loads_are_searched_for(page_without_worker, data):
    """A slow phone: the list is on screen but its search script has not run yet when the
    auditor types. The list narrows all the same once the script arrives."""
    page = page_without_worker
    with data as f:
        phone = three_tasks(f)
    login_in_browser(page, phone)
    held = []
    page.context.route("**/static/js/search.js*", lambda route: held.append(route))
    page.goto("/tasks", wait_until="commit")
    expect(rows(page)).to_have_count(3)
    page.locator("#f-enterprise").fill("大连")
    wait_until(page, lambda: held)
    held[0].continue_()
    expect(rows(page)).to_have_text(["大连港口集团有限公司", "大连电器有限公司"])
    expect(page).to_have_url(re.compile(r"/tasks\?enterprise=%E5%A4%A7%E8%BF%9E"))


def test_r13_history_narrows_as_the_auditor_types_and_a_row_opens_the_plan(page, data):
    with data as f:
        me = f.auditor()
        f.plan([me], company=f.enterprise("通化葡萄酒有限公司"), start=f.local_today(-9), end=f.local_today(-8))
        f.plan([me], company=f.enterprise("大连港口集团有限公司"), start=f.local_today(-6), end=f.local_today(-5))
        f.plan([me], company=f.enterprise("大连未来项目有限公司"), start=f.local_today(5), end=f.local_today(6))  # a task
        phone = me.phone
    open_list(page, phone, "审核经历")
    expect(rows(page)).to_have_text(["大连港口集团有限公司", "通化葡萄酒有限公司"])  # most recent first
    page.locator("#f-enterprise").press_sequentially("葡萄", delay=60)
    expect(rows(page)).to_have_text(["通化葡萄酒有限公司"])
    expect(page).to_have_url(re.compile(r"/history\?enterprise="))
    assert page.evaluate("window.__samePage") == "yes"
    expect(page.locator("#task-results")).to_contain_text("异常")  # ended, never signed

    # Not only the name: the whole row is the link (one thumb).
    row = page.locator("#task-results .plan-row").first
    box = row.bounding_box()
    row.click(position={"x": box["width"] - 20, "y": box["height"] - 10})
    expect(page).to_have_url(re.compile(r"/plans/\d+$"))
    expect(page.get_by_text("通化葡萄酒有限公司").first).to_be_visible()


def test_r13_next_page_by_htmx_keeps_the_filter_in_the_url(page, data):
    with data as f:
        me = f.auditor()
        for n in range(21):
            f.plan([me], company=f.enterprise(f"分页企业{n:02d}"), start=f.local_today(1 + n), end=f.local_today(1 + n, 17, 0))
        f.plan([me], company=f.enterprise("别的名字"), start=f.local_today(1), end=f.local_today(1, 17, 0))
        phone = me.phone
    open_list(page, phone, "审核任务")
    page.locator("#f-enterprise").press_sequentially("分页", delay=40)
    expect(page.locator(".record-count")).to_have_text("共 21 条记录")
    expect(rows(page)).to_have_count(20)
    page.get_by_role("link", name="下一页").click()
    expect(rows(page)).to_have_text(["分页企业20"])
    expect(page).to_have_url(re.compile(r"/tasks\?enterprise=%E5%88%86%E9%A1%B5&page=2$"))
    expect(page.locator(".pager-position")).to_have_text("第 2 / 2 页")
    assert page.evaluate("window.__samePage") == "yes"


def test_r13_enterprise_search_waits_for_the_input_method_to_finish(page, data):
    """Pinyin typed slowly (d, da, … dalian, then 大连 chosen): no request for the letters,
    one for the characters. The composition is the browser's own (Chrome's IME protocol)."""
    with data as f:
        me = f.auditor()
        f.plan([me], company=f.enterprise("大连港口集团有限公司"), start=f.local_today(1), end=f.local_today(2))
        f.plan([me], company=f.enterprise("通化葡萄酒有限公司"), start=f.local_today(2), end=f.local_today(3))
        phone = me.phone
    open_list(page, phone, "审核任务")
    expect(rows(page)).to_have_count(2)
    searched = []
    page.on("request", lambda request: "enterprise=" in request.url and searched.append(request.url))
    page.clock.install()
    field = page.locator("#f-enterprise")
    field.focus()
    ime = page.context.new_cdp_session(page)
    for letters in ("d", "da", "dal", "dali", "dalia", "dalian"):
        ime.send("Input.imeSetComposition", {"text": letters, "selectionStart": len(letters),
                                             "selectionEnd": len(letters)})
        expect(field).to_have_value(letters)
        page.clock.run_for(1000)  # a slow typist: longer than the search's pause each time
    ime.send("Input.insertText", {"text": "大连"})
    expect(field).to_have_value("大连")
    page.clock.run_for(1000)
    expect(rows(page)).to_have_text(["大连港口集团有限公司"])
    expect(page).to_have_url(re.compile(r"/tasks\?enterprise=%E5%A4%A7%E8%BF%9E$"))
    assert [re.sub(r".*enterprise=([^&]*).*", r"\1", url) for url in searched] == ["%E5%A4%A7%E8%BF%9E"]

    # Letters typed without an input method are still searched for as they come.
    field.fill("")
    page.clock.run_for(1000)
    expect(rows(page)).to_have_count(2)
    field.press_sequentially("通化")
    page.clock.run_for(1000)
    expect(rows(page)).to_have_text(["通化葡萄酒有限公司"])
