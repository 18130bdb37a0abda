"""R14 notices: the add-notice command, the list and a notice as an auditor sees them, the
unread count on the home page, attachment downloads checked against the auditor's body."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import event

from checkin_pwa.extensions import db
from checkin_pwa.models import Notice, NoticeAttachment, NoticeRead
from checkin_pwa.services import notices

from . import factories
from .helpers import in_app_context, log_in

PHOTO = Path("/work/shared/fixtures/photos/Canon_40D.jpg")
OTHER_BODY = ("CNCA-R-2009-999", "上海另一认证有限公司")


def small_pdf(tmp_path, name="审核通知.pdf") -> Path:
    path = tmp_path / name
    path.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
    return path


def count(model) -> int:
    return db.session.scalar(db.select(db.func.count()).select_from(model))


def store(app):
    return app.extensions["photo_store"]


def make_notice(title, agency=None, body="", attachments=(), published_at=None):
    return notices.create_notice(agency, title, body, list(attachments), published_at)


@pytest.fixture
def auditor_client(app, client):
    person = factories.auditor()
    db.session.commit()
    log_in(client, person)
    return client, person


def badge(html: str):
    """The number on the bottom navigation's 通知, or None when there is no badge."""
    match = re.search(r'class="nav-badge"[^>]*>([^<]+)<', html)
    return match.group(1) if match else None


# --- the command ------------------------------------------------------------------------

def test_r14_cli_adds_a_notice_with_attachments(app_context, app, runner, tmp_path):
    agency = factories.agency()
    db.session.commit()
    pdf = small_pdf(tmp_path)
    body = tmp_path / "body.txt"
    body.write_text("各位审核员：\n请于本周内完成签到。\n", encoding="utf-8")

    result = runner.invoke(args=["add-notice", "--title", "关于签到的通知", "--body-file", str(body),
                                 "--agency", agency.code, "--attach", str(pdf), "--attach", str(PHOTO),
                                 "--published-at", "2026-11-20T09:30"])

    assert result.exit_code == 0, result.output
    [notice] = db.session.scalars(db.select(Notice)).all()
    assert f"通知已添加：编号 {notice.id}" in result.output
    assert notice.title == "关于签到的通知"
    assert notice.body == "各位审核员：\n请于本周内完成签到。\n"
    assert notice.agency_id == agency.id
    assert notice.published_at == dt.datetime(2026, 11, 20, 1, 30, tzinfo=dt.timezone.utc)  # 09:30 Beijing
    first, second = notice.attachments
    assert (first.filename, first.content_type) == ("审核通知.pdf", "application/pdf")
    assert (second.filename, second.content_type) == ("Canon_40D.jpg", "image/jpeg")
    for item, path in ((first, pdf), (second, PHOTO)):
        data = path.read_bytes()
        assert item.size == len(data)
        assert item.sha256 == hashlib.sha256(data).hexdigest()
        assert item.storage_key == f"notices/{item.sha256}"
        assert store(app).read(item.storage_key) == data


def test_r14_cli_without_agency_is_the_regulators_and_the_same_file_is_stored_once(app_context, app, runner, tmp_path):
    pdf = small_pdf(tmp_path)
    for title in ("监管通知一", "监管通知二"):
        result = runner.invoke(args=["add-notice", "--title", title, "--body", "正文", "--attach", str(pdf)])
        assert result.exit_code == 0, result.output
        assert "监管部门" in result.output
    one, two = db.session.scalars(db.select(Notice).order_by(Notice.id)).all()
    assert one.agency_id is None and two.agency_id is None  # no duplicate check: two notices
    assert one.attachments[0].storage_key == two.attachments[0].storage_key
    assert len([key for key, _ in store(app).keys() if key.startswith("notices/")]) == 1


@pytest.mark.parametrize("case", ["missing_file", "unknown_agency", "empty_title", "long_title", "too_large",
                                  "bad_time", "body_not_utf8", "agency_and_regulator", "long_body"])
