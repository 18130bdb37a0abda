"""R9: the plan page shows every field of the plan, the team by role, the check-in record
(with sent-later and kept-copy rows), the planned and signed points with the distance, the
photos, exceptions (R10), notes and explanations. R16: another team's plan is a 404."""
from __future__ import annotations

import datetime as dt
import html
import json
import re

import pytest

from checkin_pwa.domain import clock, geo
from checkin_pwa.extensions import db
from checkin_pwa.models import TeamMember
from checkin_pwa.services import checkin

from . import factories as f
from .console.conftest import logged_in
from .helpers import phone_of

pytestmark = pytest.mark.usefixtures("app_context")

SITE = geo.Point(*f.SITE)
FAR = geo.Point(41.2000, 126.1865)  # ~8.3 km north of the site
SECOND_SITE = (43.8171, 125.3235)  # Changchun
NOT_FOUND = "未找到该页面，或您无权查看。"


def text(response) -> str:
    return response.get_data(as_text=True)


def visible_text(response) -> str:
    page = text(response)
    main = page[page.index("<main"):page.index("</main>")]
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", main)))


def ms(moment: dt.datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def reading(device: geo.Point, when: dt.datetime, **extra) -> dict:
    return {"device_lat": repr(device.lat), "device_lon": repr(device.lon), "device_accuracy": "12",
            "device_position_time": ms(when), "device_time": ms(when), **extra}


@pytest.fixture
def noon(monkeypatch):
    """The server's clock at noon today (Shanghai): full_plan's events, hours before now, then fall
    on the plan's last day whenever the test runs (just after midnight they fell on the day
    before, where a check-out is refused)."""
    at = f.local_today(0, 12, 0).astimezone(clock.UTC)
    monkeypatch.setattr(clock, "now", lambda: at)


def full_plan():
    """A plan with every R9 field, five roles and two sites, ending today; the team checked
    in 8 km from both sites two hours ago, checked out offline (sent later), and a member's
    offline check-in arrived after the team's and was kept as that member's copy."""
    leader, member, expert, intern, remote = (f.auditor(name=n) for n in ("贾组长", "崔组员", "沈专家", "王实习", "赵远程"))
    plan = f.plan([leader, member], start=f.local_today(-1, 8, 30), end=f.local_today(0, 23, 59),
                  sites=(f.SITE, SECOND_SITE))
    plan.remarks = "企业保密区域禁止拍照"
    for i, (person, role) in enumerate(((expert, "expert"), (intern, "intern"), (remote, "remote")), start=2):
        plan.team.append(TeamMember(auditor_id=person.id, role=role, position=i))
    db.session.commit()
    now = clock.now()
    signed = checkin.check(leader, plan.id, "in", reading(FAR, now - dt.timedelta(hours=2), confirm="1"),
                           now - dt.timedelta(hours=2))
    assert isinstance(signed, checkin.Signed)
    copy = checkin.check(member, plan.id, "in", reading(SITE, now - dt.timedelta(minutes=100), queued_offline="1",
                                                        device_time_sent=ms(now - dt.timedelta(minutes=5))),
                         now - dt.timedelta(minutes=5))
    assert isinstance(copy, checkin.KeptAsCopy)
    out = checkin.check(member, plan.id, "out", reading(SITE, now - dt.timedelta(minutes=30), queued_offline="1",
                                                        device_time_sent=ms(now)), now)
    assert isinstance(out, checkin.Signed)
    return plan, leader, member


def test_r9_plan_page_shows_every_field_of_a_full_plan(app, noon):
    plan, leader, _ = full_plan()
    client = phone_of(app, leader)
    response = client.get(f"/plans/{plan.id}")
    assert response.status_code == 200
    page = visible_text(response)
    start = f.local_today(-1, 8, 30).strftime("%Y-%m-%d %H:%M")
    end = f.local_today(0, 23, 59).strftime("%Y-%m-%d %H:%M")
    for shown in (
        plan.enterprise.name, "认证机构 北京某某认证中心有限公司",
        "认证项目 ISO9001 *", "管理体系认证 › 质量管理体系认证 › ISO9001",
        "证书号 11721Q0123R1M", "审核活动 监督审核", f"审核时间 {start} 至 {end}",
        "行政区划 吉林省通化市", "吉林省集安市工业园区1号", "吉林省集安市工业园区2号",
        "联系人 张某", "联系电话 0435-1234567",
        "【组长】贾组长", "【组员】崔组员", "【技术专家】沈专家", "【实习审核员】王实习", "【远程审核员】赵远程",
        "审核方式：现场审核", "企业保密区域禁止拍照", "计划状态 有效", "签到情况 已签退",
    ):
        assert shown in page, shown
    assert re.search(r"<dd class=\"project\">ISO9001<span class=\"must-sign\"[^>]*>\*</span>", text(response))


def team_roles(page: str) -> list[str]:
    """The team as a page shows it: each role's text, in the page's order."""
    return [re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", "", part))).strip()
            for part in re.findall(r'<span class="team-role[^"]*">(.*?)</span>', page)]


@pytest.mark.parametrize("language, expected", [
    ("zh_CN", ["【组长】贾组长", "【组员】钱停用（已停用）、崔组员", "【实习审核员】王实习", "【远程审核员】赵远程",
               "【技术专家】沈专家"]),
    ("en", ["[Team leader] 贾组长", "[Team member] 钱停用 (disabled), 崔组员", "[Intern auditor] 王实习",
            "[Remote auditor] 赵远程", "[Technical expert] 沈专家"]),
])
def test_r9_the_plan_page_and_the_lists_show_the_team_alike(app, language, expected):
    """One order (experts after the team, as the manual writes it) and one way to name a
    role, on the plan page and in the task and history lists."""
    names = ("沈专家", "贾组长", "钱停用", "王实习", "崔组员", "赵远程")
    expert, leader, stopped, intern, member, remote = (f.auditor(name=n) for n in names)
    plan = f.plan([expert, leader, stopped, intern, member, remote], start=f.local_today(0, 0, 0),
                  end=f.local_today(1, 17, 0))
    for row, role in zip(plan.team, ("expert", "leader", "member", "intern", "member", "remote")):
        row.role = role  # the team in the order the body listed it
    stopped.disabled = True
    db.session.commit()
    stopped_name = "钱停用（已停用）" if language == "zh_CN" else "钱停用 (disabled)"
    client = phone_of(app, leader)
    if language != "zh_CN":
        client.get(f"/lang/{language}")
    plan_page = text(client.get(f"/plans/{plan.id}"))
    tasks = text(client.get("/tasks"))
    row = tasks[tasks.index(f'id="row-{plan.id}"'):]
    assert team_roles(plan_page) == expected
    assert team_roles(row)[:len(expected)] == expected
    # The body's staff see the team the same way in the console's lists and evidence review.
    staff = f.staff(role="readonly")
    db.session.commit()
    console = logged_in(app, staff)
    if language != "zh_CN":
        console.get(f"/lang/{language}")
    listed = text(console.get("/admin/plans"))
    assert team_roles(listed[listed.index(f'data-plan="{plan.id}"'):])[:len(expected)] == expected
    board = text(console.get("/admin/board"))
    assert team_roles(board[board.index(plan.enterprise.name):])[:len(expected)] == expected
    assert team_roles(text(console.get(f"/admin/plans/{plan.id}/evidence"))) == expected
    # The console's plan page lists the members one a row, in the same order.
    table = text(console.get(f"/admin/plans/{plan.id}"))
    table = table[table.index('class="console-table plan-team"'):]
    rows = re.findall(r'<tr data-member="\d+">.*?<a [^>]*>([^<]*)</a>', table[:table.index("</table>")], re.S)
    assert [html.unescape(name) for name in rows] == [
        "贾组长", stopped_name, "崔组员", "王实习", "赵远程", "沈专家"]


def test_r9_remarks_that_restate_the_audit_mode_are_shown_once(app):
    leader = f.auditor()
    plan = f.plan([leader])
    plan.remarks = "审核方式: 现场审核"  # as bodies usually write it (plan-import.md)
    db.session.commit()
    page = visible_text(phone_of(app, leader).get(f"/plans/{plan.id}"))
    assert page.count("审核方式") == 1 and "审核方式：现场审核" in page


def test_r9_check_in_record_rows_with_sent_later_and_kept_copy(app, noon):
    plan, leader, member = full_plan()
    page = visible_text(phone_of(app, leader).get(f"/plans/{plan.id}"))
    record = page[page.index("签到信息"):page.index("照片")]
    assert record.count("签到 ") >= 2 and "签退 " in record
    assert "贾组长" in record and "崔组员" in record
    assert "离线记录，稍后发送：操作时间" in record  # the check-out, both times
    assert "作为 崔组员 本人的记录保留，不作为审核组的签到记录" in record  # the late copy, marked
    # Planned vs actual with the distance, in text (no map needed).
    assert "实际位置：41.20000, 126.18650" in record
    assert re.search(r"距审核地址 吉林省集安市工业园区1号（41\.12560, 126\.18650）8\.\d\d 公里", record)


def test_r9_map_carries_the_sites_and_the_signed_points(app, noon):
    plan, leader, _ = full_plan()
    body = text(phone_of(app, leader).get(f"/plans/{plan.id}"))
    sites = json.loads(html.unescape(re.search(r"data-sites='([^']*)'", body).group(1)))
    points = json.loads(html.unescape(re.search(r"data-points='([^']*)'", body).group(1)))
    assert [s["address"] for s in sites] == ["吉林省集安市工业园区1号", "吉林省集安市工业园区2号"]
    assert sorted((p["kind"], p["team"]) for p in points) == [("in", False), ("in", True), ("out", True)]
    # The map's code comes when the page opens (app.js), not with the page kept for offline.
    code = json.loads(html.unescape(re.search(r"data-map-code='([^']*)'", body).group(1)))
    assert [url.split("?")[0] for url in code][1:] == ["/static/vendor/leaflet-1.9.4/leaflet.js", "/static/js/datum.js",
                                                      "/static/js/plan-map.js"]
    assert "<script src=\"/static/vendor/leaflet" not in body


def test_r9_r10_deviation_and_notes_on_the_plan_page(app, noon):
    plan, leader, _ = full_plan()
    page = visible_text(phone_of(app, leader).get(f"/plans/{plan.id}"))
    exceptions = page[page.index("异常情况"):]
    assert "! 地点偏差" in exceptions
    assert re.search(r"签到位置距最近的审核地址（吉林省集安市工业园区1号）8\.\d\d 公里，超过 5 公里", exceptions)
    assert "备注（不属于异常）" in exceptions
    assert "签退为离线记录，稍后发送" in exceptions
    assert "崔组员 的签到在审核组已签后才发送" in exceptions
    assert "签到点由手机位置移动" not in exceptions  # the pin was not moved
    assert "未签到" not in exceptions.split("备注")[0]  # the audit has not ended


def test_r10_multi_site_plan_uses_the_nearest_site_on_the_page(app):
    me = f.auditor()
    plan = f.plan([me], start=f.local_today(-1, 8, 30), end=f.local_today(0, 23, 59), sites=(f.SITE, SECOND_SITE))
    db.session.commit()
    near_second = geo.Point(43.8100, 125.3235)
    assert isinstance(checkin.check(me, plan.id, "in", reading(near_second, clock.now()),
                                    clock.now()), checkin.Signed)
    page = visible_text(phone_of(app, me).get(f"/plans/{plan.id}"))
    assert re.search(r"距审核地址 吉林省集安市工业园区2号（43\.81710, 125\.32350）0\.\d\d 公里", page)
    assert "地点偏差" not in page


def test_r9_remote_and_cancelled_plans_show_mode_status_and_no_exceptions(app):
    me = f.auditor()
    remote = f.plan([me], mode="remote", start=f.local_today(-5), end=f.local_today(-3))
    cancelled = f.plan([me], status="cancelled", start=f.local_today(-5), end=f.local_today(-3))
    changed = f.plan([me], status="changed", mode="combined")
    db.session.commit()
    client = phone_of(app, me)
    page = visible_text(client.get(f"/plans/{remote.id}"))
    assert "审核方式：远程审核" in page and "目前没有异常。" in page
    page = visible_text(client.get(f"/plans/{cancelled.id}"))
    assert "计划状态 已取消" in page and "目前没有异常。" in page
    page = visible_text(client.get(f"/plans/{changed.id}"))
    assert "计划状态 已变更" in page and "审核方式：现场+远程" in page


def test_r10_an_ended_plan_without_record_shows_not_signed_and_photos_missing(app):
    me = f.auditor()
    plan = f.plan([me], start=f.local_today(-3), end=f.local_today(-2, 17, 0))
    db.session.commit()
    page = visible_text(phone_of(app, me).get(f"/plans/{plan.id}"))
    assert "! 未签到 缺少：签到、签退" in page
    assert "! 未上传照片 缺少：首次会议照片、末次会议照片" in page


def test_r16_another_teams_plan_page_is_404_like_a_missing_one(app):
    me, other = f.auditor(), f.auditor()
    theirs = f.plan([other])
    db.session.commit()
    client = phone_of(app, me)
    for path in (f"/plans/{theirs.id}", f"/plans/{theirs.id}/explain", "/plans/999999", "/plans/999999/explain"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert NOT_FOUND in text(response)
        assert theirs.enterprise.name not in text(response)


def test_r9_today_card_and_check_outcome_link_to_the_plan_page(app):
    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    page = text(phone_of(app, me).get("/"))
    assert f'<a href="/plans/{plan.id}">{plan.enterprise.name}</a>' in page


def test_r9_plan_page_works_without_login_redirecting_to_login(client, app):
    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    response = client.get(f"/plans/{plan.id}")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
