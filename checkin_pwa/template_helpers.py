"""Every name templates use beyond Jinja's own: filters and globals, registered once by
create_app (register)."""
from __future__ import annotations

import datetime as dt

from flask import Flask

from .domain import clock, geo


def local_time(plan, moment: dt.datetime) -> dt.datetime:
    """A stored moment on the plan's own wall clock."""
    return clock.local(moment, plan.timezone)


# The rules' numbers a page hands to its script (data attributes), so no template types them.
RULE_LIMITS = {"pin_m": round(geo.PIN_LIMIT_M)}


def register(app: Flask) -> None:
    app.jinja_env.globals.update(local_time=local_time, rule_limits=RULE_LIMITS)
