"""API tokens on the management end: an administrator creates one with a name (shown once,
stored hashed), sees the body's tokens (who made each, its last use), and revokes one (the
API refuses it at once, as an unknown token). The CLI's tokens are listed too. Only
administrators (managers and read-only staff: 403), only their own body's tokens (R16)."""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import re

import pytest
from sqlalchemy import event

from checkin_pwa.extensions import db
from checkin_pwa.models import ApiToken, AuditLogEntry
from checkin_pwa.services import tokens as token_service

from .. import factories
from ..api.test_plans_api import URL, example
from ..helpers import csrf_token
from .conftest import logged_in

pytestmark = pytest.mark.usefixtures("app_context")


def create(client, name):
    token = csrf_token(client, "/admin/tokens/new")
    return client.post("/admin/tokens/new", data={"name": name, "csrf_token": token})


def shown_token(answer) -> str:
    match = re.search(r"<textarea[^>]*data-token-once[^>]*>([^<]*)</textarea>", answer.get_data(as_text=True))
    assert match, answer.get_data(as_text=True)
    return html.unescape(match.group(1)).strip()


def call_api(app, plaintext, address="10.20.30.40"):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client.post(URL, data=json.dumps(example(), ensure_ascii=False), content_type="application/json",
                       headers={"Authorization": f"Bearer {plaintext}"})


def revoke(client, token_id):
    token = csrf_token(client, f"/admin/tokens/{token_id}/revoke")
    return client.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": token})


def token_entries() -> list[AuditLogEntry]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(AuditLogEntry).where(AuditLogEntry.action.like("token_%"))
                                   .order_by(AuditLogEntry.id)))


def stored_tokens() -> list[ApiToken]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(ApiToken).order_by(ApiToken.id)))


def test_a_token_is_shown_once_stored_hashed_and_accepted_by_the_api(app, admin):
    client = logged_in(app, admin)
    answer = create(client, "  ERP   同步 ")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    page = answer.get_data(as_text=True)
    assert "仅显示这一次" in page and "复制" in page
    plaintext = shown_token(answer)
    assert len(plaintext) >= 40

    (row,) = stored_tokens()
    assert row.token_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert (row.name, row.created_by_id, row.revoked, row.agency_id) == ("ERP 同步", admin.id, False, admin.agency_id)
    # The plaintext is nowhere but in that answer: not in the list, nor in the log.
    listing = client.get("/admin/tokens").get_data(as_text=True)
    assert plaintext not in listing and row.token_hash not in listing
    assert "ERP 同步" in listing and admin.name in listing and "从未使用" in listing
    (entry,) = token_entries()
    logged = json.dumps([entry.target, entry.before, entry.after], ensure_ascii=False)
    assert entry.action == "token_created" and "ERP 同步" in logged
    assert plaintext not in logged and row.token_hash not in logged

    assert call_api(app, plaintext).status_code == 200


def test_a_token_needs_a_name_and_a_refused_form_creates_nothing(app, admin):
    client = logged_in(app, admin)
    answer = create(client, "   ")
    assert answer.status_code == 422
    assert "请为令牌命名" in answer.get_data(as_text=True)
    assert create(client, "x" * 101).status_code == 422
    assert stored_tokens() == [] and token_entries() == []


def test_a_revoked_token_is_refused_by_the_api_at_once_as_an_unknown_one(app, admin):
    client = logged_in(app, admin)
    plaintext = shown_token(create(client, "ERP 同步"))
    (row,) = stored_tokens()
    assert call_api(app, plaintext).status_code == 200

    confirm = client.get(f"/admin/tokens/{row.id}/revoke")
    assert confirm.status_code == 200 and "吊销" in confirm.get_data(as_text=True)
    assert stored_tokens()[0].revoked is False, "opening the confirmation changes nothing"
    done = revoke(client, row.id)
    assert done.status_code == 303
    after = client.get("/admin/tokens").get_data(as_text=True)
    assert "令牌“ERP 同步”已吊销" in after
    state = re.search(rf'<tr data-token="{row.id}">.*?<td[^>]*data-state>(.*?)</td>', after, re.S).group(1)
    assert "已吊销" in state and admin.name in state
    assert f"/admin/tokens/{row.id}/revoke" not in after, "no revoke link for a revoked token"

    revoked = call_api(app, plaintext)
    unknown = call_api(app, "no-such-token-" + "x" * 30)
    assert revoked.status_code == unknown.status_code == 401
    assert revoked.get_json() == unknown.get_json()
    assert revoked.headers["WWW-Authenticate"] == unknown.headers["WWW-Authenticate"]

    row = stored_tokens()[0]
    assert row.revoked and row.revoked_by_id == admin.id and row.revoked_at is not None
    assert [e.action for e in token_entries()] == ["token_created", "token_revoked"]
    assert token_entries()[1].after == {"name": "ERP 同步", "state": "revoked"}
    # Revoking again changes and logs nothing.
    assert revoke(client, row.id).status_code == 303
    assert len(token_entries()) == 2