def test_r14_cli_refuses_bad_input_and_adds_nothing(app_context, app, runner, tmp_path, case):
    factories.agency()
    db.session.commit()
    app.config["NOTICE_ATTACHMENT_MAX_BYTES"] = 1000
    small = small_pdf(tmp_path)
    args = ["add-notice", "--title", "通知", "--attach", str(small)]
    expected = {
        "missing_file": "附件不存在",
        "unknown_agency": "没有代码为 NO-SUCH-BODY 的认证机构",
        "empty_title": "标题为空",
        "long_title": "标题太长：最多 200 个字符",
        "too_large": "附件 Canon_40D.jpg 太大",
        "bad_time": "--published-at 须为 ISO 时间",
        "body_not_utf8": "不是 UTF-8 文本",
        "long_body": "正文太长：最多 20000 个字符",
        "agency_and_regulator": "不能同时",
    }[case]
    if case == "missing_file":
        args += ["--attach", str(tmp_path / "nope.pdf")]
    elif case == "unknown_agency":
        args += ["--agency", "NO-SUCH-BODY"]
    elif case == "empty_title":
        args[2] = "   "
    elif case == "long_title":
        args[2] = "长" * 201
    elif case == "too_large":
        args += ["--attach", str(PHOTO)]
    elif case == "bad_time":
        args += ["--published-at", "yesterday"]
    elif case == "body_not_utf8":
        gbk = tmp_path / "gbk.txt"
        gbk.write_bytes("通知正文".encode("gbk"))
        args += ["--body-file", str(gbk)]
    elif case == "agency_and_regulator":
        args += ["--agency", factories.agency().code, "--regulator"]
    elif case == "long_body":
        args += ["--body", "字" * 20_001]

    result = runner.invoke(args=args)

    assert result.exit_code == 1
    assert expected in result.output
    assert "Traceback" not in result.output
    assert count(Notice) == 0 and count(NoticeAttachment) == 0
    assert not any(key.startswith("notices/") for key, _ in store(app).keys())


def test_r14_create_notice_cleans_the_file_name_and_types_only_allowed_extensions(app_context, app):
    notice = make_notice("名称", attachments=[("../../etc/\x07报告.PDF", b"%PDF-1.4"),
                                               ("C:\\temp\\page.html", b"<script>alert(1)</script>"),
                                               ("logo.svg", b"<svg onload='alert(1)'/>")])
    assert [(a.filename, a.content_type) for a in notice.attachments] == [
        ("报告.PDF", "application/pdf"),
        ("page.html", "application/octet-stream"),
        ("logo.svg", "application/octet-stream"),
    ]


# --- the list ---------------------------------------------------------------------------

def test_r14_list_shows_own_body_and_regulator_notices_never_another_bodys(app_context, app, auditor_client):
    client, person = auditor_client
    own = factories.agency()
    other = factories.agency(*OTHER_BODY)
    now = dt.datetime.utcnow()
    make_notice("本机构的通知", own, published_at=now - dt.timedelta(days=2))
    make_notice("监管部门的通知", None, attachments=[("a.pdf", b"%PDF"), ("b.txt", b"x")],
                published_at=now - dt.timedelta(days=1))
    make_notice("别的机构的通知", other, published_at=now - dt.timedelta(hours=1))
    make_notice("明天才发布的通知", own, published_at=now + dt.timedelta(days=1))

    html = client.get("/notices").get_data(as_text=True)

    assert "别的机构的通知" not in html and OTHER_BODY[1] not in html
    assert "明天才发布的通知" not in html
    assert html.index("监管部门的通知") < html.index("本机构的通知")  # newest first
    assert own.name in html and "监管部门" in html
    assert "附件：2" in html
    assert html.count('class="notice-unread-label">未读') == 2
    assert html.count("unread-dot") == 2


def test_r14_an_auditor_without_a_body_sees_only_the_regulators(app_context, app, client):
    person = factories.auditor()
    person.agency_id = None
    make_notice("本机构的通知", factories.agency())
    make_notice("监管部门的通知")
    log_in(client, person)
    html = client.get("/notices").get_data(as_text=True)
    assert "监管部门的通知" in html and "本机构的通知" not in html


