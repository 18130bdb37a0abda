"""How much a request may send, per route: a form is small (FORM_MAX_BYTES), only the photo
and avatar uploads may carry a photo. Over the limit is refused with 413, in the user's
language, before the body is read; a refused text is never sent back whole."""
from __future__ import annotations

import io
import re
import socket
from urllib.parse import urlsplit

import pytest

from checkin_pwa.extensions import db
from checkin_pwa.models import Explanation

from . import factories as f
from .helpers import csrf_token, log_in

FIFTEEN_MB = 15 * 1024 * 1024


def send_head_only(live_server, path: str, length: int, content_type: str, first: bytes) -> bytes:
    """POST with a declared length but only `first` of the body sent: the answer arrives
    only if the server decides without reading the rest (else the read times out)."""
    host, port = urlsplit(live_server.url).netloc.split(":")
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
                      f"Content-Length: {length}\r\nAccept-Language: zh-CN\r\n\r\n").encode() + first)
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < answer.index(b"\r\n\r\n") + 200:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_a_15_mb_login_field_is_refused_with_413_before_it_is_read(live_server):
    first = b"phone=13800000001&password=" + b"x" * 1000
    answer = send_head_only(live_server, "/login", len(first) + FIFTEEN_MB,
                            "application/x-www-form-urlencoded", first)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert "提交的内容过大" in answer.decode("utf-8", "replace")


def test_a_15_mb_explanation_is_refused_with_413_in_chinese(app_context, app, client):
    me = f.auditor()
    plan = f.plan([me])
    log_in(client, me)
    token = csrf_token(client, f"/plans/{plan.id}/explain")
    for body in ({"text": "x" * FIFTEEN_MB, "csrf_token": token},
                 {"text": "x" * FIFTEEN_MB, "csrf_token": token, "back": "explain"}):
        for content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            response = client.post(f"/plans/{plan.id}/explanations", data=body, content_type=content_type)
            assert response.status_code == 413, content_type
            page = response.get_data(as_text=True)
            assert "提交的内容过大" in page and len(page) < 20_000
    assert db.session.scalar(db.select(db.func.count()).select_from(Explanation)) == 0


def test_photo_uploads_still_take_a_photo_sized_body(app_context, app, client):
    """The upload routes keep MAX_CONTENT_LENGTH: 1 MB is over a form's limit, not a photo's."""
    me = f.auditor()
    plan = f.plan([me])
    log_in(client, me)
    token = csrf_token(client, f"/plans/{plan.id}")
    assert app.config["FORM_MAX_BYTES"] < 1024 * 1024 < app.config["MAX_CONTENT_LENGTH"]
    response = client.post(f"/plans/{plan.id}/photos", headers={"HX-Request": "true"}, data={
        "csrf_token": token, "group": "site",
        "photo": (io.BytesIO(b"\xff\xd8\xff\xe0" + b"\x00" * 1024 * 1024), "big.jpg")})
    assert response.status_code != 413  # read and judged as a photo (this one is no JPEG)
    assert response.status_code < 500


def test_r10_an_explanation_too_long_is_not_sent_back_whole(app_context, app, client):
    me = f.auditor()
    plan = f.plan([me])
    log_in(client, me)
    token = csrf_token(client, f"/plans/{plan.id}/explain")
    text = "说明" * 2500  # 5,000 characters: within a form's bytes, over the 2,000 allowed
    response = client.post(f"/plans/{plan.id}/explanations",
                           data={"text": text, "csrf_token": token, "back": "explain"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "异常说明过长" in page or "过长" in page
    assert text not in page
    assert re.search(r"(说明){1000}", page)  # what fits is kept for editing


@pytest.mark.parametrize("path", ["/login", "/password/forgot"])
def test_a_refused_phone_field_is_not_sent_back_whole(app_context, app, client, path):
    typed = "1" + "3" * 20_000
    response = client.post(path, data={"phone": typed, "password": "x", "csrf_token": csrf_token(client, path)})
    assert response.status_code in (200, 400, 422)
    assert typed not in response.get_data(as_text=True)
