"""The body's notices in the console (R14): written as plain text or safe Markdown (one
rendering for the preview and the auditor's page), with files; published now, at a time, or
kept as a draft; withdrawn; who of the body's auditors has read each one. Every change is in
the audit log; another body's notice or attachment is a 404 (R16); read-only staff read only."""
from __future__ import annotations

import datetime as dt
import io
import re
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest

from checkin_pwa.domain import clock
from checkin_pwa.domain.notice_body import body_html, sanitise
from checkin_pwa.extensions import db
from checkin_pwa.models import AuditLogEntry, Notice, NoticeAttachment, NoticeRead
from checkin_pwa.services import notices as notice_service

from .. import factories
from ..helpers import csrf_token, log_in
from .conftest import logged_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MARKDOWN = "# 签到要求\n\n请注意：\n\n- 首日到场即签到\n- 末次会议后签退\n\n详见[认监委网站](https://www.cnca.gov.cn/)。"


def auditor_client(app, person):
    client = app.test_client()
    log_in(client, person)
    return client


def log_entries(prefix="notice_") -> list[AuditLogEntry]:
    db.session.expire_all()
    return [entry for entry in db.session.scalars(db.select(AuditLogEntry).order_by(AuditLogEntry.id))
            if entry.action.startswith(prefix)]


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def write(client, *, title="关于签到的通知", body=MARKDOWN, body_format="markdown", mode="now", publish_at="",
          files=()):
    token = csrf_token(client, "/admin/notices/new")
    data = {"title": title, "body": body, "body_format": body_format, "mode": mode, "publish_at": publish_at,
            "csrf_token": token}
    if files:
        data["files"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post("/admin/notices/new", data=data, content_type="multipart/form-data")


def act(client, notice_id, action, **fields):
    token = csrf_token(client, f"/admin/notices/{notice_id}")
    return client.post(f"/admin/notices/{notice_id}/{action}", data={"csrf_token": token, **fields},
                       content_type="multipart/form-data")


def newest() -> Notice:
    db.session.expire_all()
    return db.session.scalars(db.select(Notice).order_by(Notice.id.desc())).first()


def local_text(naive_utc: dt.datetime) -> str:
    """A datetime-local field's value for `naive_utc` on the body's clock."""
    return naive_utc.replace(tzinfo=dt.timezone.utc).astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def later(monkeypatch, delta: dt.timedelta) -> None:
    """Move the server's clock (the time of record) forward by `delta`."""
    real = clock.now
    monkeypatch.setattr(clock, "now", lambda: real() + delta)


@pytest.fixture
def manager(app):
    person = factories.staff(role="manager", name="李经理")
    db.session.commit()
    return person


# --- the one rendering --------------------------------------------------------------------

class Markup(HTMLParser):
    """Every element and attribute of an HTML fragment (the text between them is not markup)."""

    def __init__(self, fragment: str):
        super().__init__()
        self.elements: list[tuple[str, dict]] = []
        self.feed(fragment)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))


def assert_only_allowed_markup(fragment: str) -> None:
    for tag, attrs in Markup(fragment).elements:
        assert tag in {"p", "br", "h2", "h3", "h4", "h5", "h6", "em", "strong", "ul", "ol", "li", "a"}, fragment
        if tag == "a":
            assert set(attrs) <= {"href", "rel"}, fragment
            assert attrs["rel"] == "noopener noreferrer"
            assert re.match(r"(https?|mailto):", attrs.get("href", "https:")), fragment  # no href: plain text
        else:
            assert set(attrs) <= ({"start"} if tag == "ol" else set()), fragment


