"""The upload pages' words for codes: upload states, job phases, a plan's fields, why an
upload was refused as a whole."""
from flask_babel import lazy_gettext as _l

from ...words import list_of, sentence

# An upload's state in a word (PlanUpload.state); any other state is "failed".
STATE_WORDS = {
    "checking": _l("Being checked"),
    "checked": _l("Checked, not imported"),
    "committing": _l("Being imported"),
    "committed": _l("Imported"),
    "failed": _l("Failed"),
}

PHASE_WORDS = {
    "waiting": _l("Waiting for its turn…"),
    "reading": _l("Reading the file…"),
    "checking": _l("Checking the plans…"),
    "writing": _l("Importing the plans…"),
}

# A plan's fields in the contract's order (services.plan_import.PlanChange.fields).
FIELD_WORDS = {
    "enterprise": _l("enterprise"),
    "project": _l("project"),
    "required": _l("must-sign"),
    "certificate_no": _l("certificate number"),
    "activity": _l("audit activity"),
    "start": _l("start"),
    "end": _l("end"),
    "timezone": _l("time zone"),
    "region": _l("region"),
    "mode": _l("audit mode"),
    "confidential": _l("confidential"),
    "remarks": _l("remarks"),
    "status": _l("status"),
    "sites": _l("sites"),
    "team": _l("team"),
}

UPLOAD_ERRORS = {
    "empty": _l("Choose a file: a plan document (.json) or an Excel workbook (.xlsx)."),
    "too_large": _l("The file is larger than %(limit)s bytes: split it into several uploads."),
    "wrong_agency": _l("This document is for the body %(document_agency)s; you can upload only your own body's (%(token_agency)s) plans."),
    "expired": _l("This upload has expired and its file is no longer kept. Nothing was imported; upload the file again."),
    "stalled": _l("The job stopped (the server was restarted). Nothing was imported by it; upload the file again."),
    "internal": _l("The job failed. Nothing was imported; upload the file again, or tell your administrator."),
    "changed": _l("The plans in the system changed after the dry run, so nothing was imported. The file was checked again: see the new result below."),
}


def upload_error(code: str, params: dict | None = None) -> str:
    return sentence(UPLOAD_ERRORS, code, params, unknown="internal")


def field_names(fields) -> str:
    """The fields' names as a list ("start, remarks"; Chinese with its enumeration comma)."""
    return list_of(FIELD_WORDS.get(name, name) for name in fields)
