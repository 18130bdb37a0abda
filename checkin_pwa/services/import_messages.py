"""The words for plan import problems (domain/plan_import.py gives codes and numbers).

Kept in one table so the API and the CLI say the same thing, in the user's language
(Simplified Chinese by default). The path stays in the contract's syntax, untranslated:
it names a field of the JSON the body sent.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..domain.plan_import import Issue, NotADocument

ISSUE_MESSAGES = {
    "required": _l("is required"),
    "required_with": _l("is required when %(other)s is given"),
    "type_object": _l("must be an object ({...})"),
    "type_array": _l("must be a list ([...])"),
    "type_string": _l("must be text (a string)"),
    "type_number": _l("must be a number"),
    "type_integer": _l("must be a whole number"),
    "type_boolean": _l("must be true or false"),
    "not_finite": _l("must be a finite number (NaN and Infinity are not allowed)"),
    "enum": _l("must be one of: %(allowed)s"),
    "range": _l("must be between %(min)s and %(max)s"),
    "minimum": _l("must be at least %(min)s"),
    "maximum": _l("must be at most %(max)s"),
    "blank": _l("must not be empty or blank"),
    "phone": _l("must be an 11-digit mobile number starting with 1"),
    "datetime_offset": _l("must be an ISO 8601 date and time with a UTC offset, e.g. 2021-08-18T08:30:00+08:00"),
    "datetime_invalid": _l("is not a real date and time (or its UTC offset is outside -12:00 to +14:00)"),
    "end_before_start": _l("must be later than start (%(start)s)"),
    "timezone": _l("must be an IANA time zone name, e.g. Asia/Shanghai"),
    "too_short": _l("must have at least %(min)s characters"),
    "too_long": _l("must have at most %(max)s characters"),
    "too_few_items": _l("must have at least %(min)s entries"),
    "too_many_items": _l("must have at most %(max)s entries"),
    "zero_coordinates": _l("lat 0, lon 0 is not a real location; leave out lat and lon when the site is not located"),
    "duplicate_auditor": _l("%(phone)s is already listed at %(first)s"),
    "duplicate_plan_no": _l("%(plan_no)s is already used by %(first)s in this document"),
    "duplicate_team_phone": _l("%(phone)s is already on this team at %(first)s"),
    "unknown_auditor": _l("%(phone)s is not listed in auditors and has no account yet"),
    "auditor_of_other_body": _l("%(phone)s is an auditor of another certification body; "
                                "an auditor practises for one body at a time"),
    "invalid": _l("is not valid"),
}

DOCUMENT_MESSAGES = {
    "empty": _l("The document is empty: send the plans as one JSON object."),
    "not_utf8": _l("The document must be JSON encoded as UTF-8."),
    "not_json": _l("The document is not valid JSON (line %(line)s, column %(column)s)."),
    "not_json_structure": _l("The document is not valid JSON (nested too deeply or a number too long)."),
    "not_object": _l("The document must be one JSON object with agency, auditors and plans."),
    "unstorable_text": _l("%(path)s: must not contain a NUL character (\\u0000) or a lone surrogate (\\ud800–\\udfff)."),
}


def reason(issue: Issue) -> str:
    message = ISSUE_MESSAGES.get(issue.code, ISSUE_MESSAGES["invalid"])
    return str(message) % dict(issue.params) if issue.params else str(message)


def render_issue(issue: Issue) -> str:
    """"plans[3].sites[0].lat: must be between -90 and 90", in the current language."""
    return f"{issue.where}: {reason(issue)}" if issue.path else reason(issue)


def render_issues(issues) -> list[str]:
    return [render_issue(issue) for issue in issues]


def render_not_a_document(error: NotADocument) -> str:
    message = DOCUMENT_MESSAGES.get(error.code, DOCUMENT_MESSAGES["not_object"])
    return str(message) % error.params if error.params else str(message)
