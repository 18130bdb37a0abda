"""Template filters and globals registered by create_app (register): the one date/time
filter (`when`) and the rules' numbers pages hand to their scripts."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from flask import Flask

from .domain import clock, geo


# How a moment is written on a page; `when`'s `form`.
FORMS = {
    "minute": "%Y-%m-%d %H:%M",
    "second": "%Y-%m-%d %H:%M:%S",
    "date": "%Y-%m-%d",
    "short": "%m-%d %H:%M",
    "day": "%m-%d",
    "clock": "%H:%M",
    "clock_second": "%H:%M:%S",
}


def when(moment: Optional[dt.date], where=None, form: str = "minute") -> str:
    """The one date/time filter: `moment` as text on a wall clock. `where` is a plan (its own
    zone), a zone, a zone's name, or "default" (the app's zone: for what belongs to no plan);
    None writes the moment on its own clock (a time a service already made local), as a date
    is written as it is."""
    if moment is None:
        return ""
    if where is not None and isinstance(moment, dt.datetime):
        zone = None if where == "default" else getattr(where, "timezone", where)
        moment = clock.local(moment, zone)
    return moment.strftime(FORMS[form])


def utc_offset(moment: dt.datetime) -> str:
    """+08:00: the UTC offset of an aware moment's own clock."""
    text = moment.strftime("%z")
    return f"{text[:3]}:{text[3:]}"


# The rules' numbers a page hands to its script (data attributes), so no template types them.
RULE_LIMITS = {"pin_m": round(geo.PIN_LIMIT_M)}


def register(app: Flask) -> None:
    app.jinja_env.globals.update(rule_limits=RULE_LIMITS)
    app.jinja_env.filters.update(when=when, utc_offset=utc_offset)
