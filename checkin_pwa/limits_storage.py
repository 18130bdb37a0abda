"""Flask-Limiter's counters in the app's own database: `RATELIMIT_STORAGE_URI=database://`.

Every gunicorn worker, and every host that shares the database, counts in one table, so a
limit of 5 failed logins is 5 whatever worker or host answers (`memory://` keeps a count per
worker process). One row per key (bucket) for its current window: an atomic upsert starts a new
window when the old one has passed and adds to it otherwise, so two attempts at once in
two workers both count. Expired rows are dropped as new ones come.

The counts are written on their own connection and committed at once: a request that
rolls back its own work (a failed login) still counts.
"""
from __future__ import annotations

import hashlib
import time

from flask import has_app_context
from limits.storage import Storage
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .models import RateLimitCounter

_TABLE = RateLimitCounter.__tablename__
_KEY_MAX = RateLimitCounter.__table__.c.bucket.type.length

# The same statement for SQLite (3.35+) and PostgreSQL. In SET, the columns are the row's
# values before the update.
_INCREMENT = text(f"""
INSERT INTO {_TABLE} (bucket, hits, expires_at) VALUES (:bucket, :amount, :expires_at)
ON CONFLICT (bucket) DO UPDATE SET
  hits = CASE WHEN {_TABLE}.expires_at <= :now THEN :amount ELSE {_TABLE}.hits + :amount END,
  expires_at = CASE WHEN {_TABLE}.expires_at <= :now THEN :expires_at ELSE {_TABLE}.expires_at END
RETURNING hits
""")


def _row_key(key: str) -> str:
    """Keys hold what a client typed (the phone field): a long one is kept as its hash."""
    if len(key) <= _KEY_MAX:
        return key
    return key[: _KEY_MAX - 65] + "#" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


class DatabaseStorage(Storage):
    """A `limits` storage (fixed windows) on the app's SQLAlchemy engine."""

    STORAGE_SCHEME = ["database"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        with db.engine.begin() as connection:
            connection.execute(RateLimitCounter.__table__.delete().where(RateLimitCounter.expires_at <= now))
            return int(connection.execute(_INCREMENT, {
                "bucket": _row_key(key), "amount": amount, "now": now, "expires_at": now + expiry,
            }).scalar_one())

    def _row(self, key: str):
        with db.engine.connect() as connection:
            return connection.execute(
                RateLimitCounter.__table__.select().where(RateLimitCounter.bucket == _row_key(key),
                                                          RateLimitCounter.expires_at > time.time())
            ).first()

    def get(self, key: str) -> int:
        row = self._row(key)
        return int(row.hits) if row else 0

    def get_expiry(self, key: str) -> float:
        row = self._row(key)
        return float(row.expires_at) if row else time.time()

    def check(self) -> bool:
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except SQLAlchemyError:
            return False

    def reset(self) -> int | None:
        if not has_app_context():
            # limiter.reset() between two test apps: the counts live in each app's own
            # database, which the next app does not share. Nothing to reset here.
            return None
        with db.engine.begin() as connection:
            return connection.execute(RateLimitCounter.__table__.delete()).rowcount

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(RateLimitCounter.__table__.delete().where(RateLimitCounter.bucket == _row_key(key)))
