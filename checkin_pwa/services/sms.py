"""Sending text messages (R1 verification codes) behind one small interface.

`SMS_BACKEND` in the configuration is the dotted path of a class with
`send(phone, text)`; the class is made once per app with the app's configuration
(`cls(config)`). The default, `LogSmsSender`, writes the whole message, code included, to
the server log (logger "checkin_pwa.sms", level INFO): a self-hosted install works with no
SMS account, and whoever runs the server reads the code off the log (gunicorn shows it).
docs/sms.md shows how to plug a real gateway.

A backend raises (SmsError or anything else) when the message was not accepted; the
caller then keeps no code and tells the auditor to try again later.
"""
from __future__ import annotations

import abc
import logging
from typing import Any, Mapping, Optional

from werkzeug.utils import import_string

from ..production import is_production

DEFAULT_BACKEND = "checkin_pwa.services.sms.LogSmsSender"

log = logging.getLogger("checkin_pwa.sms")


class SmsError(Exception):
    """The gateway did not accept the message."""


class SmsSender(abc.ABC):
    """One text message to one mainland mobile number (11 digits, no +86)."""

    def __init__(self, config: Optional[Mapping[str, Any]] = None):
        self.config = config or {}

    @abc.abstractmethod
    def send(self, phone: str, text: str) -> None:
        """Send `text` to `phone`, or raise SmsError. Called inside a web request: keep it
        short (a gateway call with a timeout of a few seconds)."""


class LogSmsSender(SmsSender):
    """No gateway: the message goes to the server log at INFO, code and all."""

    def __init__(self, config: Optional[Mapping[str, Any]] = None):
        super().__init__(config)
        if is_production(self.config):
            # Codes must not land in a production log (create_app refuses this backend there too).
            raise SmsError("the log backend writes codes to the server log: not in production mode")
        # Python logs only WARNING and up by default, and gunicorn configures only its own
        # loggers: without this the code would never reach the log.
        if log.level == logging.NOTSET:
            log.setLevel(logging.INFO)
        if not log.handlers and not logging.getLogger().handlers:
            handler = logging.StreamHandler()  # stderr: gunicorn's error log shows it
            handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
            log.addHandler(handler)

    def send(self, phone: str, text: str) -> None:
        log.info("SMS to %s: %s", phone, text)


def sender_for(app) -> SmsSender:
    """The app's sender, made on first use from SMS_BACKEND and kept in app.extensions
    (keyed by the backend's path, so a test that changes the setting gets its class)."""
    path = app.config.get("SMS_BACKEND") or DEFAULT_BACKEND
    cached = app.extensions.get("sms_sender")
    if cached is not None and cached[0] == path:
        return cached[1]
    cls = import_string(path)
    sender = cls(app.config)
    if not callable(getattr(sender, "send", None)):
        raise TypeError(f"SMS_BACKEND={path!r} has no send(phone, text)")
    app.extensions["sms_sender"] = (path, sender)
    return sender
