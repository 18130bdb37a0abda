"""The words for plan import problems (domain/plan_import.py gives codes and numbers).

Kept in one table so the API and the CLI say the same thing, in the user's language
(Simplified Chinese by default). The path stays in the contract's syntax, untranslated:
it names a field of the JSON the body sent.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..domain.plan_import import Issue, NotADocument
from ..domain.plan_workbook import Column, Place, WorkbookResult
from . import fill, sentence

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
    # Met while reading a workbook (domain/plan_workbook.py)
    "formula": _l("is a formula (%(formula)s): a plan is data; paste the values instead (Paste Special, Values)"),
    "error_value": _l("shows an Excel error (%(value)s): type the value itself"),
    "date_in_text": _l("is a date, but this column holds text: Excel turned what was typed into a date; format the column as Text and type it again"),
    "boolean_in_text": _l("is TRUE or FALSE, but this column holds text"),
    "digits_lost": _l("was typed as a number (%(value)s) and Excel kept only its first 15 digits: format the column as Text and type the number again"),
    "number_in_text": _l("is a number with decimals (%(value)s), but this column holds a number such as a phone or ID: format the column as Text and type it again"),
    "invalid_cell": _l("holds a kind of value this column cannot take"),
    "not_a_number": _l("must be a number"),
    "boolean_word": _l("must be one of: %(allowed)s"),
    "enum_word": _l("must be one of: %(allowed)s"),
    "moment_needed": _l("must be a date and time (an Excel date-time cell, or text such as 2021-08-18T08:30:00+08:00)"),
    "unstorable_text": _l("must not contain a NUL character or a lone surrogate"),
    "unknown_plan": _l("plan %(plan_no)s is not in the plans sheet"),
    "extra_agency_row": _l("the agency sheet holds one row (the body's code and name), already given in row %(first)s"),
    "missing_sheet": _l("the workbook has no sheet named %(sheet)s: start from the template"),
    "empty_sheet": _l("the sheet has no header row in its first %(within)s rows: it needs the template's header row"),
    "too_many_rows": _l("the sheet has more than %(max)s rows: split the plans into several uploads"),
    "unknown_column": _l("this column title is not one of the template's (%(header)s): keep the titles as the template has them"),
    "duplicate_column": _l("this column repeats column %(first)s"),
    "missing_column": _l("this required column is missing: add it with the title %(header)s"),
    "value_without_header": _l("holds a value but the column has no title"),
    "level_gap": _l("is empty but a later project level is filled: fill the levels from the first"),
    "too_many_problems": _l("reading stopped here after %(max)s problems: correct those first and upload the workbook again"),
    "example_row": _l("this is the template's example row: replace it with a real one or delete it"),
}

DOCUMENT_MESSAGES = {
    "empty": _l("The document is empty: send the plans as one JSON object."),
    "not_utf8": _l("The document must be JSON encoded as UTF-8."),
    "not_json": _l("The document is not valid JSON (line %(line)s, column %(column)s)."),
    "not_json_structure": _l("The document is not valid JSON (nested too deeply or a number too long)."),
    "not_object": _l("The document must be one JSON object with agency, auditors and plans."),
    "workbook_too_large": _l("The workbook is larger than %(max_mb)s MB: split the plans into several uploads."),
    "workbook_xls": _l("This is an old Excel file (.xls) or a workbook with a password: save it as an Excel workbook (.xlsx) without a password and upload that."),
    "not_a_workbook": _l("The file is not an Excel workbook (.xlsx): download the template, fill it in, and upload it as .xlsx."),
    "workbook_bomb": _l("The workbook unpacks to far more than a plan workbook needs (or holds a document type declaration): it is refused unread. Save the plans into a fresh copy of the template."),
    "workbook_broken": _l("The workbook is damaged or not saved by a spreadsheet program: open it in Excel or WPS, save it as .xlsx, and upload it again."),
    "workbook_encrypted": _l("The workbook is protected with a password: save it without a password and upload it again."),
    "unstorable_text": _l("%(path)s: must not contain a NUL character (\\u0000) or a lone surrogate (\\ud800–\\udfff)."),
}


def reason(issue: Issue) -> str:
    return sentence(ISSUE_MESSAGES, issue.code, issue.params, unknown="invalid")


def render_issue(issue: Issue) -> str:
    """"plans[3].sites[0].lat: must be between -90 and 90", in the current language."""
    return f"{issue.where}: {reason(issue)}" if issue.path else reason(issue)


def render_issues(issues) -> list[str]:
    return [render_issue(issue) for issue in issues]


def render_not_a_document(error: NotADocument) -> str:
    return sentence(DOCUMENT_MESSAGES, error.code, error.params, unknown="not_object")


# --- a workbook's problems, each at its cell ---------------------------------------------------

PLACE_SHEET = _l("Sheet %(sheet)s")
PLACE_ROW = _l("Sheet %(sheet)s, row %(row)s")
PLACE_CELL = _l("Sheet %(sheet)s, row %(row)s, column %(column)s (%(header)s)")
PLACE_BARE_CELL = _l("Sheet %(sheet)s, row %(row)s, column %(column)s")
PLACE_HEADER = _l("Sheet %(sheet)s, column %(header)s (not in the sheet)")
AT_PLACE = _l("%(where)s: %(what)s")
PLACE_ROW_HEADER = _l("Sheet %(sheet)s, row %(row)s, column %(header)s (not in the sheet)")


def describe_place(place: Place) -> str:
    """"Sheet 计划, row 5, column N (首次会议开始时间 (start))", in the current language."""
    column = place.column
    words = {"sheet": place.sheet, "row": place.row}
    if column is None:
        return fill(PLACE_ROW if place.row else PLACE_SHEET, words)
    if column.letter:
        if place.row and not column.header:
            return fill(PLACE_BARE_CELL, {**words, "column": column.letter})
        if place.row:
            return fill(PLACE_CELL, {**words, "column": column.letter, "header": column.header})
        return fill(PLACE_ROW, {**words, "row": "-"})
    return fill(PLACE_ROW_HEADER if place.row else PLACE_HEADER, {**words, "header": column.header})


def describe_stored_place(stored) -> str:
    """describe_place of a place kept as JSON: [sheet, row, letter, title]."""
    sheet, row, letter, header = (list(stored) + [None] * 4)[:4]
    column = Column(letter or "", header or "") if (letter or header) else None
    return describe_place(Place(sheet, row, column))


def workbook_issue_parts(issue: Issue, result: WorkbookResult) -> tuple[str, str]:
    """(where, what) of one problem of a workbook upload: the cell in words, and the
    reason, with any contract path among its numbers ("first") also named as a place."""
    place = result.place_of(issue)
    where = describe_place(place) if place is not None else issue.where
    params = dict(issue.params)
    if isinstance(params.get("first"), str) and params["first"][:1].isalpha():
        first = result.where(params["first"])
        if first is not None:
            params["first"] = describe_place(first)
    return where, reason(Issue(issue.path, issue.code, params))


def render_workbook_issues(result: WorkbookResult, issues) -> list[str]:
    """Each problem as "where: what", in workbook order; `issues` are validate()'s (and
    the import's) problems of result.document, merged with the reading problems."""
    return [fill(AT_PLACE, dict(zip(("where", "what"), workbook_issue_parts(issue, result))))
            for issue in result.with_validation(issues)]
