"""POST /api/v1/plans: a body's system imports its plan document with a bearer token."""
from __future__ import annotations

import copy
import http.client
import json
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from checkin_pwa.extensions import db
from checkin_pwa.models import Agency, ApiToken, AuditPlan, Auditor, Enterprise, PlanSite, TeamMember
from checkin_pwa.services import tokens

from .. import factories

EXAMPLE = Path(__file__).parent.parent / "data" / "plans_example.json"
URL = "/api/v1/plans"


def example() -> dict:
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def rows() -> list[int]:
    return [db.session.scalar(db.select(db.func.count()).select_from(model))
            for model in (Agency, Auditor, Enterprise, AuditPlan, PlanSite, TeamMember)]


@pytest.fixture
def token(app) -> str:
    factories.agency("CNCA-R-2002-117", "北京某某认证中心有限公司")
    db.session.commit()
    return tokens.create_token("CNCA-R-2002-117")


def post(client, token, body, **headers):
    if token is not None:
        headers.setdefault("Authorization", f"Bearer {token}")
    data = body if isinstance(body, (bytes, str)) else json.dumps(body, ensure_ascii=False)
    return client.post(URL, data=data, content_type="application/json", headers=headers)


def test_a_document_is_imported_and_the_summary_returned(app_context, client, token):
    response = post(client, token, example())
    assert response.status_code == 200
    assert response.get_json() == {
        "created": ["P-2026-000123"],
        "updated": [],
        "auditors_created": [f"1380000000{n}" for n in range(1, 6)],
        "refused": [],
    }
    assert db.session.scalar(db.select(AuditPlan.plan_no)) == "P-2026-000123"


def test_sending_it_again_updates_the_same_plan(app_context, client, token):
    post(client, token, example())
    before = rows()
    response = post(client, token, example())
    assert response.status_code == 200
    assert response.get_json()["updated"] == ["P-2026-000123"]
    assert response.get_json()["created"] == []
    assert rows() == before


