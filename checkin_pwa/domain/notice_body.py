"""A notice's text and its state (R14). Pure: no Flask, no database.

A body is either plain text (shown as typed, line breaks kept) or a small subset of Markdown:
headings, emphasis, lists, links and line breaks. Markdown is parsed by markdown-it-py with
only those rules switched on and raw HTML off, then the HTML passes an allow-list sanitiser
(nh3): only the tags below survive, a link keeps only an http, https or mailto address and
gets rel="noopener noreferrer", and there is no image tag at all. `body_html` is the one
rendering of a body, for the console's preview and the auditor's page alike.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

import nh3
from markdown_it import MarkdownIt
from markupsafe import escape

from . import clock

TEXT, MARKDOWN = "text", "markdown"
FORMATS = (TEXT, MARKDOWN)
BODY_MAX = 20_000  # characters: a long notice is a few thousand; the rest belongs in an attachment

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
TAGS = frozenset({"p", "br", "h2", "h3", "h4", "h5", "h6", "em", "strong", "ul", "ol", "li", "a"})
ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}


def _scheme_allowed(url: str) -> bool:
    """Only absolute http(s) and mailto addresses: no javascript:, data:, relative or
    protocol-relative links. Control characters and spaces before the colon are refused too
    (a browser would drop them and read javascript:)."""
    scheme, colon, _rest = url.partition(":")
    return bool(colon) and scheme.lower() in LINK_SCHEMES and scheme.isalpha()


def _markdown() -> MarkdownIt:
    parser = MarkdownIt("zero", {"breaks": True, "html": False, "linkify": False, "typographer": False,
                                 "maxNesting": 20})
    parser.enable(["heading", "lheading", "list", "emphasis", "link", "autolink", "newline", "escape", "entity"])
    parser.validateLink = _scheme_allowed  # a link that fails stays as its text
    return parser


_PARSER = _markdown()


def _keep_safe_href(tag: str, attribute: str, value: str) -> Optional[str]:
    if tag == "a" and attribute == "href":
        return value if _scheme_allowed(value) else None
    if tag == "ol" and attribute == "start":
        return value if value.isdigit() and len(value) <= 6 else None
    return value


def sanitise(fragment: str) -> str:
    """Only the allow-listed tags and attributes of `fragment`; scripts and styles go with
    their content, everything else unknown is dropped and its text kept (escaped)."""
    return nh3.clean(fragment, tags=set(TAGS), clean_content_tags={"script", "style"},
                     attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
                     attribute_filter=_keep_safe_href, url_schemes=set(LINK_SCHEMES),
                     link_rel="noopener noreferrer", strip_comments=True)


def markdown_html(body: str) -> str:
    """The Markdown subset as sanitised HTML. Headings start one level down (# is h2): the
    notice's own title is the page's h1."""
    tokens = _PARSER.parse(body)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + 1)}"
    return sanitise(_PARSER.renderer.render(tokens, _PARSER.options, {}))


def body_html(body: str, body_format: str) -> str:
    """The one rendering of a notice's body as safe HTML: Markdown through the parser and
    the sanitiser; plain text (and any format not known) escaped, its line breaks kept by
    the page's CSS (white-space: pre-wrap)."""
    if body_format == MARKDOWN:
        return markdown_html(body or "")
    return str(escape(body or ""))


# --- states ---------------------------------------------------------------------------------

DRAFT, SCHEDULED, PUBLISHED, WITHDRAWN = "draft", "scheduled", "published", "withdrawn"
STATES = (DRAFT, SCHEDULED, PUBLISHED, WITHDRAWN)


def state_of(published_at: Optional[dt.datetime], withdrawn_at: Optional[dt.datetime], now: dt.datetime) -> str:
    """A notice's state at `now` (all aware UTC): withdrawn wins; no publishing time is a
    draft; a time still ahead is scheduled."""
    if withdrawn_at is not None:
        return WITHDRAWN
    if published_at is None:
        return DRAFT
    return SCHEDULED if published_at > now else PUBLISHED


# What a staff member may do in each state.
CAN_PUBLISH = frozenset({DRAFT, SCHEDULED})
CAN_SCHEDULE = frozenset({DRAFT, SCHEDULED})
CAN_WITHDRAW = frozenset({SCHEDULED, PUBLISHED})
CAN_ATTACH = frozenset({DRAFT, SCHEDULED, PUBLISHED})
CAN_EDIT = frozenset({DRAFT, SCHEDULED})  # before any auditor may have read it

SCHEDULE_AHEAD_MAX = dt.timedelta(days=366)


class ScheduleError(ValueError):
    """A publishing time that cannot be used; `code` says why."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def checked_schedule(local_text: str, zone: dt.tzinfo, now: dt.datetime) -> dt.datetime:
    """A local time as typed in a datetime-local field ("2026-11-20T09:30"), on the body's
    clock `zone`, as aware UTC; it must lie ahead of `now` (aware UTC) and within a year."""
    text = (local_text or "").strip()
    if not text:
        raise ScheduleError("schedule_missing")
    try:
        moment = dt.datetime.fromisoformat(text[:32])
    except ValueError:
        raise ScheduleError("schedule_unreadable") from None
    utc = clock.at_local(moment, zone)
    if utc <= now:
        raise ScheduleError("schedule_past")
    if utc - now > SCHEDULE_AHEAD_MAX:
        raise ScheduleError("schedule_too_far")
    return utc
