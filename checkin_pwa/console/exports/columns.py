"""The columns of each export, in the reader's language: a heading and how a cell is read
from a record of services.exports.records. The
list is documented in docs/exports.md; keep the two together. Times are on the plan's own
clock (its time zone is a column of the plans export), as YYYY-MM-DD HH:MM:SS."""
from __future__ import annotations

from typing import Any, Callable

from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from ...domain import clock
from ...blueprints.plans.words import EXCEPTION_TITLES, KINDS, MODES, exception_text
from ...blueprints.tasks.words import STATES
from ...words import team_role
from ..verifications.words import RESULT_WORDS
from ..words import PHASE_WORDS

# A cell is read from a record; a cell of one word may be the word's lazy string (rows()
# says it in the reader's language).
Column = tuple[Any, Callable[[Any, Any], Any]]
SECONDS = "%Y-%m-%d %H:%M:%S"


_YES, _NO = _l("Yes"), _l("No")


def _yes(value: bool) -> LazyString:
    return _YES if value else _NO


def _at(plan, moment) -> str:
    """`plan`: anything with the plan's `timezone` (the plan, or a row joined with it)."""
    return clock.local(moment, plan.timezone).strftime(SECONDS) if moment else ""


def _team(plan) -> str:
    return "; ".join(f"{team_role(member.role)} {member.auditor.name} {member.auditor.phone}"
                     for member in plan.team)


def _round(value, digits: int = 1):
    if value is None:
        return None
    return int(round(value)) if digits == 0 else round(value, digits)


PLAN_COLUMNS: list[Column] = [
    (_l("Plan no."), lambda e, _r: e.plan.plan_no),
    (_l("Enterprise"), lambda e, _r: e.plan.enterprise.name),
    (_l("Certification project"), lambda e, _r: e.plan.project_code),
    (_l("Project levels"), lambda e, _r: " › ".join(e.plan.project_levels or [])),
    (_l("Certificate no."), lambda e, _r: e.plan.certificate_no),
    (_l("Audit activity"), lambda e, _r: e.plan.activity),
    (_l("Start"), lambda e, _r: e.start_local.strftime("%Y-%m-%d %H:%M")),
    (_l("End"), lambda e, _r: e.end_local.strftime("%Y-%m-%d %H:%M")),
    (_l("Time zone"), lambda e, _r: e.plan.timezone),
    (_l("Region"), lambda e, _r: e.plan.region),
    (_l("Audit mode"), lambda e, _r: MODES.get(e.plan.mode, e.plan.mode)),
    (_l("Confidential"), lambda e, _r: _yes(e.plan.confidential)),
    (_l("State"), lambda e, _r: PHASE_WORDS[e.phase]),
    (_l("Check-in status"), lambda e, _r: STATES.get(e.status.state, e.status.state)),
    (_l("Audit team"), lambda e, _r: _team(e.plan)),
    (_l("Audit address"), lambda e, _r: "; ".join(site.address for site in e.plan.sites)),
    (_l("Remarks"), lambda e, _r: e.plan.remarks),
]

# Every row of the others begins with the plan it belongs to. Events, explanations and
# verifications are joined rows (services.exports): the row carries its plan's number,
# enterprise and time zone, and the names it shows.
_ROW_PLAN_KEY: list[Column] = [(PLAN_COLUMNS[0][0], lambda row, _r: row.plan_no),
                               (PLAN_COLUMNS[1][0], lambda row, _r: row.enterprise)]