def test_no_csrf_token_is_needed_but_the_bearer_token_is(app_context, client, token):
    # CSRF is on in tests; the API is exempt because a bearer token proves the caller.
    assert post(client, token, example()).status_code == 200
    assert post(client, None, example()).status_code == 401


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer "}])
def test_401_without_a_bearer_token(app_context, client, token, headers):
    response = post(client, None, example(), **headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.get_json()["error"] == "请以 Authorization: Bearer <令牌> 的形式发送认证机构的 API 令牌。"
    assert rows()[3] == 0


def test_401_with_an_unknown_or_revoked_token(app_context, client, token):
    response = post(client, "not-a-real-token", example())
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.get_json()["error"] == "API 令牌无效或已被吊销。"
    db.session.scalar(db.select(ApiToken)).revoked = True
    db.session.commit()
    assert post(client, token, example()).status_code == 401
    assert rows()[3] == 0


def test_403_when_the_document_is_another_bodys(app_context, client, token):
    document = example()
    document["agency"] = {"code": "CNCA-R-2003-001", "name": "另一家认证机构"}
    response = post(client, token, document)
    assert response.status_code == 403
    assert "CNCA-R-2003-001" in response.get_json()["error"]
    assert rows() == [1, 0, 0, 0, 0, 0]


@pytest.mark.parametrize("body, message", [
    (b'{"agency": {"code": ', "文件不是有效的 JSON（第 1 行，第 21 列）。"),
    (b"", "文件为空：请以一个 JSON 对象发送审核计划。"),
    (b"[1, 2]", "文件必须是一个包含 agency、auditors 和 plans 的 JSON 对象。"),
    (b"\xff\xfe\x00", "文件必须是 UTF-8 编码的 JSON。"),
    (b"[" * 50_000, "文件不是有效的 JSON（嵌套过深或数字过长）。"),
])
def test_400_when_the_body_is_not_a_json_object(app_context, client, token, body, message):
    response = post(client, token, body)
    assert response.status_code == 400
    assert response.get_json() == {"error": message}
    assert rows()[3] == 0


def test_413_when_the_declared_length_is_too_large(app_context, app, client, token):
    app.config["PLAN_IMPORT_MAX_BYTES"] = 1000
    response = post(client, token, example())
    assert response.status_code == 413
    assert response.get_json()["error"] == "文件超过 1000 字节：请拆分为多次导入。"
    assert rows()[3] == 0


@pytest.fixture
def live_token(data) -> str:
    with data as f:
        f.agency("CNCA-R-2002-117", "北京某某认证中心有限公司")
    with data:
        return tokens.create_token("CNCA-R-2002-117")


def post_chunked(live_server, token, body: bytes):
    """A real HTTP request whose body is sent chunked: it declares no Content-Length."""
    connection = http.client.HTTPConnection(urlsplit(live_server.url).netloc, timeout=60)  # scrypt for new accounts: slow on a busy 2-core machine
    chunks = (body[i:i + 500] for i in range(0, len(body), 500))
    connection.request("POST", URL, body=chunks, encode_chunked=True, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    response = connection.getresponse()
    answer = response.status, json.loads(response.read())
    connection.close()
    return answer


def test_413_when_a_chunked_body_is_too_large(live_server, live_token):
    """The bytes actually read are counted, not only the declared length."""
    live_server.app.config["PLAN_IMPORT_MAX_BYTES"] = 1000
    status, answer = post_chunked(live_server, live_token, json.dumps(example()).encode())
    assert status == 413
    assert answer["error"] == "文件超过 1000 字节：请拆分为多次导入。"
    with live_server.app.app_context():
        assert rows()[3] == 0


def test_a_chunked_body_within_the_limit_is_read_whole(live_server, live_token):
    status, answer = post_chunked(live_server, live_token, json.dumps(example()).encode())
    assert status == 200
    assert answer["created"] == ["P-2026-000123"]


def test_422_names_every_problem_and_writes_nothing(app_context, client, token):
    post(client, token, example())
    before = rows()
    document = example()
    second = copy.deepcopy(document["plans"][0])
    second["plan_no"] = "P-2026-000124"
    second["sites"][0]["lat"] = 91
    second["team"][0]["role"] = "boss"
    document["plans"].append(second)
    document["plans"][0]["activity"] = "不应写入"

    response = post(client, token, document)

    assert response.status_code == 422
    assert response.get_json() == {
        "error": "导入被拒绝，未做任何更改：共 2 个问题。",
        "errors": [
            "plans[1].sites[0].lat: 必须在 -90 到 90 之间",
            "plans[1].team[0].role: 必须是以下之一：leader, member, expert, intern, remote",
        ],
    }
    assert rows() == before
    db.session.expire_all()
    assert db.session.scalar(db.select(AuditPlan.activity)) == "再认证审核(二阶段)"


def test_r16_a_token_cannot_put_another_bodys_auditor_on_its_plans(app_context, client, token):
    """An auditor practises for one body at a time: body B's document naming body A's
    auditor is refused with the field's path, and nothing changes for either body."""
    other = factories.agency("CNCA-R-2003-001", "另一家认证机构")
    person = factories.auditor(name="甲机构审核员", phone="13800000003")
    person.agency_id = other.id
    db.session.commit()
    before = rows()
    response = post(client, token, example(), **{"Accept-Language": "en"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        "auditors[2].phone: 13800000003 is an auditor of another certification body; "
        "an auditor practises for one body at a time",
        "plans[0].team[2].phone: 13800000003 is an auditor of another certification body; "
        "an auditor practises for one body at a time",
    ]
    assert rows() == before
    db.session.expire_all()
    assert db.session.get(Auditor, person.id).name == "甲机构审核员"


def test_422_in_english_when_the_client_prefers_it(app_context, client, token):
    document = example()
    document["plans"][0]["end"] = "2026-08-18T08:00:00+08:00"
    response = post(client, token, document, **{"Accept-Language": "en-US,en;q=0.9"})
    assert response.status_code == 422
    assert response.get_json() == {
        "error": "The document was refused and nothing was changed: 1 problem.",
        "errors": ["plans[0].end: must be later than start (2026-08-18T08:30:00+08:00)"],
    }


@pytest.mark.parametrize("body", [
    b"null", b"{}", b'{"agency": null, "plans": null}', b'{"plans": [null, 1, "x", []]}',
    b'{"agency": {"code": 1}, "plans": [{"sites": [{"lat": "NaN"}], "team": [{}]}]}',
    b'{"agency": {"code": "CNCA-R-2002-117", "name": "x"}, "plans": [{"start": "9999-99-99T99:99:99+99:99"}]}',
    b'{"agency": {"code": "CNCA-R-2002-117", "name": "x"}, "plans": [{"sites": [{"lat": 1e999, "lon": -1e999}]}]}',
    b'{"a": ' + b"1" * 5000 + b"}",
])
def test_bad_documents_get_a_4xx_never_a_500(app_context, client, token, body):
    response = post(client, token, body)
    assert response.status_code in (400, 422)
    assert response.is_json and response.get_json()["error"]


def test_other_methods_answer_json(app_context, client):
    response = client.get(URL)
    assert response.status_code == 405
    assert response.is_json


def test_the_api_and_the_cli_give_the_same_answer(app_context, app, client, token, runner, tmp_path):
    bad = example()
    bad["plans"][0]["sites"][0]["lon"] = 200
    bad["plans"][0]["team"][1]["phone"] = "13800000001"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad, ensure_ascii=False), encoding="utf-8")
    api = post(client, token, bad).get_json()
    cli = runner.invoke(args=["import-plans", "--json", str(path)])
    assert cli.exit_code == 1
    assert json.loads(cli.stdout)["refused"] == api["errors"]
    assert len(api["errors"]) == 2

    good = tmp_path / "good.json"
    good.write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    api = post(client, token, example()).get_json()
    cli = runner.invoke(args=["import-plans", "--json", str(good)])
    assert cli.exit_code == 0
    assert json.loads(cli.stdout) == {**api, "created": [], "updated": api["created"], "auditors_created": []}


def test_the_same_document_sent_three_times_at_once_makes_one_plan(live_server, live_token):
    body = json.dumps(example()).encode()
    answers = []
    senders = [threading.Thread(target=lambda: answers.append(post_chunked(live_server, live_token, body)))
               for _ in range(3)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    assert sorted(status for status, _ in answers) == [200, 200, 200]
    assert sorted(len(answer["created"]) for _, answer in answers) == [0, 0, 1]
    with live_server.app.app_context():
        assert rows() == [1, 5, 1, 1, 2, 5]


def _with(document: dict, path: tuple, value) -> dict:
    """The document with the string at `path` (keys and indices) replaced by `value`."""
    document = copy.deepcopy(document)
    target = document
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return document


@pytest.mark.parametrize("bad", ["\ud800", "\udfff", "北京\x00某某"], ids=["high-surrogate", "low-surrogate", "nul"])
@pytest.mark.parametrize("path, where", [
    (("agency", "name"), "agency.name"),
    (("auditors", 1, "name"), "auditors[1].name"),
    (("plans", 0, "enterprise", "contact"), "plans[0].enterprise.contact"),
    (("plans", 0, "project", "levels", 2), "plans[0].project.levels[2]"),
    (("plans", 0, "sites", 1, "address"), "plans[0].sites[1].address"),
    (("plans", 0, "remarks"), "plans[0].remarks"),
])
def test_a_nul_or_lone_surrogate_in_any_field_is_refused_with_its_path(app_context, client, token, bad, path, where):
    # json.dumps writes the character as a \u escape, as a body's system would send it.
    body = json.dumps(_with(example(), path, bad)).encode("ascii")
    response = post(client, token, body)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": f"{where}: 不得包含 NUL 字符（\\u0000）或单独的代理项（\\ud800–\\udfff）。"}
    assert rows()[3] == 0
    english = post(client, token, body, **{"Accept-Language": "en"})
    assert english.status_code == 400
    assert english.get_json()["error"].startswith(f"{where}: must not contain a NUL character")


def test_a_lone_surrogate_in_a_key_is_named_by_an_escaped_path(app_context, client, token):
    document = example()
    document["plans"][0]["\ud83dx"] = "1"
    response = post(client, token, json.dumps(document).encode("ascii"))
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("plans[0].\\ud83dx: 不得包含")
