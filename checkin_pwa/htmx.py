"""Who is asking, decided once per request (`request.htmx`), and the answers htmx acts on.

Besides browsers asking for pages, four clients of our own ask this app for fragments:

- htmx (``HX-Request: true``), which swaps the answer into the page;
- the phone's outbox (``X-Outbox``) replaying what was done without a network (R17): it acts
  on status codes and reads fragments; what it replays are the pages' htmx forms, so it sends
  ``HX-Request`` too and is htmx as well;
- the photo script (``X-Checkin-Client: photos``), sending and deleting one photo per request:
  it wants one tile or one refusal;
- the service worker's own fetches (``X-Background-Fetch: 1``), made without the auditor.

Views and hooks read `request.htmx`, never these headers; templates get flags from the
views. Answers: `hx()` sets htmx's response headers, `go_to()` sends the browser to a page,
`refusal()` is every "no" a fragment-reading client gets, `vary()` names what an answer
depended on.
"""
from __future__ import annotations

import json

from flask import Request, current_app, redirect, request
from markupsafe import escape
from werkzeug.datastructures import Headers
from werkzeug.utils import cached_property
from werkzeug.wrappers import Response

OUTBOX_HEADER = "X-Outbox"
OUTBOX_AUTHOR_HEADER = "X-Outbox-Author"  # the auditor the outbox recorded as an entry's author
CLIENT_HEADER = "X-Checkin-Client"  # our own scripts name themselves: "photos"
BACKGROUND_HEADER = "X-Background-Fetch"
AUTO_REFRESH_HEADER = "X-Auto-Refresh"  # a console page refreshing itself (the board)
# The headers that choose between a page and a fragment (Vary on such answers).
ASKER_HEADERS = ("HX-Request", OUTBOX_HEADER, CLIENT_HEADER)

RESWAPS = frozenset({"innerHTML", "outerHTML", "textContent", "beforebegin", "afterbegin",
                     "beforeend", "afterend", "delete", "none"})


class HtmxDetails:
    """Who sent this request, read from its headers once. True (as an object) when htmx did,
    as django-htmx's `request.htmx`; htmx's own names are None for any other client."""

    def __init__(self, headers: Headers):
        self._htmx = headers.get("HX-Request") == "true"
        sent = headers if self._htmx else {}
        self.boosted = sent.get("HX-Boosted") == "true"
        self.target: str | None = sent.get("HX-Target")  # the id of the element swapped
        self.trigger: str | None = sent.get("HX-Trigger")  # the id of the element that asked
        self.trigger_name: str | None = sent.get("HX-Trigger-Name")  # the field that changed
        self.current_url: str | None = sent.get("HX-Current-URL")
        # A replay from the phone's outbox (R17), and the auditor it recorded as the author.
        self.outbox = bool(headers.get(OUTBOX_HEADER))
        self.outbox_author: str | None = headers.get(OUTBOX_AUTHOR_HEADER)
        self.photos = headers.get(CLIENT_HEADER) == "photos"  # static/js/photos.js
        self.background = headers.get(BACKGROUND_HEADER) == "1"  # the worker, without the auditor
        self.auto_refresh = headers.get(AUTO_REFRESH_HEADER) == "1"  # nobody's activity
        # htmx, the outbox or the photo script: they read fragments and act on status codes,
        # where a redirect to a page would look like an answer of 200.
        self.wants_fragment = self._htmx or self.outbox or self.photos

    def __bool__(self) -> bool:
        return self._htmx

    def __repr__(self) -> str:
        return (f"<HtmxDetails htmx={self._htmx} outbox={self.outbox} photos={self.photos} "
                f"background={self.background}>")


class HtmxRequest(Request):
    """Flask's request with `request.htmx`, read from the headers once."""

    @cached_property
    def htmx(self) -> HtmxDetails:
        return HtmxDetails(self.headers)


def _header_value(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def hx(response: Response, *, redirect: str | None = None, location: str | dict | None = None,
       push_url: str | None = None, trigger: str | dict | None = None, reswap: str | None = None,
       retarget: str | None = None) -> Response:
    """htmx's response headers on `response`: a client-side redirect as a whole page
    (HX-Redirect) or as a swap (HX-Location), a URL for the history (HX-Push-Url), events
    fired on the page (HX-Trigger), another swap style or target (HX-Reswap, HX-Retarget)."""
    if reswap is not None and reswap.split()[0] not in RESWAPS:
        raise ValueError(f"not an htmx swap style: {reswap!r}")
    for name, value in (("HX-Redirect", redirect), ("HX-Location", location), ("HX-Push-Url", push_url),
                        ("HX-Trigger", trigger), ("HX-Reswap", reswap), ("HX-Retarget", retarget)):
        if value is not None:
            response.headers[name] = _header_value(value)
    return response


def go_to(target: str, *, htmx_status: int = 200) -> Response:
    """Send the browser to the page `target`: htmx follows HX-Redirect as a whole page (a 303
    would be followed by the XHR and its page swapped into the form), and our scripts see an
    answer without their fragment; a browser asking for a page gets a 303."""
    if request.htmx.wants_fragment:
        return hx(current_app.response_class("", status=htmx_status), redirect=target)
    return redirect(target, code=303)


def refusal(message: str, status: int, mark: str | None = None, css: str = "error") -> Response:
    """A refusal for a client that reads fragments: one line with role=alert (where the
    outbox, the photo script and htmx swaps look for the words), `mark` as a data attribute
    for a script that acts on this kind of refusal (data-login-required...)."""
    attribute = f" data-{mark}" if mark else ""
    body = f'<p class="{css}" role="alert"{attribute}>{escape(message)}</p>'
    return current_app.response_class(body, status=status, mimetype="text/html")


def vary(response: Response) -> Response:
    """The answer is a page or a fragment depending on who asked: caches are told so."""
    for name in ASKER_HEADERS:
        response.vary.add(name)
    return response