def test_r14_list_is_paginated_by_twenty(app_context, app, auditor_client):
    client, _ = auditor_client
    start = dt.datetime.utcnow() - dt.timedelta(days=30)
    for n in range(25):
        make_notice(f"第{n:02d}号通知", published_at=start + dt.timedelta(hours=n))

    first = client.get("/notices").get_data(as_text=True)
    second = client.get("/notices?page=2", headers={"HX-Request": "true"})
    beyond = client.get("/notices?page=99").get_data(as_text=True)
    bad = client.get("/notices?page=abc").get_data(as_text=True)

    assert first.count('class="card notice-row') == 20
    assert "第24号通知" in first and "第05号通知" in first and "第04号通知" not in first
    assert "第 1 / 2 页" in first and "下一页" in first
    part = second.get_data(as_text=True)
    assert part.lstrip().startswith("<section id=\"notice-list\"") and "<html" not in part
    assert "HX-Request" in second.headers.get("Vary", "")
    assert "第04号通知" in part and "第00号通知" in part and "第05号通知" not in part
    assert "第 2 / 2 页" in beyond and "第00号通知" in beyond
    assert "第 1 / 2 页" in bad


# --- unread count -----------------------------------------------------------------------

def test_r14_unread_count_on_the_home_page_drops_after_opening(app_context, app, auditor_client):
    client, person = auditor_client
    first = make_notice("第一条", factories.agency())
    make_notice("第二条")
    make_notice("别家的", factories.agency(*OTHER_BODY))
    assert badge(client.get("/").get_data(as_text=True)) == "2"

    assert client.get(f"/notices/{first.id}").status_code == 200
    [read] = db.session.scalars(db.select(NoticeRead)).all()
    first_read_at = read.read_at
    assert badge(client.get("/").get_data(as_text=True)) == "1"

    client.get(f"/notices/{first.id}")  # a second open keeps the first read time
    reads = db.session.scalars(db.select(NoticeRead)).all()
    assert len(reads) == 1 and reads[0].read_at == first_read_at
    html = client.get("/notices").get_data(as_text=True)
    assert html.count('class="notice-unread-label">未读') == 1


def test_r14_one_auditor_reading_leaves_the_others_count(app):
    with in_app_context(app):
        reader, other = factories.auditor(), factories.auditor()
        notice = make_notice("通知")
    reader_client, other_client = app.test_client(), app.test_client()
    log_in(reader_client, reader)
    log_in(other_client, other)
    reader_client.get(f"/notices/{notice.id}")
    assert badge(reader_client.get("/").get_data(as_text=True)) is None
    assert badge(other_client.get("/").get_data(as_text=True)) == "1"


def test_r14_unread_count_is_one_query(app_context, app, auditor_client):
    _, person = auditor_client
    for n in range(5):
        make_notice(f"通知{n}")
    db.session.refresh(person)  # loaded now, not inside the count
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        assert notices.unread_count(person, dt.datetime.now(dt.timezone.utc)) == 5
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert len(statements) == 1 and "count" in statements[0].lower()


# --- one notice -------------------------------------------------------------------------

def test_r14_detail_shows_the_body_as_escaped_plain_text(app_context, app, auditor_client):
    client, _ = auditor_client
    body = "第一行\n<script>alert('x')</script>\n<b hx-get=\"/logout\" hx-trigger=\"load\">粗体</b>"
    notice = make_notice("<i>标题</i>", factories.agency(), body=body,
                         attachments=[("说明 附件.pdf", b"%PDF-1.4 hello")])

    html = client.get(f"/notices/{notice.id}").get_data(as_text=True)

    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<script>alert" not in html and "<b hx-get" not in html and "<i>标题" not in html
    assert "&lt;i&gt;标题&lt;/i&gt;" in html
    assert "第一行\n&lt;script&gt;" in html  # line breaks kept (white-space: pre-wrap)
    assert "说明 附件.pdf" in html and "14 B" in html
    assert factories.agency().name in html
    assert f'/notices/{notice.id}/attachments/{notice.attachments[0].id}' in html


def test_r14_another_bodys_notice_is_404_like_a_missing_one(app_context, app, auditor_client):
    client, _ = auditor_client
    other = make_notice("别家的", factories.agency(*OTHER_BODY))
    future = make_notice("还没发布", published_at=dt.datetime.utcnow() + dt.timedelta(hours=1))
    for notice_id in (other.id, future.id, 999999):
        response = client.get(f"/notices/{notice_id}")
        assert response.status_code == 404
        assert "别家的" not in response.get_data(as_text=True)
    assert count(NoticeRead) == 0


def test_r14_notices_need_a_login(app_context, client):
    notice = make_notice("通知", attachments=[("a.pdf", b"%PDF")])
    for url in ("/notices", f"/notices/{notice.id}", f"/notices/{notice.id}/attachments/{notice.attachments[0].id}"):
        response = client.get(url)
        assert response.status_code in (302, 303) and "/login" in response.headers["Location"]


