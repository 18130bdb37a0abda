"""Words for the calendar and the lists (R12, R13): sign states, exceptions and
filter refusals, in the user's language. Used by both blueprints' templates."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ...domain import audit_exceptions as rules10
from ...domain.filters import FilterError
from ...words import sentence

STATES = {
    "not_checked_in": _l("Not checked in"),
    "checked_in": _l("Checked in"),
    "checked_out": _l("Checked out"),
    "remote": _l("Remote audit"),
    "cancelled": _l("Cancelled"),
}

DAY_TYPES = {
    "all_day": _l("All day"),
    "morning": _l("Morning"),
    "afternoon": _l("Afternoon"),
}

MISSING_EVENTS = {
    ("in",): _l("no check-in"),
    ("out",): _l("no check-out"),
    ("in", "out"): _l("no check-in and no check-out"),
}
MISSING_PHOTOS = {
    ("first",): _l("first-meeting photos"),
    ("last",): _l("last-meeting photos"),
    ("first", "last"): _l("first- and last-meeting photos"),
}

FILTER_ERRORS = {
    "bad_year": _l("The year in the address is not a number: showing this month."),
    "bad_month": _l("The month in the address is not a number: showing this month."),
    "year_out_of_range": _l("There is no calendar for the year %(value)s (years %(min)s to %(max)s): showing this month."),
    "month_out_of_range": _l("There is no month %(value)s (months are 1 to 12): showing this month."),
    "bad_day": _l("The day in the address is not a date of this month."),
    "bad_date": _l("“%(value)s” is not a date (YYYY-MM-DD)."),
    "inverted_range": _l("The start date %(date_from)s is after the end date %(date_to)s: nothing was filtered."),
    "bad_project_level": _l("Invalid certification project level."),
    "bad_choice": _l("“%(value)s” is not one of the choices: nothing was filtered."),
}


EXCEPTION_LINES = {
    rules10.NOT_SIGNED: _l("Not signed: %(what)s"),
    rules10.DEVIATION: _l("Location deviation: the check-in was %(km)s km from the nearest planned address"),
    "deviation_out": _l("Location deviation: the check-out was %(km)s km from the nearest planned address"),
    rules10.PHOTOS_MISSING: _l("Photos not uploaded: %(what)s"),
}


def exception_text(exception) -> str:
    """One R10 exception (domain.audit_exceptions.PlanException) in words."""
    code, what = exception.code, ""
    if code == rules10.NOT_SIGNED:
        what = MISSING_EVENTS.get(exception.missing, MISSING_EVENTS[("in", "out")])
    elif code == rules10.PHOTOS_MISSING:
        what = MISSING_PHOTOS.get(exception.missing, MISSING_PHOTOS[("first", "last")])
    elif code == rules10.DEVIATION and exception.kind == "out":
        code = "deviation_out"
    return sentence(EXCEPTION_LINES, code, {"what": what, "km": f"{(exception.distance_m or 0) / 1000:.1f}"})


def filter_error_text(error: FilterError) -> str:
    return sentence(FILTER_ERRORS, error.code, error.params)