HOSTILE = [
    "<script>alert(1)</script>",
    "[点我](javascript:alert(1))",
    "[点我](JaVaScRiPt:alert(1))",
    "<javascript:alert(1)>",
    "[点我](java\tscript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "![外部图片](https://evil.example/x.png)",
    "[data](data:text/html;base64,PHNjcmlwdD4=)",
    "[相对](/admin/staff)",
    "[协议相对](//evil.example/)",
    '<a href="https://a.cn" onclick="x()">a</a>',
    "<iframe src=https://evil.example></iframe>",
    "<style>body{display:none}</style>",
    '<p style="position:fixed">x</p>',
]


@pytest.mark.parametrize("source", HOSTILE)
def test_r14_markdown_renders_only_the_allow_listed_markup(source):
    html = body_html(source, "markdown")
    assert_only_allowed_markup(html)
    assert not any(tag == "a" for tag, _ in Markup(html).elements) or "evil.example/x.png" in source


def test_r14_the_sanitiser_itself_drops_what_the_allow_list_does_not_name():
    """The second line of defence, on raw HTML (the parser never lets raw HTML through)."""
    html = sanitise('<h1 id="x">t</h1><a href="javascript:alert(1)" onclick="y()">a</a><a href="/rel">r</a>'
                    '<a href="https://ok.cn" target="_top">ok</a><img src=x onerror=alert(1)>'
                    '<script>alert(2)</script><p style="color:red">p</p><iframe src="https://e.cn"></iframe>')
    assert_only_allowed_markup(html)
    assert '<a href="https://ok.cn" rel="noopener noreferrer">ok</a>' in html
    assert "alert(2)" not in html  # a script goes with its content
    assert [tag for tag, _ in Markup(html).elements] == ["a", "a", "a", "p"]


def test_r14_markdown_keeps_headings_emphasis_lists_links_and_line_breaks():
    html = body_html("# 标题\n**重要** *提示*\n第二行\n\n1. 一\n2. 二\n\n- 甲\n\n[邮件](mailto:a@b.cn) "
                     "[网站](http://example.cn/a?b=1)", "markdown")
    assert "<h2>标题</h2>" in html  # the notice's title is the page's h1
    assert "<strong>重要</strong> <em>提示</em><br>" in html
    assert "<ol>" in html and "<li>一</li>" in html and "<ul>" in html and "<li>甲</li>" in html
    assert '<a href="mailto:a@b.cn" rel="noopener noreferrer">邮件</a>' in html
    assert '<a href="http://example.cn/a?b=1" rel="noopener noreferrer">网站</a>' in html


def test_r14_plain_text_is_escaped_and_never_markup():
    assert body_html("<b>粗</b>\n第二行", "text") == "&lt;b&gt;粗&lt;/b&gt;\n第二行"


# --- writing and publishing ---------------------------------------------------------------

def test_r14_a_markdown_notice_with_a_file_published_now_is_rendered_for_the_auditor(app_context, app, manager):
    reader = factories.auditor(name="赵审核")
    db.session.commit()
    client = logged_in(app, manager)
    answer = write(client, files=[("签到说明.pdf", PDF)])
    assert answer.status_code == 303
    notice = newest()
    assert (notice.agency_id, notice.body_format) == (manager.agency_id, "markdown")
    assert notice.published_at is not None and notice.withdrawn_at is None

    page = auditor_client(app, reader).get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "<h2>签到要求</h2>" in page
    assert "<li>首日到场即签到</li>" in page
    assert '<a href="https://www.cnca.gov.cn/" rel="noopener noreferrer">认监委网站</a>' in page
    [item] = notice.attachments
    download = auditor_client(app, reader).get(f"/notices/{notice.id}/attachments/{item.id}")
    assert download.status_code == 200 and download.data == PDF

    [entry] = log_entries()
    assert entry.action == "notice_published" and entry.before is None
    assert entry.after["state"] == "published" and entry.after["attachments"] == ["签到说明.pdf"]
    assert entry.target == f"notice:{notice.id} 关于签到的通知"


def test_r14_preview_is_the_auditors_rendering(app_context, app, manager):
    client = logged_in(app, manager)
    token = csrf_token(client, "/admin/notices/new")
    preview = client.post("/admin/notices/preview", data={"body": MARKDOWN, "body_format": "markdown"},
                          headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert preview.status_code == 200
    assert body_html(MARKDOWN, "markdown") in preview.get_data(as_text=True)
    assert count(Notice) == 0


def test_r14_a_scheduled_notice_is_hidden_until_its_time_then_visible(app_context, app, manager, monkeypatch):
    reader = factories.auditor(name="赵审核")
    db.session.commit()
    client = logged_in(app, manager)
    at = clock.now() + dt.timedelta(hours=2)
    assert write(client, mode="at", publish_at=local_text(at), files=[("附件.pdf", PDF)]).status_code == 303
    notice = newest()
    assert notice.published_at == at.replace(second=0, microsecond=0)
    [item] = notice.attachments
    assert 'data-state="scheduled">定时' in client.get("/admin/notices").get_data(as_text=True)
    [entry] = log_entries()
    assert entry.action == "notice_scheduled" and entry.after["state"] == "scheduled"

    phone = auditor_client(app, reader)
    assert "关于签到的通知" not in phone.get("/notices").get_data(as_text=True)
    assert phone.get(f"/notices/{notice.id}").status_code == 404
    assert phone.get(f"/notices/{notice.id}/attachments/{item.id}").status_code == 404
    assert count(NoticeRead) == 0

    later(monkeypatch, dt.timedelta(hours=2, minutes=1))
    assert "关于签到的通知" in phone.get("/notices").get_data(as_text=True)
    assert phone.get(f"/notices/{notice.id}").status_code == 200
    assert phone.get(f"/notices/{notice.id}/attachments/{item.id}").data == PDF
    assert 'data-state="published">已发布' in client.get("/admin/notices").get_data(as_text=True)


def test_r14_a_draft_is_seen_by_nobody_until_published(app_context, app, manager):
    reader = factories.auditor()
    db.session.commit()
    client = logged_in(app, manager)
    assert write(client, mode="draft").status_code == 303
    notice = newest()
    assert notice.published_at is None
    phone = auditor_client(app, reader)
    assert phone.get(f"/notices/{notice.id}").status_code == 404
    assert act(client, notice.id, "publish").status_code == 303
    assert phone.get(f"/notices/{notice.id}").status_code == 200
    created, published = log_entries()
    assert created.action == "notice_created" and created.after["state"] == "draft"
    assert published.action == "notice_published"
    assert (published.before["state"], published.after["state"]) == ("draft", "published")


def test_r14_withdrawn_notice_is_gone_for_auditors_and_its_read_receipts_stay(app_context, app, manager):
    reader = factories.auditor(name="赵审核")
    db.session.commit()
    client = logged_in(app, manager)
    write(client, files=[("附件.pdf", PDF)])
    notice = newest()
    item_id = notice.attachments[0].id
    phone = auditor_client(app, reader)
    assert phone.get(f"/notices/{notice.id}").status_code == 200

    confirm = client.get(f"/admin/notices/{notice.id}/withdraw").get_data(as_text=True)
    assert "审核员将不再看到此通知及其附件" in confirm and newest().withdrawn_at is None
    assert act(client, notice.id, "withdraw").status_code == 303
    assert "关于签到的通知" not in phone.get("/notices").get_data(as_text=True)
    assert phone.get(f"/notices/{notice.id}").status_code == 404
    assert phone.get(f"/notices/{notice.id}/attachments/{item_id}").status_code == 404
    assert count(NoticeRead) == 1
    page = client.get(f"/admin/notices/{notice.id}").get_data(as_text=True)
    assert 'data-state="withdrawn">已撤回' in page
    assert "1 / 1 名审核员" in page
    assert re.search(r'data-read="yes">\s*<td[^>]*>赵审核', page)
    entry = log_entries()[-1]
    assert entry.action == "notice_withdrawn"
    assert (entry.before["state"], entry.after["state"]) == ("published", "withdrawn")
    assert entry.after["withdrawn_at"] is not None

    again = act(client, notice.id, "withdraw")
    assert again.status_code == 303 and len(log_entries()) == 2  # nothing more to withdraw


def test_r14_read_receipts_list_who_read_when_and_who_not_page_by_page(app_context, app, manager):
    people = [factories.auditor(name=f"审核员{n:02d}") for n in range(30)]
    other_body = factories.agency(code="CNCA-R-2099-001", name="其他认证机构")
    stranger = factories.auditor(name="外机构审核员")
    stranger.agency_id = other_body.id
    db.session.commit()
    client = logged_in(app, manager)
    write(client)
    notice = newest()
    for person in people[:3]:
        assert auditor_client(app, person).get(f"/notices/{notice.id}").status_code == 200

    assert "3 / 30 名审核员" in client.get("/admin/notices").get_data(as_text=True)
    read = client.get(f"/admin/notices/{notice.id}?which=read").get_data(as_text=True)
    assert read.count('data-read="yes"') == 3 and 'data-read="no"' not in read
    today = dt.datetime.now(SHANGHAI).strftime("%Y-%m-%d")
    assert read.count(today) >= 3  # when each read it
    first = client.get(f"/admin/notices/{notice.id}?which=unread", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert first.count('data-read="no"') == 25 and "第 1 / 2 页" in first
    second = client.get(f"/admin/notices/{notice.id}?which=unread&page=2").get_data(as_text=True)
    assert second.count('data-read="no"') == 2
    everyone = "".join(client.get(f"/admin/notices/{notice.id}?page={n}").get_data(as_text=True) for n in (1, 2))
    assert "外机构审核员" not in everyone


def test_r14_a_draft_is_corrected_before_publishing_and_not_after(app_context, app, manager):
    client = logged_in(app, manager)
    write(client, mode="draft", body="旧的正文", body_format="text")
    notice = newest()
    form = client.get(f"/admin/notices/{notice.id}/edit").get_data(as_text=True)
    assert "旧的正文" in form
    token = csrf_token(client, f"/admin/notices/{notice.id}/edit")
    fields = {"title": "关于签到的通知（修订）", "body": MARKDOWN, "body_format": "markdown", "csrf_token": token}
    assert client.post(f"/admin/notices/{notice.id}/edit", data=fields).status_code == 303
    assert (newest().title, newest().body_format) == ("关于签到的通知（修订）", "markdown")
    entry = log_entries()[-1]
    assert entry.action == "notice_changed"
    assert (entry.before["body"], entry.after["body"]) == ("旧的正文", MARKDOWN)
    assert (entry.before["title"], entry.after["title"]) == ("关于签到的通知", "关于签到的通知（修订）")

    act(client, notice.id, "publish")
    refused = client.post(f"/admin/notices/{notice.id}/edit", data={**fields, "title": "发布后再改"})
    assert refused.status_code == 422 and "不能这样操作" in refused.get_data(as_text=True)
    assert newest().title == "关于签到的通知（修订）"
    assert [entry.action for entry in log_entries()] == ["notice_created", "notice_changed", "notice_published"]


def test_r14_the_console_lists_the_bodys_notices_page_by_page_with_their_state(app_context, app, manager):
    other_body = factories.agency(code="CNCA-R-2099-001", name="其他认证机构")
    notice_service.create_notice(other_body, "外机构通知")
    notice_service.create_notice(None, "监管部门通知")
    for n in range(24):
        notice_service.create_notice(manager.agency, f"本机构通知{n:02d}")
    client = logged_in(app, manager)
    write(client, title="草稿通知", mode="draft")
    first = client.get("/admin/notices").get_data(as_text=True)
    assert "共 25 条通知" in first and first.count("data-notice=") == 20 and "第 1 / 2 页" in first
    assert 'data-state="draft">草稿' in first.split("data-notice=")[1]  # the latest written first
    second = client.get("/admin/notices?page=2", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert second.count("data-notice=") == 5 and "本机构通知00" in second and "<html" not in second
    assert "外机构通知" not in first + second and "监管部门通知" not in first + second


def test_r14_more_attachments_are_logged_with_before_and_after(app_context, app, manager):
    client = logged_in(app, manager)
    write(client, files=[("一.pdf", PDF)])
    notice = newest()
    assert act(client, notice.id, "attachments", files=[(io.BytesIO(b"plain text"), "二.txt")]).status_code == 303
    assert [item.filename for item in newest().attachments] == ["一.pdf", "二.txt"]
    entry = log_entries()[-1]
    assert entry.action == "notice_attachment_added"
    assert (entry.before["attachments"], entry.after["attachments"]) == (["一.pdf"], ["一.pdf", "二.txt"])
    download = client.get(f"/admin/notices/{notice.id}/attachments/{newest().attachments[1].id}")
    assert download.status_code == 200 and download.data == b"plain text"
    assert download.headers["Content-Disposition"].startswith("attachment;")


# --- hostile input --------------------------------------------------------------------------

@pytest.mark.parametrize("case, expected", [
    ("blank_title", "标题为空"),
    ("long_title", "标题太长"),
    ("long_body", "正文太长：最多 20000 个字符"),
    ("past_time", "发布时间已过"),
    ("bad_time", "无法识别发布时间"),
    ("far_time", "超过一年"),
    ("empty_file", "附件 空.pdf 是空文件"),
    ("big_file", "附件 大.pdf 太大"),
])
def test_r14_bad_input_is_a_clear_chinese_error_and_nothing_is_written(app_context, app, manager, case, expected):
    app.config["NOTICE_ATTACHMENT_MAX_BYTES"] = 1000
    client = logged_in(app, manager)
    fields = {
        "blank_title": {"title": "   \u3000 "},
        "long_title": {"title": "长" * 201},
        "long_body": {"body": "字" * 20_001},
        "past_time": {"mode": "at", "publish_at": local_text(clock.now() - dt.timedelta(minutes=5))},
        "bad_time": {"mode": "at", "publish_at": "明天上午"},
        "far_time": {"mode": "at", "publish_at": local_text(clock.now() + dt.timedelta(days=400))},
        "empty_file": {"files": [("空.pdf", b"")]},
        "big_file": {"files": [("大.pdf", b"x" * 1001)]},
    }[case]
    answer = write(client, **fields)
    assert answer.status_code == 422
    assert expected in answer.get_data(as_text=True)
    assert count(Notice) == 0 and count(NoticeAttachment) == 0 and log_entries() == []


def test_r14_a_one_megabyte_body_is_refused_in_chinese_not_a_500(app_context, app, manager):
    client = logged_in(app, manager)
    answer = write(client, body="<script>alert(1)</script>" * 42_000)  # about 1 MB
    assert answer.status_code in (413, 422)
    text = answer.get_data(as_text=True)
    assert "20000 个字符" in text  # the text's limit, in Chinese
    assert "<script>alert" not in text
    assert count(Notice) == 0


def test_r14_script_and_onerror_in_a_notice_are_shown_as_text(app_context, app, manager):
    reader = factories.auditor()
    db.session.commit()
    client = logged_in(app, manager)
    hostile = '<script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1))'
    for body_format in ("text", "markdown"):
        assert write(client, title="<b>标题</b>", body=hostile, body_format=body_format).status_code == 303
        notice = newest()
        for page in (auditor_client(app, reader).get(f"/notices/{notice.id}").get_data(as_text=True),
                     client.get(f"/admin/notices/{notice.id}").get_data(as_text=True)):
            assert "<script>alert" not in page and "<img src=x" not in page and 'href="javascript' not in page
            assert "&lt;b&gt;标题&lt;/b&gt;" in page


# --- who may ---------------------------------------------------------------------------------

def test_r16_another_bodys_notice_and_attachment_are_404_and_nothing_is_written(app_context, app, manager):
    other_body = factories.agency(code="CNCA-R-2099-001", name="其他认证机构")
    theirs = notice_service.create_notice(other_body, "外机构通知", "正文", [("他们的.pdf", PDF)],
                                          clock.now() + dt.timedelta(hours=1))
    their_file = theirs.attachments[0].id
    client = logged_in(app, manager)
    write(client, files=[("我们的.pdf", PDF)])
    ours = newest()
    before = log_entries()

    assert client.get(f"/admin/notices/{theirs.id}").status_code == 404
    assert client.get(f"/admin/notices/{theirs.id}/attachments/{their_file}").status_code == 404
    assert client.get(f"/admin/notices/{ours.id}/attachments/{their_file}").status_code == 404
    assert client.get("/admin/notices/999999").status_code == 404
    for action, fields in (("publish", {}), ("withdraw", {}), ("schedule", {"publish_at": "2030-01-01T09:00"}),
                           ("attachments", {"files": [(io.BytesIO(PDF), "多的.pdf")]})):
        token = csrf_token(client, "/admin/notices")
        answer = client.post(f"/admin/notices/{theirs.id}/{action}", data={"csrf_token": token, **fields},
                             content_type="multipart/form-data")
        assert answer.status_code == 404, action
    assert "外机构通知" not in client.get("/admin/notices").get_data(as_text=True)
    db.session.expire_all()
    again = db.session.get(Notice, theirs.id)
    assert again.withdrawn_at is None and len(again.attachments) == 1
    assert again.published_at == theirs.published_at
    assert log_entries() == before


def test_r18_read_only_staff_read_notices_but_get_403_for_every_change(app_context, app, manager):
    reader = factories.staff(role="readonly", name="只读")
    db.session.commit()
    client = logged_in(app, manager)
    write(client, mode="draft", files=[("附件.pdf", PDF)])
    notice = newest()
    reading = logged_in(app, reader, offset_steps=1)
    listing = reading.get("/admin/notices").get_data(as_text=True)
    assert "关于签到的通知" in listing and "/admin/notices/new" not in listing
    detail = reading.get(f"/admin/notices/{notice.id}").get_data(as_text=True)
    assert "<h2>签到要求</h2>" in detail and "立即发布" not in detail
    assert reading.get(f"/admin/notices/{notice.id}/attachments/{notice.attachments[0].id}").data == PDF
    assert reading.get("/admin/notices/new").status_code == 403
    token = csrf_token(reading, "/admin/notices")
    assert reading.get(f"/admin/notices/{notice.id}/edit").status_code == 403
    assert reading.get(f"/admin/notices/{notice.id}/withdraw").status_code == 403
    for path in ("/admin/notices/new", "/admin/notices/preview", f"/admin/notices/{notice.id}/publish",
                 f"/admin/notices/{notice.id}/edit",
                 f"/admin/notices/{notice.id}/withdraw", f"/admin/notices/{notice.id}/schedule",
                 f"/admin/notices/{notice.id}/attachments"):
        answer = reading.post(path, data={"csrf_token": token, "title": "改", "mode": "now",
                                          "publish_at": "2030-01-01T09:00"})
        assert answer.status_code == 403 and "未做任何更改" in answer.get_data(as_text=True), path
    assert newest().published_at is None and len(newest().attachments) == 1
    assert [entry.action for entry in log_entries()] == ["notice_created"]
