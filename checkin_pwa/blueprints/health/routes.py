"""`/healthz`: the process answers (nothing else is touched). `/readyz`: the database, the
photo store and the limiter's store answer too; 503 naming the ones that did not. Both are
JSON, read no session (no cookie is set), need no CSRF token, are never rate limited, and
are not cached (`no-store`, as every page)."""
from __future__ import annotations

import logging

from flask import current_app, jsonify
from sqlalchemy import text

from ...extensions import db, limiter
from . import bp

log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "alive"})


def _database() -> None:
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _photo_store() -> None:
    current_app.extensions["photo_store"].ping()


def _limiter_store() -> None:
    # The configured store itself, not the in-memory counts a worker falls back to.
    if not limiter.storage.check():
        raise ConnectionError(f"{current_app.config['RATELIMIT_STORAGE_URI'].split('://', 1)[0]}:// did not answer")


CHECKS = {"database": _database, "photo_store": _photo_store, "limiter_store": _limiter_store}


@bp.get("/readyz")
def readyz():
    checks, failed = {}, []
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:  # noqa: BLE001 - any failure is "not ready", said by name
            log.warning("readiness: %s unavailable: %s: %s", name, type(error).__name__, error)
            checks[name] = "unavailable"
            failed.append(name)
        else:
            checks[name] = "ok"
    # The details go to the log only: this answer may reach anyone who can reach the app.
    body = {"status": "unavailable" if failed else "ready", "checks": checks}
    if failed:
        body["failed"] = failed
    return jsonify(body), 503 if failed else 200