EVENT_COLUMNS: list[Column] = _ROW_PLAN_KEY + [
    (_l("Event"), lambda _p, ev: KINDS.get(ev.kind, ev.kind)),
    (_l("Signed by"), lambda _p, ev: ev.signer_name),
    (_l("Signer's mobile"), lambda _p, ev: ev.signer_phone),
    (_l("Counts for the team"), lambda _p, ev: _yes(ev.counts_for_team)),
    (_l("Server time"), lambda _p, ev: _at(ev, ev.server_time)),
    (_l("Phone time"), lambda _p, ev: _at(ev, ev.device_time)),
    (_l("Phone clock off (s)"), lambda _p, ev: _round(ev.clock_skew_s, 0)),
    (_l("Sent later (offline)"), lambda _p, ev: _yes(ev.queued_offline)),
    (_l("Phone latitude"), lambda _p, ev: ev.device_lat),
    (_l("Phone longitude"), lambda _p, ev: ev.device_lon),
    (_l("Accuracy (m)"), lambda _p, ev: _round(ev.device_accuracy_m)),
    (_l("Chosen latitude"), lambda _p, ev: ev.chosen_lat),
    (_l("Chosen longitude"), lambda _p, ev: ev.chosen_lon),
    (_l("Point moved (m)"), lambda _p, ev: _round(ev.pin_offset_m)),
    (_l("Nearest planned address"), lambda _p, ev: ev.nearest_address or ""),
    (_l("Distance to it (m)"), lambda _p, ev: _round(ev.nearest_site_distance_m)),
    (_l("Signals"), lambda _p, ev: ", ".join(flag.get("code", "") for flag in ev.flags or [] if isinstance(flag, dict))),
]

EXCEPTION_COLUMNS: list[Column] = [
    PLAN_COLUMNS[0], PLAN_COLUMNS[1], PLAN_COLUMNS[6], PLAN_COLUMNS[7],
    (_l("Exception"), lambda e, view: EXCEPTION_TITLES.get(view.exception.code, view.exception.code)),
    (_l("Detail"), lambda e, view: exception_text(view)),
]

EXPLANATION_COLUMNS: list[Column] = _ROW_PLAN_KEY + [
    (_l("Written by"), lambda _p, x: x.author_name),
    (_l("Author's mobile"), lambda _p, x: x.author_phone),
    (_l("Received (server time)"), lambda _p, x: _at(x, x.created_at)),
    (_l("Written (phone time)"), lambda _p, x: _at(x, x.device_time)),
    (_l("Sent later (offline)"), lambda _p, x: _yes(x.queued_offline)),
    (_l("Explanation"), lambda _p, x: x.text),
]

VERIFICATION_COLUMNS: list[Column] = _ROW_PLAN_KEY + [
    (_l("Verification result"), lambda _p, v: RESULT_WORDS.get(v.result, v.result)),
    (_l("Verification text"), lambda _p, v: v.text),
    (_l("Exceptions concerned"), lambda _p, v: ", ".join(str(EXCEPTION_TITLES.get(code, code))
                                                        for code in _codes(v.exceptions))),
    (_l("Verification deadline"), lambda _p, v: v.deadline.isoformat()),
    (_l("Verified after the deadline"), lambda _p, v: _yes(v.late)),
    (_l("Verified by"), lambda _p, v: v.staff_name),
    (_l("Verified at (server time)"), lambda _p, v: _at(v, v.created_at)),
]


def _codes(stored) -> list[str]:
    """The exception codes a verification stored (codes, or objects with a code)."""
    codes = []
    for item in stored or []:
        codes.append(item.get("code", "") if isinstance(item, dict) else str(item))
    return codes


COLUMNS = {"plans": PLAN_COLUMNS, "events": EVENT_COLUMNS, "exceptions": EXCEPTION_COLUMNS,
           "explanations": EXPLANATION_COLUMNS, "verifications": VERIFICATION_COLUMNS}

TITLES = {"plans": _l("Plans"), "events": _l("Check-in events"), "exceptions": _l("Exceptions"),
          "explanations": _l("Explanations"), "verifications": _l("Verifications")}


def header(dataset: str) -> list[str]:
    return [str(title) for title, _read in COLUMNS[dataset]]


def rows(dataset: str, records):
    """The cells of each record, in the columns' order. A word (a lazy string) is translated
    once per export, not once per cell: its words are constants, the reader's language one."""
    columns = [read for _title, read in COLUMNS[dataset]]
    said: dict[int, str] = {}
    for entry, item in records:
        cells = [read(entry, item) for read in columns]
        for number, value in enumerate(cells):
            if isinstance(value, LazyString):
                try:
                    cells[number] = said[id(value)]
                except KeyError:
                    cells[number] = said[id(value)] = str(value)
        yield cells
