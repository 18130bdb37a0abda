"""The app's logs: one JSON object per line on stderr (journald, docker and any log shipper
read them as they are), with the time (UTC), level, logger, message, and within a request
its id and the signed-in user's.

- `init_app` installs the handler on the root logger at LOG_LEVEL (INFO by default),
  unless the process configured logging itself (the root logger already has a handler:
  then that configuration is left alone).
- `RequestLog` (WSGI middleware, inside checkin_pwa.proxies.TrustedProxies so that the
  client's address is the real one) gives every request an id, taken from `X-Request-ID`
  when a trusted proxy sent one (nginx: `proxy_set_header X-Request-ID $request_id;`) and
  made fresh otherwise, echoes it in the response's `X-Request-ID`, and writes one access
  line per request (logger `checkin_pwa.access`; the health checks at DEBUG only, so a
  load balancer's polling does not fill the log). No URL of ours carries a secret in its
  query (codes and passwords are POSTed, API tokens are headers), so the query is logged.
- `GUNICORN_LOGCONFIG` gives gunicorn's own lines the same form
  (`logconfig_dict` in gunicorn.conf.py); gunicorn's `accesslog` stays unset there, as the
  app writes the access log.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
import time
import uuid

from flask import Flask, g, has_request_context, request
from sqlalchemy import inspect
from werkzeug.wsgi import ClosingIterator

REQUEST_ID_HEADER = "X-Request-ID"
ENVIRON_REQUEST_ID = "checkin_pwa.request_id"
ENVIRON_USER = "checkin_pwa.log_user"
# What a proxy's id looks like (nginx's $request_id is 32 hex digits; UUIDs, ULIDs…):
# anything else is replaced, so a log line never carries what a client chose to write.
_GOOD_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
QUIET_PATHS = frozenset({"/healthz", "/readyz"})

access_log = logging.getLogger("checkin_pwa.access")


class JsonFormatter(logging.Formatter):
    """A record as one line of JSON; non-ASCII text (Chinese) kept readable."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        entry.update(_request_fields())
        entry["message"] = record.getMessage()
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def _request_fields() -> dict:
    if not has_request_context():
        return {}
    fields = {}
    request_id = request.environ.get(ENVIRON_REQUEST_ID)
    if request_id:
        fields["request_id"] = request_id
    fields.update(_user_fields())
    return fields


def _user_fields() -> dict:
    """Who is signed in, only if this request already looked (a log line never loads a user)."""
    staff = g.get("staff")
    if staff is not None and _id_of(staff) is not None:
        return {"staff_id": _id_of(staff)}
    user = g.get("_login_user")
    if user is not None and getattr(user, "is_authenticated", False) and _id_of(user) is not None:
        return {"user_id": _id_of(user)}
    return {}


def _id_of(row):
    """A row's id from its identity, not its attributes: after the request's commit they are
    expired, and reading them would load the row again for a log line."""
    state = inspect(row, raiseerr=False)
    identity = state.identity if state is not None else None
    return identity[0] if identity else getattr(row, "id", None)


_handler_mark = "checkin_pwa_json"


def init_app(app: Flask) -> None:
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, _handler_mark, False)]
    if not root.handlers or ours:
        if not ours:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(JsonFormatter())
            setattr(handler, _handler_mark, True)
            root.addHandler(handler)
        root.setLevel(str(app.config.get("LOG_LEVEL") or "INFO").upper())

    @app.teardown_request
    def note_user(_error=None):
        # For the access line, written after the request's context is gone.
        if has_request_context():
            request.environ[ENVIRON_USER] = _user_fields()


class RequestLog:
    """WSGI middleware: the request id, and one access line per request."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        offered = environ.get("HTTP_X_REQUEST_ID", "")
        # checkin_pwa.proxies marks a request that came through a trusted proxy.
        if environ.get("checkin_pwa.proxy") and _GOOD_REQUEST_ID.match(offered):
            request_id = offered
        else:
            request_id = uuid.uuid4().hex
        environ[ENVIRON_REQUEST_ID] = request_id
        answer = {}

        def start_with_id(status, headers, exc_info=None):
            headers = [(name, value) for name, value in headers if name.lower() != "x-request-id"]
            headers.append((REQUEST_ID_HEADER, request_id))
            answer["status"] = status
            answer["length"] = next((value for name, value in headers if name.lower() == "content-length"), None)
            return start_response(status, headers, exc_info)

        body = self.app(environ, start_with_id)
        return ClosingIterator(body, lambda: self._log(environ, answer, started))

    @staticmethod
    def _log(environ, answer, started) -> None:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        if environ.get("QUERY_STRING"):
            path += "?" + environ["QUERY_STRING"]
        level = logging.DEBUG if environ.get("PATH_INFO") in QUIET_PATHS else logging.INFO
        if not access_log.isEnabledFor(level):
            return
        status = int(str(answer.get("status", "0")).split(" ", 1)[0] or 0)
        method = environ.get("REQUEST_METHOD", "")
        client = environ.get("REMOTE_ADDR", "")
        millis = round((time.perf_counter() - started) * 1000, 1)
        fields = {
            "request_id": environ.get(ENVIRON_REQUEST_ID), **(environ.get(ENVIRON_USER) or {}),
            "client": client, "method": method, "path": path, "status": status,
            "bytes": int(answer["length"]) if answer.get("length") else None, "duration_ms": millis,
            "user_agent": environ.get("HTTP_USER_AGENT", ""),
        }
        access_log.log(level, '%s "%s %s %s" %s %s %sms rid=%s', client, method, path,
                       environ.get("SERVER_PROTOCOL", ""), status, fields["bytes"] if fields["bytes"] is not None else "-",
                       millis, fields["request_id"], extra={"fields": fields})


# gunicorn.conf.py: logconfig_dict = GUNICORN_LOGCONFIG (gunicorn's own start, stop and
# worker lines in the same JSON form, on stderr).
GUNICORN_LOGCONFIG = {
    "version": 1,
    "disable_existing_loggers": False,
    # gunicorn merges this over its defaults, whose root logger has a handler of its own:
    # none here, so init_app installs the app's (at LOG_LEVEL).
    "root": {"level": "INFO", "handlers": []},
    "formatters": {"json": {"()": "checkin_pwa.logs.JsonFormatter"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
        # gunicorn.access is left out: with accesslog unset it has no handler (and does not
        # propagate), so nothing is written; a --access-logfile given on the command line
        # still gets its lines.
    },
}
