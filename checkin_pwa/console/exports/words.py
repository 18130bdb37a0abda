"""The export page's words for codes: why an export was refused (services.exports)."""
from flask_babel import lazy_gettext as _l

from ...words import sentence

REFUSALS = {
    "dataset": _l("Choose what to export from the list."),
    "format": _l("Choose CSV or XLSX."),
    "range_needed": _l("Give the date range to export: a first and a last day (at most %(days)s days)."),
    "range_too_long": _l("The date range is %(days)s days; an export covers at most %(limit)s days. "
                         "Export a longer period a year at a time."),
}


def refusal_text(code: str, params: dict | None = None) -> str:
    return sentence(REFUSALS, code, params)
