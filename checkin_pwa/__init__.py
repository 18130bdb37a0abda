"""The audit check-in app (认证到, auditor end): create_app builds it."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from babel import Locale
from flask import Flask, has_request_context, session
from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine

from .config import Config
from . import limits_storage  # noqa: F401  (registers RATELIMIT_STORAGE_URI=database://)
from . import compression, logs, static_files
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .production import NotReadyForProduction, check_secret_key_agreement, configuration_problems, is_production
from .proxies import ReadRefusedBodies, TrustedProxies, application_root, parse_networks
from .storage import init_photo_store

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _secret_key(app: Flask) -> str:
    """A random key kept in the instance folder, so a self-hosted install needs no setup."""
    path = Path(app.instance_path) / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _create_owner_only(sqlite_uri: str) -> None:
    """Create a new SQLite database file readable by its owner only (SQLite gives its -wal
    and -shm files the same mode); left alone when it exists."""
    path = make_url(sqlite_uri).database
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:  # it exists, or its folder is missing (SQLite says so on first use)
        pass


# Parsed once: Babel's Locale.parse of a name searches its list of locales on every call.
_LOCALES = {code: Locale.parse(code) for code in ("zh_CN", "en")}


def select_locale() -> Locale:
    """The language the auditor chose (/lang/<code>); Simplified Chinese by default, and
    outside a request (CLI commands) too."""
    lang = session.get("lang") if has_request_context() else None
    return _LOCALES["en" if lang == "en" else "zh_CN"]


def create_app(config_class: type[Config] = Config, **overrides) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_class)
    app.config.update(overrides)
    production = is_production(app.config)
    if production:
        problems = configuration_problems(app.config)
        if problems:
            raise NotReadyForProduction(problems)
    os.makedirs(app.instance_path, mode=0o700, exist_ok=True)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(app)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = (
            "sqlite:///" + os.path.join(app.instance_path, "checkin.sqlite3")
        )
    options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    # A pooled connection is tried before use (a cheap ping) and replaced when it died, so
    # the first request after a database restart is answered instead of failing.
    options.setdefault("pool_pre_ping", True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _create_owner_only(app.config["SQLALCHEMY_DATABASE_URI"])
        # sqlite3's timeout is SQLite's busy timeout: writers wait instead of failing.
        options.setdefault("connect_args", {"timeout": app.config["SQLITE_BUSY_TIMEOUT_MS"] / 1000})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if app.config["EMBED_CROSS_SITE"]:
        # A cross-site iframe only gets cookies marked SameSite=None; Secure. Browsers that
        # block third-party cookies (Chromium as the tests run it, Chrome in incognito)
        # still keep a Partitioned one (CHIPS): one cookie jar per embedding site.
        app.config.update(SESSION_COOKIE_SAMESITE="None", SESSION_COOKIE_SECURE=True,
                          SESSION_COOKIE_PARTITIONED=True)

    # First of the after-request hooks, so it runs last: it compresses the finished answer.
    compression.init_app(app)
    logs.init_app(app)
    # The request id and access log see the client's address the trusted proxies give.
    app.wsgi_app = TrustedProxies(logs.RequestLog(ReadRefusedBodies(app.wsgi_app)),
                                  parse_networks(app.config["TRUSTED_PROXIES"]),
                                  application_root(app.config["APPLICATION_ROOT"]))
    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    if str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith(("redis://", "rediss://", "redis+unix://")):
        # A Redis that is gone answers at once (refused); one that is unreachable (a lost
        # network) must not hold a login for long either before the in-memory fallback.
        app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2, "socket_timeout": 2})
    limiter.init_app(app)
    init_photo_store(app)

    from . import auth_loader  # noqa: F401  (registers the user loader)
    from .blueprints import register_blueprints
    from .console import register_console
    from .cli import register_cli
    from .template_helpers import register as register_template_helpers
    from .web import RowIdConverter, register_web_hooks

    app.url_map.converters["int"] = RowIdConverter  # before any route is added
    static_files.init_app(app)
    register_blueprints(app)
    register_console(app)
    register_cli(app)
    register_web_hooks(app)
    register_template_helpers(app)
    from .presence import register_presence

    register_presence(app)
    if production:
        check_secret_key_agreement(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """WAL: several gunicorn workers read and write one SQLite file at once."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
