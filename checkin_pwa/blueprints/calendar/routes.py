"""The audit calendar (审核日历), R12: a month of the auditor's plans, a day's plans below.

/calendar is this month (today in Asia/Shanghai, see services.listing.CALENDAR_ZONE);
/calendar/<year>/<month> any month, ?day=YYYY-MM-DD a day of it (/calendar?day=... that
day's month). htmx swaps the calendar
region for the previous or next month and for a tapped day; every control is a real link.
"""
from __future__ import annotations

from typing import Optional

from flask import request
from flask_login import current_user, login_required

from ...domain import clock
from ...domain.filters import FilterError, Month, parse_date, parse_month
from ...services import listing
from ...web import render_page_or_partial
from ..tasks.words import filter_error_text
from . import bp


@bp.get("/calendar")
@bp.get("/calendar/<year>/<month>")
@login_required
def month(year: Optional[str] = None, month: Optional[str] = None):
    now = clock.now()
    shown = Month.of(listing.calendar_today(now))
    error: Optional[FilterError] = None
    if year is not None:
        try:
            shown = parse_month(year, month)
        except FilterError as refused:
            error = refused
    day = None
    if error is None and request.args.get("day"):
        try:
            day = parse_date(request.args["day"], "bad_day")
            if year is None:
                shown = Month.of(day)  # /calendar?day=... opens that day's month
            elif day not in shown:
                raise FilterError("bad_day")
        except FilterError as refused:
            error, day = refused, None
    view, entries = listing.calendar(current_user, shown, day, now)
    return render_page_or_partial(
        "calendar/month.html", "calendar/_calendar.html",
        status=400 if error else 200,
        view=view, day=day, entries=entries,
        error=filter_error_text(error) if error else None,
    )
