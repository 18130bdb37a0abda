"""R1's login limits counting in a real Redis (Debian's redis-server, RATELIMIT_STORAGE_URI=
redis://) that goes down and comes back: logins go on, the operator is told, /readyz names it."""
from __future__ import annotations

import logging

import pytest
import redis as redis_client

from .conftest import not_here
from .servers import redis as redis_servers
from .test_r1_lockout import PASSWORD, app_counting_in, make_auditor, post_login


@pytest.fixture
def redis_server():
    reason = redis_servers.missing()
    if reason:
        not_here(reason)
    server = redis_servers.RedisServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def app_on_redis(tmp_path, migrated_db, redis_server):
    yield from app_counting_in(tmp_path / "on-redis", migrated_db, redis_server.url)


def test_r1_logins_go_on_when_redis_stops_and_the_fallback_is_logged(app_on_redis, redis_server, caplog):
    app = app_on_redis
    caplog.set_level(logging.INFO, logger="flask-limiter")
    person, other = make_auditor(app), make_auditor(app)
    counts = redis_client.Redis.from_url(redis_server.url)

    # Redis up: failed attempts are counted there.
    phone = app.test_client()
    assert [post_login(phone, person.phone, f"Wrong#{n}abc").status_code for n in range(2)] == [422, 422]
    assert any(b"login-account" in key for key in counts.keys("*")), "counted in Redis"
    assert app.test_client().get("/readyz").status_code == 200

    redis_server.stop()

    # Redis down: the right password still logs in, the operator is told.
    assert post_login(app.test_client(), other.phone, PASSWORD).status_code == 303
    assert "Rate limit storage unreachable" in caplog.text
    # Wrong passwords are still refused after five (each worker counts in its memory meanwhile).
    answers = [post_login(phone, person.phone, f"Wrong#{n}xyz").status_code for n in range(6)]
    assert answers == [422] * 5 + [429]
    readiness = app.test_client().get("/readyz")
    assert readiness.status_code == 503 and readiness.json["failed"] == ["limiter_store"]
    assert app.test_client().get("/healthz").status_code == 200


def test_r1_counting_goes_back_to_redis_when_it_returns(app_on_redis, redis_server, caplog):
    app = app_on_redis
    caplog.set_level(logging.INFO, logger="flask-limiter")
    person = make_auditor(app)
    redis_server.stop()
    assert post_login(app.test_client(), person.phone, PASSWORD).status_code == 303
    assert "Rate limit storage unreachable" in caplog.text
    redis_server.start()
    assert app.test_client().get("/readyz").status_code == 200

    # The limiter tries its store again after a growing pause (1 s, 2 s, 4 s…): each login
    # attempt is a chance; wait for the one that finds it back.
    counts = redis_client.Redis.from_url(redis_server.url)
    for attempt in range(600):
        assert post_login(app.test_client(), person.phone, PASSWORD).status_code == 303
        if "Rate limit storage recovered" in caplog.text:
            break
    else:
        pytest.fail("the limiter never went back to Redis")
    assert post_login(app.test_client(), person.phone, "Wrong#1abc").status_code == 422
    assert any(b"login-account" in key for key in counts.keys("*")), "counted in Redis again"