def test_the_last_use_is_recorded_with_its_address_at_most_once_a_minute(app, admin):
    client = logged_in(app, admin)
    plaintext = shown_token(create(client, "ERP 同步"))
    assert stored_tokens()[0].last_used_at is None

    assert call_api(app, plaintext, "10.1.1.1").status_code == 200
    first = stored_tokens()[0]
    assert first.last_used_from == "10.1.1.1" and first.last_used_at is not None
    listing = client.get("/admin/tokens").get_data(as_text=True)
    assert "10.1.1.1" in listing and "从未使用" not in listing

    # Within the minute: no write to api_token at all (a busy system costs no write per request).
    writes = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("UPDATE API_TOKEN"):
            writes.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        for _ in range(3):
            assert call_api(app, plaintext, "10.1.1.2").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert writes == []
    assert stored_tokens()[0].last_used_from == "10.1.1.1"

    # A minute later the next use is written, with its address.
    stored_tokens()[0].last_used_at = first.last_used_at - dt.timedelta(seconds=61)
    db.session.commit()
    assert call_api(app, plaintext, "10.1.1.3").status_code == 200
    latest = stored_tokens()[0]
    assert latest.last_used_from == "10.1.1.3" and latest.last_used_at > first.last_used_at - dt.timedelta(seconds=1)
    # A refused request (unknown token) records nothing.
    assert call_api(app, plaintext + "x", "10.1.1.4").status_code == 401
    assert stored_tokens()[0].last_used_from == "10.1.1.3"


def test_r16_another_bodys_token_is_404_and_nothing_is_written(app, admin):
    other = factories.agency(code="CNCA-R-2099-001", name="其他认证机构")
    db.session.commit()
    theirs = token_service.create_token(other.code, "对方的 ERP")
    (foreign,) = stored_tokens()
    client = logged_in(app, admin)
    assert "对方的 ERP" not in client.get("/admin/tokens").get_data(as_text=True)
    assert client.get(f"/admin/tokens/{foreign.id}/revoke").status_code == 404
    answer = revoke(client, foreign.id)
    assert answer.status_code == 404
    assert "未找到该页面，或您无权查看" in answer.get_data(as_text=True)
    assert client.get("/admin/tokens/999999/revoke").status_code == 404
    assert stored_tokens()[0].revoked is False and token_entries() == []
    assert token_service.agency_for_token(theirs).code == "CNCA-R-2099-001"


@pytest.mark.parametrize("role", ["manager", "readonly"])
def test_managers_and_read_only_staff_get_403_for_every_token_page(app, role):
    person = factories.staff(role=role)
    db.session.commit()
    token_service.create_token(person.agency.code, "CLI 令牌")
    (row,) = stored_tokens()
    client = logged_in(app, person)
    home = client.get("/admin/").get_data(as_text=True)
    assert "/admin/tokens" not in home, "no link to a page the role may not open"
    token = csrf_token(client, "/admin/")
    for method, path, data in (("get", "/admin/tokens", None), ("get", "/admin/tokens/new", None),
                               ("post", "/admin/tokens/new", {"name": "偷偷的", "csrf_token": token}),
                               ("get", f"/admin/tokens/{row.id}/revoke", None),
                               ("post", f"/admin/tokens/{row.id}/revoke", {"csrf_token": token})):
        answer = getattr(client, method)(path, data=data)
        assert answer.status_code == 403, (method, path)
        assert "无权" in answer.get_data(as_text=True) or "不能" in answer.get_data(as_text=True)
    assert [(t.name, t.revoked) for t in stored_tokens()] == [("CLI 令牌", False)]
    assert token_entries() == []


def test_tokens_made_on_the_command_line_are_listed_as_made_there(app, admin):
    runner = app.test_cli_runner()
    named = runner.invoke(args=["create-token", admin.agency.code, "--name", "旧 ERP"])
    bare = runner.invoke(args=["create-token", admin.agency.code])
    assert named.exit_code == bare.exit_code == 0, named.output + bare.output
    client = logged_in(app, admin)
    listing = client.get("/admin/tokens").get_data(as_text=True)
    rows = re.findall(r'<tr data-token="\d+">(.*?)</tr>', listing, re.S)
    assert len(rows) == 2
    assert all("命令行" in row for row in rows)
    assert any("旧 ERP" in row for row in rows) and any("（未命名）" in row for row in rows)
    # English too.
    client.get("/lang/en")
    english = client.get("/admin/tokens").get_data(as_text=True)
    assert "command line" in english and "(no name)" in english
