"""Production mode (`APP_ENV=production`): the app starts only with what several hosts
behind one proxy must share, and says in one line each what is missing
(docs/production.md). Development mode (the default) needs none of it.

- SECRET_KEY set, and the same on every host: the first host to start records the key's
  fingerprint (an HMAC of a fixed label under the key, which does not reveal it) in the
  shared database; a host whose key gives another fingerprint is refused, instead of
  answering requests whose sessions and forms it cannot read.
- DATABASE_URL naming a database server, not SQLite (a file on one host).
- PHOTO_STORE=s3, or the filesystem store in a folder every host mounts, which only the
  operator can tell: PHOTO_STORAGE_DIR set and PHOTO_STORAGE_SHARED=1.
- RATELIMIT_STORAGE_URI counting once for every host: database:// or redis://
  (memory:// counts per process).
- SMS_BACKEND a real gateway: the log backend writes verification codes to the log.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import sys
from typing import Any, Mapping

from flask import Flask
from werkzeug.utils import ImportStringError, import_string

log = logging.getLogger(__name__)

# Limiter stores that every host counts in (limits' redis schemes, our database://).
SHARED_LIMITER_SCHEMES = frozenset({"database", "redis", "rediss", "redis+unix", "redis+sentinel",
                                    "redis+cluster"})
FINGERPRINT_NAME = "secret_key_fingerprint"
_FINGERPRINT_LABEL = b"checkin_pwa SECRET_KEY fingerprint v1"
# gunicorn's "the application could not be loaded": its master stops instead of starting
# workers again and again; flask and python exit with it too.
EXIT_STATUS = 4


class NotReadyForProduction(RuntimeError):
    """create_app refused to start; `problems` holds one line per missing piece."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


def is_production(config: Mapping[str, Any]) -> bool:
    return str(config.get("APP_ENV") or "").strip().lower() == "production"


def configuration_problems(config: Mapping[str, Any]) -> list[str]:
    """What production mode lacks in `config`, before anything is connected."""
    problems = []
    if not config.get("SECRET_KEY"):
        problems.append("SECRET_KEY is not set: give every host the same long random key "
                        "(python3 -c 'import secrets; print(secrets.token_hex(32))').")
    elif len(str(config["SECRET_KEY"])) < 32:
        problems.append("SECRET_KEY is shorter than 32 characters: use a long random key, the same on every host.")

    database = str(config.get("SQLALCHEMY_DATABASE_URI") or "")
    if not database or database.startswith("sqlite"):
        problems.append("DATABASE_URL must name a database server every host shares (PostgreSQL), "
                        "not SQLite: e.g. postgresql+psycopg://checkin@db.example/checkin.")

    store = config.get("PHOTO_STORE") or "filesystem"
    if store == "filesystem" and not (config.get("PHOTO_STORAGE_SHARED") and config.get("PHOTO_STORAGE_DIR")):
        problems.append("PHOTO_STORE=filesystem keeps photos on this host only: set PHOTO_STORE=s3, or "
                        "PHOTO_STORAGE_DIR to a folder every host mounts and PHOTO_STORAGE_SHARED=1.")
    elif store == "s3" and not config.get("S3_BUCKET"):
        problems.append("PHOTO_STORE=s3 needs S3_BUCKET, with S3_ENDPOINT_URL, S3_REGION and the keys (docs/storage.md).")
    elif store not in ("filesystem", "s3"):
        problems.append(f"PHOTO_STORE={store!r}: use s3, or filesystem on a shared folder.")

    limiter = str(config.get("RATELIMIT_STORAGE_URI") or "memory://")
    scheme = limiter.split("://", 1)[0].lower()
    if scheme not in SHARED_LIMITER_SCHEMES:
        problems.append(f"RATELIMIT_STORAGE_URI={scheme}:// counts login attempts per process: "
                        "use database:// or redis://host:6379 so every host counts once.")

    from .services.sms import DEFAULT_BACKEND, LogSmsSender

    backend = config.get("SMS_BACKEND") or DEFAULT_BACKEND
    try:
        sender = import_string(backend)
    except ImportStringError as error:
        problems.append(f"SMS_BACKEND={backend!r} cannot be imported: {error.exception}")
    else:
        if isinstance(sender, type) and issubclass(sender, LogSmsSender):
            problems.append("SMS_BACKEND is the log backend, which writes verification codes to the "
                            "server log: set it to your SMS gateway's class (docs/sms.md).")
    return problems


def secret_key_fingerprint(key: str | bytes) -> str:
    """Equal for equal keys; says nothing about the key itself."""
    raw = key.encode("utf-8") if isinstance(key, str) else key
    return hmac.new(raw, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def check_secret_key_agreement(app: Flask) -> None:
    """Record this key's fingerprint if no host did yet, or compare with the recorded one.
    Skipped (with a warning) before the migrations made the table: `flask db upgrade` on
    a new database starts the app too."""
    from sqlalchemy import inspect
    from sqlalchemy.exc import IntegrityError, SQLAlchemyError

    from .extensions import db
    from .models import SharedSetting

    table = SharedSetting.__table__
    mine = secret_key_fingerprint(app.config["SECRET_KEY"])
    stored = None
    with app.app_context():
        try:
            for _attempt in range(2):
                try:
                    with db.engine.begin() as connection:
                        if not inspect(connection).has_table(table.name):
                            log.warning("the database has no %s table yet (run flask db upgrade): "
                                        "this host's SECRET_KEY is not compared with the other hosts'", table.name)
                            return
                        stored = connection.execute(
                            table.select().with_only_columns(table.c.value).where(table.c.name == FINGERPRINT_NAME)
                        ).scalar()
                        if stored is None:
                            connection.execute(table.insert().values(name=FINGERPRINT_NAME, value=mine))
                            log.info("recorded this SECRET_KEY's fingerprint: every other host must use the same key")
                            return
                    break
                except IntegrityError:
                    continue  # another host recorded its key at this moment: compare with that one
        except SQLAlchemyError as error:
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0][:200]
            raise NotReadyForProduction([
                f"DATABASE_URL: cannot reach the database to compare this host's SECRET_KEY with the other hosts' ({reason})."
            ]) from None
        finally:
            # gunicorn --preload forks after this: no worker may inherit a pooled connection.
            db.engine.dispose()
    if stored is not None and not hmac.compare_digest(stored, mine):
        raise NotReadyForProduction([
            "SECRET_KEY is not the key the other hosts use (its fingerprint in the shared database differs): give every "
            f"host the same SECRET_KEY. To change the key on purpose, stop every host and delete the {FINGERPRINT_NAME!r} "
            f"row of the {table.name} table first (docs/production.md)."
        ])


def refuse_to_start(refusal: NotReadyForProduction) -> None:
    """One line per problem on stderr, then exit with EXIT_STATUS."""
    for problem in refusal.problems:
        print(f"checkin_pwa: not starting in production mode: {problem}", file=sys.stderr)
    sys.stderr.flush()
    raise SystemExit(EXIT_STATUS)
