"""A body refused as too large (413) is read to its end after the refusal is sent, so a proxy still
sending it sees our refusal and not a reset connection (nginx answered its own 502 under load)."""
from __future__ import annotations

import io

from werkzeug.test import EnvironBuilder

from checkin_pwa.proxies import drop_body


def post_over_the_limit(app, size: int):
    stream = io.BytesIO(b"x" * size)
    environ = EnvironBuilder(path="/login", method="POST", input_stream=stream,
                             content_type="multipart/form-data; boundary=b",
                             headers={"Content-Length": str(size)}).get_environ()
    statuses = []
    answer = app.wsgi_app(environ, lambda status, headers, exc_info=None: statuses.append(status))
    b"".join(answer)
    unread_while_answering = stream.tell() < size
    answer.close()  # as a WSGI server does once the answer is written
    return statuses[-1], stream, unread_while_answering


def test_r8_a_body_over_the_apps_limit_is_refused_and_read_to_its_end(app):
    size = app.config["MAX_CONTENT_LENGTH"] + 200 * 1024
    status, stream, unread_while_answering = post_over_the_limit(app, size)
    assert status.startswith("413")
    assert unread_while_answering  # the refusal goes first: a client need not send the rest
    assert stream.tell() == size  # then nothing is left unread for a proxy to be reset on


def test_a_refused_body_above_the_bound_is_left_alone_and_bad_lengths_read_nothing():
    stream = io.BytesIO(b"x" * 1000)
    assert drop_body({"CONTENT_LENGTH": "1000", "wsgi.input": stream}, limit=999) == 0 and stream.tell() == 0
    assert drop_body({"CONTENT_LENGTH": "nine", "wsgi.input": stream}, limit=10_000) == 0
    assert drop_body({"wsgi.input": stream}, limit=10_000) == 0
    # A client that sends less than it announced: read what came, never wait past the end.
    assert drop_body({"CONTENT_LENGTH": "5000", "wsgi.input": stream}, limit=10_000) == 1000