# --- attachments ------------------------------------------------------------------------

def test_r14_attachment_download_is_the_exact_bytes_as_a_utf8_named_attachment(app_context, app, auditor_client, tmp_path):
    client, _ = auditor_client
    data = small_pdf(tmp_path).read_bytes()
    notice = make_notice("通知", factories.agency(), attachments=[("2026年 审核通知.pdf", data)])
    item = notice.attachments[0]

    response = client.get(f"/notices/{notice.id}/attachments/{item.id}")

    assert response.status_code == 200
    assert hashlib.sha256(response.data).hexdigest() == hashlib.sha256(data).hexdigest()
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith(f'attachment; filename="attachment-{item.id}.pdf";')  # ASCII for old clients
    assert f"filename*=UTF-8''{quote('2026年 审核通知.pdf')}" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize("name,payload", [("page.html", b"<script>alert(1)</script>"),
                                          ("logo.svg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>")])
def test_r14_an_html_or_svg_attachment_is_never_served_as_a_page(app_context, app, auditor_client, name, payload):
    client, _ = auditor_client
    notice = make_notice("通知", attachments=[(name, payload)])
    response = client.get(f"/notices/{notice.id}/attachments/{notice.attachments[0].id}")
    assert response.status_code == 200 and response.data == payload
    assert response.mimetype == "application/octet-stream"
    assert response.headers["Content-Disposition"].startswith("attachment;")


def test_r14_an_attachment_of_another_bodys_notice_is_404(app_context, app, auditor_client):
    client, _ = auditor_client
    mine = make_notice("本机构的", factories.agency(), attachments=[("mine.pdf", b"%PDF mine")])
    theirs = make_notice("别家的", factories.agency(*OTHER_BODY), attachments=[("secret.pdf", b"%PDF secret")])
    secret = theirs.attachments[0]

    assert client.get(f"/notices/{theirs.id}/attachments/{secret.id}").status_code == 404
    # Nor through my own notice's URL.
    response = client.get(f"/notices/{mine.id}/attachments/{secret.id}")
    assert response.status_code == 404 and b"secret" not in response.data


def test_r14_an_attachment_of_another_notice_under_the_right_notice_id_is_404(app_context, app, auditor_client):
    client, _ = auditor_client
    one = make_notice("一", attachments=[("one.pdf", b"%PDF one")])
    two = make_notice("二", attachments=[("two.pdf", b"%PDF two")])
    assert client.get(f"/notices/{one.id}/attachments/{two.attachments[0].id}").status_code == 404
    assert client.get(f"/notices/{two.id}/attachments/{two.attachments[0].id}").data == b"%PDF two"
    assert client.get(f"/notices/{one.id}/attachments/999999").status_code == 404


def test_r14_the_orphan_sweep_keeps_notice_attachments(app_context, app, runner):
    notice = make_notice("通知", attachments=[("a.pdf", b"%PDF keep me")])
    key = notice.attachments[0].storage_key
    # Every unreferenced file is old enough at --min-age 0 (on either store).
    result = runner.invoke(args=["sweep-photos", "--min-age", "0"])
    assert result.exit_code == 0, result.output
    assert store(app).exists(key)


def test_r14_demo_notices_are_added_once_one_with_a_pdf(app_context, app, auditor_client):
    client, _ = auditor_client
    now = dt.datetime.now(dt.timezone.utc)
    made = notices.add_demo_notices(factories.agency(), now)
    assert len(made) == 2 and notices.add_demo_notices(factories.agency(), now) == []
    with_file = next(n for n in made if n.attachments)
    item = with_file.attachments[0]
    data = client.get(f"/notices/{with_file.id}/attachments/{item.id}").data
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    assert badge(client.get("/").get_data(as_text=True)) == "2"


def test_r14_an_attachment_whose_file_is_gone_is_404_not_500(app_context, app, auditor_client, caplog):
    client, _ = auditor_client
    notice = make_notice("通知", attachments=[("a.pdf", b"%PDF gone")])
    item = notice.attachments[0]
    store(app).delete(item.storage_key)
    assert client.get(f"/notices/{notice.id}/attachments/{item.id}").status_code == 404
    assert "missing from the store" in caplog.text
