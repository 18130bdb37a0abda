"""The calendar's months (R12), the filters of tasks and history (R13) and of a body's plan
list on the management end: parsing what came in a URL, checking it, and the small arithmetic around it. Pure: no Flask, no database.

Every refusal is a `FilterError` with a code (and numbers), so the web layer can say why in
the user's language and nothing is filtered on a value that was not understood.
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Optional, Sequence

from .audit_exceptions import PHASES

# The calendar shows these years: wide enough for any real audit, narrow enough that a
# typo (year 0, year 99999) is told apart from a wish.
MIN_YEAR = 2000
MAX_YEAR = 2100
PER_PAGE = 20
ENTERPRISE_MAX = 100  # longest enterprise search kept (names are at most 200)
LEVEL_NAMES = ("l1", "l2", "l3")


class FilterError(ValueError):
    """A value from the URL that cannot be used; `code` says which rule it broke."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


# --- months (R12) -------------------------------------------------------------------------

@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @property
    def first_day(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last_day(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def previous(self) -> Optional[Month]:
        year, month = (self.year, self.month - 1) if self.month > 1 else (self.year - 1, 12)
        return Month(year, month) if year >= MIN_YEAR else None

    def next(self) -> Optional[Month]:
        year, month = (self.year, self.month + 1) if self.month < 12 else (self.year + 1, 1)
        return Month(year, month) if year <= MAX_YEAR else None

    def weeks(self) -> list[list[Optional[dt.date]]]:
        """The month as weeks from Monday to Sunday; days of other months are None."""
        grid = calendar.Calendar(firstweekday=calendar.MONDAY).monthdatescalendar(self.year, self.month)
        return [[day if day.month == self.month else None for day in week] for week in grid]

    def __contains__(self, day: dt.date) -> bool:
        return (day.year, day.month) == (self.year, self.month)

    @classmethod
    def of(cls, day: dt.date) -> Month:
        return cls(day.year, day.month)


def _whole_number(text: object, code: str) -> int:
    value = str(text if text is not None else "").strip()
    # isdecimal() also accepts other scripts' digits (e.g. "٣"); only ASCII digits here.
    if not value or not value.isascii() or not value.isdigit() or len(value) > 20:
        raise FilterError(code, value=value[:20])
    return int(value)


def parse_month(year: object, month: object) -> Month:
    """A month from URL text: year MIN_YEAR..MAX_YEAR and month 1..12, digits only."""
    y = _whole_number(year, "bad_year")
    m = _whole_number(month, "bad_month")
    if not MIN_YEAR <= y <= MAX_YEAR:
        raise FilterError("year_out_of_range", value=y, min=MIN_YEAR, max=MAX_YEAR)
    if not 1 <= m <= 12:
        raise FilterError("month_out_of_range", value=m)
    return Month(y, m)


def parse_date(text: object, code: str = "bad_date") -> Optional[dt.date]:
    """YYYY-MM-DD (what <input type=date> sends); empty is None."""
    value = str(text if text is not None else "").strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise FilterError(code, value=value[:20]) from None
    if len(value) != 10 or not MIN_YEAR <= day.year <= MAX_YEAR:
        raise FilterError(code, value=value[:20])
    return day


def parse_date_range(date_from: object, date_to: object) -> tuple[Optional[dt.date], Optional[dt.date], list[FilterError]]:
    """A from .. to range of days from URL text (each may be empty): the days that could be
    read and the errors of those that could not, and `inverted_range` when from is after to."""
    errors: list[FilterError] = []
    days: list[Optional[dt.date]] = []
    for text in (date_from, date_to):
        try:
            days.append(parse_date(text))
        except FilterError as error:
            errors.append(error)
            days.append(None)
    first, last = days
    if first and last and first > last:
        errors.append(FilterError("inverted_range", date_from=first.isoformat(), date_to=last.isoformat()))
    return first, last, errors


# --- the certification project's three levels (R13) --------------------------------------

Levels = tuple[str, ...]


def clean_levels(levels: object) -> Levels:
    """A plan's project levels as stored (a JSON list of up to three names), tidied."""
    if not isinstance(levels, (list, tuple)):
        return ()
    out = []
    for level in list(levels)[:3]:
        if not isinstance(level, str) or not level.strip():
            break
        out.append(level.strip())
    return tuple(out)


@dataclass(frozen=True)
class ProjectTree:
    """The project levels the auditor's plans use, for the cascading selects."""

    paths: frozenset[Levels]

    @classmethod
    def of(cls, level_lists: Iterable[object]) -> ProjectTree:
        return cls(frozenset(path for path in map(clean_levels, level_lists) if path))

    def options(self, chosen: Sequence[str]) -> list[str]:
        """The choices one level below `chosen` (level 1 when nothing is chosen)."""
        depth = len(chosen)
        return sorted({path[depth] for path in self.paths
                       if len(path) > depth and path[:depth] == tuple(chosen)})


@dataclass(frozen=True)
class TaskFilters:
    """What the auditor asked tasks or history for; empty means "any"."""

    date_from: Optional[dt.date] = None
    date_to: Optional[dt.date] = None
    enterprise: str = ""
    levels: Levels = ()

    @property
    def active(self) -> bool:
        return bool(self.date_from or self.date_to or self.enterprise or self.levels)

    def query_args(self) -> dict[str, str]:
        """The filters as URL arguments (only those set), so a URL holds the filter."""
        args = {}
        if self.date_from:
            args["from"] = self.date_from.isoformat()
        if self.date_to:
            args["to"] = self.date_to.isoformat()
        if self.enterprise:
            args["enterprise"] = self.enterprise
        for name, level in zip(LEVEL_NAMES, self.levels):
            args[name] = level
        return args


@dataclass
class ParsedFilters:
    """The filters that could be read, and the errors of those that could not (the list
    is then not filtered on half a question: see `usable`)."""

    filters: TaskFilters
    errors: list[FilterError] = field(default_factory=list)
    # As typed, to show back in the form even when refused.
    raw: dict[str, str] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        return not self.errors


def search_text(value: object, limit: int) -> str:
    """Words typed to search by: runs of spaces made one, control characters (a NUL, which
    PostgreSQL refuses in text) dropped, at most `limit` characters."""
    text = "".join(ch if ch.isprintable() or ch.isspace() else " " for ch in str(value if value is not None else ""))
    return " ".join(text.split())[:limit]


def parse_filters(args: Mapping[str, str], tree: ProjectTree, *, cascade_from: Optional[str] = None) -> ParsedFilters:
    """R13 filters from URL arguments: from / to (dates), enterprise (text), l1 / l2 / l3.

    Refused: a date that is not a date, from later than to (`inverted_range`), a level
    not among the options of the level above it or a level without the one above
    (`bad_project_level`). `cascade_from` is the level select the auditor just changed
    (l1 or l2): the levels below it are dropped, as the options below it changed.
    """
    raw = {name: str(args.get(name) or "").strip() for name in ("from", "to", "enterprise", *LEVEL_NAMES)}
    date_from, date_to, errors = parse_date_range(raw["from"], raw["to"])

    chosen = [raw[name] for name in LEVEL_NAMES]
    if cascade_from in LEVEL_NAMES:
        keep = LEVEL_NAMES.index(cascade_from) + 1
        chosen = chosen[:keep] + [""] * (len(LEVEL_NAMES) - keep)
        for name, value in zip(LEVEL_NAMES, chosen):
            raw[name] = value
    levels: list[str] = []
    for depth, value in enumerate(chosen):
        if not value:
            if any(chosen[depth + 1:]):
                errors.append(FilterError("bad_project_level", level=depth + 2))
            break
        if value not in tree.options(levels):
            errors.append(FilterError("bad_project_level", level=depth + 1))
            break
        levels.append(value)

    enterprise = search_text(raw["enterprise"], ENTERPRISE_MAX)
    raw["enterprise"] = enterprise
    filters = TaskFilters(date_from, date_to, enterprise, tuple(levels))
    return ParsedFilters(filters, errors, raw)


# --- a body's plans on the management end ---------------------------------------------------

MODES = ("onsite", "combined", "remote")  # as the plan import's schema allows
CHECKED = ("yes", "no")  # whether the team has checked in
SORTS = ("start", "-start", "end", "-end", "plan_no", "-plan_no")
DEFAULT_SORT = "-start"
AUDITOR_MAX = 100


@dataclass(frozen=True)
class PlanFilters(TaskFilters):
    """The auditors' filters (dates, enterprise, project levels) and what a body's staff
    also ask of their plans: an auditor (name or phone), the phase, whether the team has
    checked in, the mode; and the order."""

    auditor: str = ""
    phase: str = ""
    checked: str = ""
    mode: str = ""
    sort: str = DEFAULT_SORT

    @property
    def active(self) -> bool:
        return super().active or bool(self.auditor or self.phase or self.checked or self.mode)

    def query_args(self) -> dict[str, str]:
        args = super().query_args()
        for name in ("auditor", "phase", "checked", "mode"):
            if getattr(self, name):
                args[name] = getattr(self, name)
        if self.sort != DEFAULT_SORT:
            args["sort"] = self.sort
        return args


def parse_plan_filters(args: Mapping[str, str], tree: ProjectTree, *,
                       cascade_from: Optional[str] = None) -> ParsedFilters:
    """parse_filters, and the staff's own: `auditor` (text), `phase`, `checked` and `mode`
    (one of their codes, else refused as `bad_choice`), `sort` (an unknown order is the
    default one: it only orders)."""
    parsed = parse_filters(args, tree, cascade_from=cascade_from)
    raw, errors = parsed.raw, list(parsed.errors)
    raw["auditor"] = search_text(args.get("auditor"), AUDITOR_MAX)
    chosen = {}
    for name, allowed in (("phase", PHASES), ("checked", CHECKED), ("mode", MODES)):
        raw[name] = str(args.get(name) or "").strip()
        if raw[name] and raw[name] not in allowed:
            errors.append(FilterError("bad_choice", value=raw[name][:20]))
            raw[name] = ""
        chosen[name] = raw[name]
    sort = str(args.get("sort") or "").strip()
    raw["sort"] = sort if sort in SORTS else DEFAULT_SORT
    base = parsed.filters
    filters = PlanFilters(base.date_from, base.date_to, base.enterprise, base.levels,
                          auditor=raw["auditor"], sort=raw["sort"], **chosen)
    return ParsedFilters(filters, errors, raw)


def matches(filters: TaskFilters, first_day: dt.date, last_day: dt.date, levels: object) -> bool:
    """Whether a plan passes the date range and project filters (the name is matched in the
    query). The range keeps plans whose audit period, in local days, overlaps it."""
    if filters.date_from and last_day < filters.date_from:
        return False
    if filters.date_to and first_day > filters.date_to:
        return False
    if filters.levels and clean_levels(levels)[: len(filters.levels)] != filters.levels:
        return False
    return True


# --- pages --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Page:
    """One page of a list: `number` is 1-based and within 1..pages (pages >= 1)."""

    number: int
    pages: int
    total: int
    per_page: int = PER_PAGE
    asked_beyond: bool = False  # the URL asked for a page after the last one

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    def with_args(self, args: Mapping[str, str]) -> dict[str, str]:
        """A list's URL arguments (its filters) and this page's number, left out on page 1."""
        return dict(args, page=str(self.number)) if self.number > 1 else dict(args)


def page_within(number: int, total: int, per_page: int = PER_PAGE) -> Page:
    """Page `number` of `total` rows: below 1 is page 1; after the last, the last page."""
    pages = max(1, -(-total // per_page))
    number = max(1, number)
    return Page(min(number, pages), pages, total, per_page, number > pages)


def page_of(asked: object, total: int, per_page: int = PER_PAGE) -> Page:
    """The page to show: not a number or below 1 is page 1; after the last, the last page."""
    text = str(asked if asked is not None else "").strip()
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 20 else 1
    return page_within(number, total, per_page)
