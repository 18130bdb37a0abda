"""Checking a plan import document (shared/docs/plan-import.md), without Flask or a database.

`parse_document` turns the bytes a body sent into a document or says why it is not one;
`validate` lists every problem of a document as an `Issue`: where (a path in the contract's
syntax, `plans[3].sites[0].lat`), a code and its numbers. The words belong to the web and
CLI layers (words/plan_import.py), so a problem reads in the user's language.

The JSON Schema (checkin_pwa/schemas/plan_import.schema.json) checks shapes; the checks
here are the ones a schema cannot make. Whether a team phone has an account needs the
database: `team_phones_outside_auditors` gives the candidates and the service decides.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, Optional
from zoneinfo import available_timezones

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from . import clock

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "plan_import.schema.json"
DEFAULT_MODE = "onsite"
DEFAULT_STATUS = "valid"
# Real UTC offsets run from -12:00 to +14:00; anything else is a typo, not a place.
OFFSET_RANGE = (dt.timedelta(hours=-12), dt.timedelta(hours=14))

PathPart = str | int
_MOBILE = re.compile(r"1[0-9]{10}")
# No database stores these as text: PostgreSQL refuses NUL, and a lone UTF-16 surrogate
# cannot be encoded as UTF-8 at all (json.loads lets both through from \u escapes).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


@dataclass(frozen=True)
class Issue:
    """One reason a document is refused: where, what (a code), and its numbers."""

    path: tuple[PathPart, ...]
    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return format_path(self.path)


class NotADocument(ValueError):
    """The bytes are not a JSON object at all (the API answers 400, the CLI exits 1)."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def format_path(path: Iterable[PathPart]) -> str:
    """("plans", 3, "sites", 0, "lat") -> "plans[3].sites[0].lat" (the contract's syntax)."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


# --- parsing ---------------------------------------------------------------------------

def parse_document(raw: bytes) -> dict:
    """The JSON object in `raw`, or NotADocument saying why not.

    NaN and Infinity are let through here on purpose: `validate` names where they are,
    which helps more than a parse error at a column number.
    """
    if not raw.strip():
        raise NotADocument("empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotADocument("not_utf8") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise NotADocument("not_json", line=error.lineno, column=error.colno) from None
    except (RecursionError, ValueError):
        # Nesting deeper than the parser's stack, or an integer with thousands of digits.
        raise NotADocument("not_json_structure") from None
    if not isinstance(document, dict):
        raise NotADocument("not_object")
    where = _first_unstorable_text(document)
    if where is not None:
        raise NotADocument("unstorable_text", path=format_path(where))
    return normalise_document(document)


def is_storable_text(text: str) -> bool:
    """False when a database could not keep `text` (a NUL or a lone surrogate)."""
    return _UNSTORABLE.search(text) is None


def normalise_document(document: Any) -> Any:
    """The document with its phone and ID numbers as a person meant them: full-width
    digits and letters from a Chinese input method made ASCII (NFKC) and outer blanks
    dropped, in auditors[].phone / id_number, plans[].enterprise.phone and
    plans[].team[].phone. Changed in place and returned; anything else is left to
    `validate` as it is."""
    if not isinstance(document, dict):
        return document
    for _, person in _items(document.get("auditors")):
        _normalise_field(person, "phone")
        _normalise_field(person, "id_number")
    for _, plan in _items(document.get("plans")):
        if isinstance(plan.get("enterprise"), dict):
            _normalise_field(plan["enterprise"], "phone")
        for _, member in _items(plan.get("team")):
            _normalise_field(member, "phone")
    return document


def _normalise_field(entry: dict, name: str) -> None:
    value = entry.get(name)
    if isinstance(value, str):
        entry[name] = unicodedata.normalize("NFKC", value).strip()


def _first_unstorable_text(document: dict) -> Optional[tuple[PathPart, ...]]:
    """The path of the first key or string holding a NUL or a lone surrogate, or None.
    A bad key is named with its characters escaped (\\ud800), so the path can be shown."""
    stack: list[tuple[tuple[PathPart, ...], Any]] = [((), document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                return path
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                if _UNSTORABLE.search(key):
                    return path + (json.dumps(key)[1:-1],)
                stack.append((path + (key,), item))
        elif isinstance(value, list):
            stack.extend((path + (index,), item) for index, item in reversed(list(enumerate(value))))
    return None


# --- validation ------------------------------------------------------------------------

@functools.cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@functools.cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(schema())


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def validate(document: Any) -> list[Issue]:
    """Every problem of the document, in document order; [] when it may be imported."""
    if not isinstance(document, dict):
        return [Issue((), "type_object")]
    non_finite = dict(_non_finite_numbers(document))
    issues = [Issue(path, "not_finite") for path in non_finite]
    for error in _validator().iter_errors(document):
        if tuple(error.absolute_path) in non_finite:
            continue  # Infinity also breaks `maximum`: say it once, plainly
        issues.extend(_schema_issues(error))
    issues.extend(_document_issues(document))
    return sort_issues(document, _unique(issues))


def auditor_issues(entry: dict) -> list[Issue]:
    """The import's checks for one entry of `auditors` (phone, name, id_type, id_number), as
    a form adding an auditor by hand uses them; each issue's path is the field's name."""
    document = {"agency": {"code": "-", "name": "-"}, "plans": [], "auditors": [entry]}
    return [Issue(issue.path[2:], issue.code, issue.params) for issue in validate(document)
            if issue.path[:2] == ("auditors", 0)]


def sort_issues(document: Any, issues: Iterable[Issue]) -> list[Issue]:
    """Issues in the order their places appear in the document (stable for one place)."""
    return sorted(issues, key=lambda issue: _document_position(document, issue.path))


def _unique(issues: Iterable[Issue]) -> list[Issue]:
    seen: set[tuple] = set()
    kept = []
    for issue in issues:
        key = (issue.path, issue.code, tuple(sorted(issue.params.items())))
        if key not in seen:
            seen.add(key)
            kept.append(issue)
    return kept


def _document_position(document: Any, path: tuple[PathPart, ...]) -> tuple[int, ...]:
    """Where a path sits: the index of each step among its siblings; a missing key sorts
    after the keys that are there."""
    position = []
    node = document
    for part in path:
        if isinstance(node, dict):
            keys = list(node)
            index = keys.index(part) if part in node else len(keys)
            position.append(index)
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            position.append(part)
            node = node[part] if 0 <= part < len(node) else None
        else:
            position.append(0)
            node = None
    return tuple(position)


def _non_finite_numbers(document: Any) -> Iterator[tuple[tuple[PathPart, ...], None]]:
    """Paths of NaN / Infinity anywhere (walked without recursion: a body may nest deep)."""
    stack: list[tuple[tuple[PathPart, ...], Any]] = [((), document)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            yield path, None
        elif isinstance(node, dict):
            stack.extend(((*path, key), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, index), value) for index, value in enumerate(node))


_TYPE_CODES = {
    "object": "type_object",
    "array": "type_array",
    "string": "type_string",
    "number": "type_number",
    "integer": "type_integer",
    "boolean": "type_boolean",
}


def _schema_issues(error: ValidationError) -> list[Issue]:
    """A jsonschema error as issues with a path and a code (one error may name several
    missing properties)."""
    path = tuple(error.absolute_path)
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    if kind == "required":
        return [Issue((*path, name), "required") for name in value
                if isinstance(instance, dict) and name not in instance]
    if kind == "dependentRequired":
        return [Issue((*path, needed), "required_with", {"other": given})
                for given, needs in value.items() if isinstance(instance, dict) and given in instance
                for needed in needs if needed not in instance]
    if kind == "type":
        expected = value if isinstance(value, str) else value[0]
        return [Issue(path, _TYPE_CODES.get(expected, "invalid"))]
    if kind == "enum":
        return [Issue(path, "enum", {"allowed": ", ".join(str(choice) for choice in value)})]
    if kind in ("minimum", "maximum"):
        bounds = error.schema
        if "minimum" in bounds and "maximum" in bounds:
            return [Issue(path, "range", {"min": bounds["minimum"], "max": bounds["maximum"]})]
        return [Issue(path, kind, {"min" if kind == "minimum" else "max": value})]
    if kind == "pattern":
        return [Issue(path, error.schema.get("x-error-code", "invalid"))]
    if kind == "minLength":
        return [Issue(path, "too_short", {"min": value})]
    if kind == "maxLength":
        return [Issue(path, "too_long", {"max": value})]
    if kind == "minItems":
        return [Issue(path, "too_few_items", {"min": value})]
    if kind == "maxItems":
        return [Issue(path, "too_many_items", {"max": value})]
    return [Issue(path, "invalid")]


def parse_moment(text: Any) -> Optional[dt.datetime]:
    """An aware datetime from the contract's ISO 8601 text, or None if it is not one."""
    if not isinstance(text, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    offset = moment.utcoffset()
    if offset is None or not OFFSET_RANGE[0] <= offset <= OFFSET_RANGE[1]:
        return None
    return moment


@functools.cache
def _moment_pattern() -> re.Pattern:
    return re.compile(schema()["$defs"]["datetime_with_offset"]["pattern"])


def _looks_like_moment(text: Any) -> bool:
    """Shaped as the schema wants (else the schema already said so)."""
    return isinstance(text, str) and _moment_pattern().search(text) is not None


def _document_issues(document: dict) -> list[Issue]:
    """What the schema cannot say: duplicates, time order, real dates and zones, (0, 0)."""
    issues: list[Issue] = []

    first_auditor: dict[str, int] = {}
    for index, person in _items(document.get("auditors")):
        phone = person.get("phone")
        if isinstance(phone, str):
            if phone in first_auditor:
                issues.append(Issue(("auditors", index, "phone"), "duplicate_auditor",
                                    {"phone": phone, "first": format_path(("auditors", first_auditor[phone]))}))
            else:
                first_auditor[phone] = index

    first_plan: dict[str, int] = {}
    for index, plan in _items(document.get("plans")):
        here = ("plans", index)
        plan_no = plan.get("plan_no")
        if isinstance(plan_no, str):
            if plan_no in first_plan:
                issues.append(Issue((*here, "plan_no"), "duplicate_plan_no",
                                    {"plan_no": plan_no, "first": format_path(("plans", first_plan[plan_no]))}))
            else:
                first_plan[plan_no] = index

        moments = {}
        for name in ("start", "end"):
            text = plan.get(name)
            if _looks_like_moment(text):
                moments[name] = parse_moment(text)
                if moments[name] is None:
                    issues.append(Issue((*here, name), "datetime_invalid"))
        if moments.get("start") and moments.get("end") and moments["end"] <= moments["start"]:
            issues.append(Issue((*here, "end"), "end_before_start", {"start": plan["start"]}))

        zone = plan.get("timezone")
        if isinstance(zone, str) and zone not in _zones():
            issues.append(Issue((*here, "timezone"), "timezone"))

        for site_index, site in _items(plan.get("sites")):
            lat, lon = site.get("lat"), site.get("lon")
            if _is_number(lat) and _is_number(lon) and lat == 0 and lon == 0:
                issues.append(Issue((*here, "sites", site_index), "zero_coordinates"))

        first_member: dict[str, int] = {}
        for member_index, member in _items(plan.get("team")):
            phone = member.get("phone")
            if isinstance(phone, str):
                if phone in first_member:
                    issues.append(Issue((*here, "team", member_index, "phone"), "duplicate_team_phone",
                                        {"phone": phone,
                                         "first": format_path((*here, "team", first_member[phone]))}))
                else:
                    first_member[phone] = member_index
    return issues


def team_phones_outside_auditors(document: Any) -> list[tuple[tuple[PathPart, ...], str]]:
    """(path, phone) of each team member whose well-formed phone the document's `auditors`
    does not list: they must already have an account (the service asks the database)."""
    if not isinstance(document, dict):
        return []
    listed = {person.get("phone") for _, person in _items(document.get("auditors"))}
    found = []
    for index, plan in _items(document.get("plans")):
        for member_index, member in _items(plan.get("team")):
            phone = member.get("phone")
            if isinstance(phone, str) and _MOBILE.fullmatch(phone) and phone not in listed:
                found.append((("plans", index, "team", member_index, "phone"), phone))
    return found


def _items(value: Any) -> Iterator[tuple[int, dict]]:
    """The objects of a list (skipping what the schema already refuses)."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            if isinstance(item, dict):
                yield index, item


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


# --- reading a valid document ---------------------------------------------------------

def to_utc(moment: dt.datetime) -> dt.datetime:
    """The same instant in UTC (aware), as the database's UtcDateTime columns keep it."""
    return moment.astimezone(clock.UTC)


def offset_minutes(moment: dt.datetime) -> int:
    offset = moment.utcoffset()
    assert offset is not None
    return int(offset.total_seconds() // 60)
