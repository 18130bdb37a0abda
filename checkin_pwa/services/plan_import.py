"""Importing a body's plan document into the database (shared/docs/plan-import.md).

One transaction: a refused document changes nothing. A dry run takes the same path and
writes nothing: every row is read and changed in the session, never flushed (but for a
new body's own row, whose id the others need), and the session is rolled back. An auditor practises for one body at a time: a document naming an
account of another body (in `auditors` or on a team) is refused at that place. Idempotent: a plan_no already known
for the body is updated, never duplicated, and the records already made for it stay:
check events keep the site they point at (see `reconcile_sites`) and their signer.
A known plan whose times, sites, team, remarks or status change gets a row in its history
(services.plan_changes), so its team is shown the change.
Existing accounts keep their password; new ones get the initial password and must change
it at first login (R1).
"""
from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Optional

from flask import current_app
from sqlalchemy import bindparam, delete, insert, inspect, tuple_, update
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.security import generate_password_hash

from ..domain import clock, plan_import as rules
from ..domain.plan_import import Issue
from ..domain.plan_workbook import WorkbookResult
from ..extensions import db
from ..models import Agency, AuditPlan, Auditor, CheckEvent, Enterprise, PlanSite, Staff, TeamMember, copy_plan_columns
from ..models import PlanChange as HistoryRow
from ..words import plan_import as import_words
from . import plan_changes

log = logging.getLogger(__name__)
IMPORT_ATTEMPTS = 3  # a lost race is run again from the start; each loss means another won
PROGRESS_EVERY = 100  # plans between two calls of an import's progress callback
# Plans between two flushes of an import that writes: the rows go to the database (still
# uncommitted) and leave memory, so a big document costs memory per batch, not in all
# (10,000 plans: 185 MB at the peak instead of 515 MB).
FLUSH_EVERY = 500

# A plan's fields as the contract names them, and how to read each from a row.
_PLAN_FIELDS: tuple[tuple[str, Callable[[AuditPlan], Any]], ...] = (
    ("enterprise", lambda plan: (plan.enterprise.name, plan.enterprise.contact, plan.enterprise.phone)
     if plan.enterprise is not None else None),
    ("project", lambda plan: (plan.project_code, tuple(plan.project_levels or ()))),
    ("required", lambda plan: plan.required),
    ("certificate_no", lambda plan: plan.certificate_no),
    ("activity", lambda plan: plan.activity),
    ("start", lambda plan: (plan.start_utc, plan.utc_offset_minutes)),
    ("end", lambda plan: plan.end_utc),
    ("timezone", lambda plan: plan.timezone),
    ("region", lambda plan: plan.region),
    ("mode", lambda plan: plan.mode),
    ("confidential", lambda plan: plan.confidential),
    ("remarks", lambda plan: plan.remarks),
    ("status", lambda plan: plan.status),
    ("sites", lambda plan: tuple((site.address, site.lat, site.lon) for site in plan.sites)),
    ("team", lambda plan: tuple((member.auditor.phone if member.auditor is not None else member.auditor_id,
                                 member.role) for member in plan.team)),
)


@dataclass(frozen=True)
class PlanChange:
    """What an import does to one plan: made new, or the contract's fields it changes
    (none: the plan stays as it is)."""

    plan_no: str
    enterprise: str
    created: bool
    fields: tuple[str, ...] = ()


@dataclass
class ImportSummary:
    """What an import did: plan numbers created and updated, accounts made, or, when
    refused, every problem (and then nothing was changed). `changes` says per plan what
    changed; `held` is true when the caller's confirmation declined the result (nothing
    was written)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    auditors_created: list[str] = field(default_factory=list)
    refused: list[Issue] = field(default_factory=list)
    changes: list[PlanChange] = field(default_factory=list)
    held: bool = False

    @property
    def accepted(self) -> bool:
        return not self.refused

    def digest(self) -> str:
        """A fingerprint of what the import does: two runs with the same digest create,
        update and change the same things."""
        outcome = {"created": self.created, "updated": self.updated, "auditors_created": self.auditors_created,
                   "changes": [asdict(change) for change in self.changes]}
        return hashlib.sha256(json.dumps(outcome, ensure_ascii=False, sort_keys=True).encode()).hexdigest()

    def as_dict(self) -> dict:
        """The summary as the API and `import-plans --json` give it; problems are worded
        in the current language."""
        return {
            "created": list(self.created),
            "updated": list(self.updated),
            "auditors_created": list(self.auditors_created),
            "refused": import_words.render_issues(self.refused),
        }


class WrongAgency(PermissionError):
    """The document is for another body than the one the token belongs to."""

    def __init__(self, token_agency: str, document_agency: str) -> None:
        super().__init__(document_agency)
        self.token_agency = token_agency
        self.document_agency = document_agency


Progress = Callable[[int, int], None]


def import_plans(document: Any, *, via_agency: Optional[Agency] = None, dry_run: bool = False,
                 progress: Optional[Progress] = None,
                 confirm: Optional[Callable[[ImportSummary], bool]] = None,
                 source: Optional[str] = None, by: Optional[Staff] = None,
                 flush_every: Optional[int] | str = "auto") -> ImportSummary:
    """Import a parsed document; committed when accepted, rolled back when refused.

    `via_agency` is the body an API token (or a staff member) belongs to: a document for
    another body raises WrongAgency before anything is read or written. `dry_run`: the
    same checks and the same summary, nothing written. `progress(done, total)` is called
    as plans are worked through. `confirm(summary)`, when given, is asked after the rows
    are written and before the commit: False rolls everything back (summary.held); it may
    add rows of its own to the same transaction. `source` (services.plan_changes.SOURCES:
    "api", "cli", or "upload" with `by`, the staff member of a console upload) names who
    changed a known plan in its history; without it, "api" with `via_agency`, else "cli".
    `flush_every`: plans written to the database at a time; None: nothing is written until
    the whole document was worked through, then every row at once with a few bulk
    statements (the shortest hold of SQLite's one write lock, but the whole document's
    rows in memory); "auto": None on SQLite, FLUSH_EVERY on other databases.
    """
    source = source or ("api" if via_agency is not None else "cli")
    if flush_every == "auto":
        flush_every = None if db.engine.dialect.name == "sqlite" else FLUSH_EVERY
    if via_agency is not None:
        code = _document_agency_code(document)
        if code is not None and code != via_agency.code:
            raise WrongAgency(via_agency.code, code)
    # Two imports of the same new plan_no at once: the second meets the unique constraint
    # (or, on SQLite, finds its read snapshot outdated when it starts writing); run it
    # again from the start and it finds the plan and updates it.
    for attempt in range(1, IMPORT_ATTEMPTS + 1):
        try:
            return _import_once(document, dry_run=dry_run, progress=progress, confirm=confirm,
                                source=source, by=by, flush_every=flush_every)
        except (IntegrityError, OperationalError):
            db.session.rollback()
            if attempt == IMPORT_ATTEMPTS:
                raise
        except Exception:
            db.session.rollback()
            raise
    raise AssertionError("unreachable")


def import_workbook(result: WorkbookResult, *, via_agency: Optional[Agency] = None) -> ImportSummary:
    """Import what `plan_workbook.read_workbook` read: refused, unwritten, while any cell
    was refused in reading (the document then lacks those values); otherwise exactly as
    `import_plans`. The refused problems are in workbook order (result.place_of names
    each one's cell)."""
    if result.issues:
        db.session.rollback()
        return ImportSummary(refused=result.with_validation(rules.validate(result.document)))
    summary = import_plans(result.document, via_agency=via_agency)
    if summary.refused:
        summary.refused = result.with_validation(summary.refused)
    return summary


def _document_agency_code(document: Any) -> Optional[str]:
    agency = document.get("agency") if isinstance(document, dict) else None
    code = agency.get("code") if isinstance(agency, dict) else None
    return code if isinstance(code, str) else None


def _import_once(document: Any, *, dry_run: bool, progress: Optional[Progress],
                 confirm: Optional[Callable[[ImportSummary], bool]], source: str,
                 by: Optional[Staff], flush_every: Optional[int]) -> ImportSummary:
    issues = rules.validate(document)
    if not issues:
        issues = _unknown_team_phones(document) + _auditors_of_other_bodies(document)
    if issues:
        db.session.rollback()
        return ImportSummary(refused=rules.sort_issues(document, issues))
    with db.session.no_autoflush:
        summary = _write(document, progress, keep=not dry_run, source=source, by=by, flush_every=flush_every)
        if dry_run:
            db.session.rollback()
            return summary
        if flush_every:
            db.session.flush()
        else:
            write_rows(_pending_rows())
    if confirm is not None and not confirm(summary):
        db.session.rollback()
        summary.held = True
        return summary
    db.session.commit()
    log.info("plan import for %s: created %s, updated %s, new accounts %s",
             document["agency"]["code"], summary.created, summary.updated, summary.auditors_created)
    return summary


def _unknown_team_phones(document: Any) -> list[Issue]:
    candidates = rules.team_phones_outside_auditors(document)
    if not candidates:
        return []
    phones = {phone for _, phone in candidates}
    known = set(db.session.scalars(db.select(Auditor.phone).where(Auditor.phone.in_(phones))))
    return [Issue(path, "unknown_auditor", {"phone": phone})
            for path, phone in candidates if phone not in known]


def _auditors_of_other_bodies(document: dict) -> list[Issue]:
    """Every place that names an account belonging to another body than the document's:
    an auditor practises for one body at a time, so only their own body puts them on a
    team or corrects their details."""
    places = [(("auditors", index, "phone"), person["phone"]) for index, person in enumerate(document.get("auditors", []))]
    places += [(("plans", index, "team", member_index, "phone"), member["phone"])
               for index, entry in enumerate(document["plans"]) for member_index, member in enumerate(entry["team"])]
    if not places:
        return []
    own = db.session.scalar(db.select(Agency.id).filter_by(code=document["agency"]["code"]))
    query = db.select(Auditor.phone).where(Auditor.phone.in_({phone for _, phone in places}),
                                           Auditor.agency_id.is_not(None))
    if own is not None:
        query = query.where(Auditor.agency_id != own)
    elsewhere = set(db.session.scalars(query))
    return [Issue(path, "auditor_of_other_body", {"phone": phone}) for path, phone in places if phone in elsewhere]


# --- writing an accepted document -----------------------------------------------------

def _write(document: dict, progress: Optional[Progress] = None, *, keep: bool = True, source: str = "cli",
           by: Optional[Staff] = None, flush_every: Optional[int] = FLUSH_EVERY) -> ImportSummary:
    """Every row the document asks for, changed in the session (the caller flushes the
    last ones); a known plan that changes gets its history row (services.plan_changes).
    Rows are flushed every `flush_every` plans and then leave memory. Without `keep` (a
    dry run) each plan leaves the session once its change is known, so memory holds one
    plan's rows at a time, not the document's, and no history is made."""
    summary = ImportSummary()
    agency = _agency(document["agency"])
    people = _auditors(document, agency, summary)
    companies: dict[str, Enterprise] = {}
    total = len(document["plans"])
    for done, entry in enumerate(document["plans"]):
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done, total)
        plan = db.session.scalar(
            db.select(AuditPlan).filter_by(agency_id=agency.id, plan_no=entry["plan_no"])
        )
        before = _plan_fields(plan) if plan is not None else None
        history_before = plan_changes.snapshot(plan) if plan is not None and keep else None
        company = _enterprise(agency, entry["enterprise"], companies)
        if plan is None:
            plan = AuditPlan(agency_id=agency.id, plan_no=entry["plan_no"])
            summary.created.append(entry["plan_no"])
        else:
            summary.updated.append(entry["plan_no"])
        _fill_plan(plan, entry, company)
        reconcile_sites(plan, entry["sites"])
        reconcile_team(plan, entry["team"], people)
        db.session.add(plan)
        after = _plan_fields(plan)
        changed = tuple(name for name, _ in _PLAN_FIELDS if before is None or before[name] != after[name])
        summary.changes.append(PlanChange(entry["plan_no"], company.name, before is None,
                                          () if before is None else changed))
        if history_before is not None:
            plan_changes.record(plan, history_before, source=source, by=by)
        if not keep:
            db.session.expunge(plan)
        elif flush_every and (done + 1) % flush_every == 0:
            db.session.flush()
    if progress is not None:
        progress(total, total)
    return summary


def _plan_fields(plan: AuditPlan) -> dict[str, Any]:
    return {name: read(plan) for name, read in _PLAN_FIELDS}


def _agency(entry: dict) -> Agency:
    agency = db.session.scalar(db.select(Agency).filter_by(code=entry["code"]))
    if agency is None:
        agency = Agency(code=entry["code"], name=entry["name"])
        db.session.add(agency)
        db.session.flush()  # its id names the rows below (rolled back if anything fails)
    agency.name = entry["name"]
    return agency


def _auditors(document: dict, agency: Agency, summary: ImportSummary) -> dict[str, Auditor]:
    """Accounts by phone for everyone the document names; missing listed ones are made."""
    listed = document.get("auditors", [])
    phones = {person["phone"] for person in listed}
    phones |= {member["phone"] for entry in document["plans"] for member in entry["team"]}
    people = {person.phone: person
              for person in db.session.scalars(db.select(Auditor).where(Auditor.phone.in_(phones)))}
    default_password = current_app.config["DEFAULT_INITIAL_PASSWORD"]
    for entry in listed:
        person = people.get(entry["phone"])
        if person is None:
            person = Auditor(
                phone=entry["phone"],
                name=entry["name"],
                id_type=entry.get("id_type", "id_card"),
                id_number=entry.get("id_number"),
                agency_id=agency.id,
                password_hash=generate_password_hash(entry.get("initial_password") or default_password),
                must_change_password=True,
            )
            db.session.add(person)
            people[entry["phone"]] = person
            summary.auditors_created.append(entry["phone"])
        else:
            # Name and ID may be corrected by the auditor's own body (another body's
            # account was refused before); never the password.
            person.name = entry["name"]
            if "id_type" in entry:
                person.id_type = entry["id_type"]
            if "id_number" in entry:
                person.id_number = entry["id_number"]
            person.agency_id = agency.id
    return people


def _enterprise(agency: Agency, entry: dict, companies: dict[str, Enterprise]) -> Enterprise:
    name = entry["name"]
    company = companies.get(name)
    if company is None:
        company = db.session.scalar(db.select(Enterprise).filter_by(agency_id=agency.id, name=name))
    if company is None:
        company = Enterprise(agency_id=agency.id, name=name)
        db.session.add(company)
    companies[name] = company
    if "contact" in entry:
        company.contact = entry["contact"]
    if "phone" in entry:
        company.phone = entry["phone"]
    return company


def _fill_plan(plan: AuditPlan, entry: dict, company: Enterprise) -> None:
    """The plan's own fields, exactly as the document says (absent optional ones clear)."""
    start = rules.parse_moment(entry["start"])
    end = rules.parse_moment(entry["end"])
    assert start is not None and end is not None  # validate() made sure
    project = entry["project"]
    plan.enterprise = company
    plan.project_code = project["code"]
    plan.project_levels = list(project.get("levels", []))
    plan.required = entry.get("required", False)
    plan.certificate_no = entry.get("certificate_no")
    plan.activity = entry.get("activity")
    plan.start_utc = rules.to_utc(start)
    plan.end_utc = rules.to_utc(end)
    plan.utc_offset_minutes = rules.offset_minutes(start)
    plan.timezone = entry.get("timezone") or clock.DEFAULT_ZONE_NAME
    plan.region = entry.get("region")
    plan.mode = entry.get("mode", rules.DEFAULT_MODE)
    plan.confidential = entry.get("confidential", False)
    plan.remarks = entry.get("remarks")
    plan.status = entry.get("status", rules.DEFAULT_STATUS)
    plan.imported_at = clock.now()


def reconcile_sites(plan: AuditPlan, wanted: list[dict]) -> None:
    """Make the plan's sites the document's, keeping every row a check event points at.

    A row keeps its id when the document still has its address, or the same coordinates
    (an address spelled anew). A row no event points at is reused or deleted. A row an
    event points at whose place the document no longer has is kept, after the document's
    sites: the event must keep naming the place it was judged against, and the team has
    demonstrably been there.
    """
    current = list(plan.sites)
    ids = [site.id for site in current if site.id is not None]
    referenced: set[int] = set()
    if ids:
        referenced = set(db.session.scalars(
            db.select(CheckEvent.nearest_site_id).where(CheckEvent.nearest_site_id.in_(ids)).distinct()
        ))
    free = list(current)
    chosen: dict[int, PlanSite] = {}
    for index, entry in enumerate(wanted):
        match = next((site for site in free if site.address == entry["address"]), None)
        if match is None and entry.get("lat") is not None:
            match = next((site for site in free
                          if (site.lat, site.lon) == (entry["lat"], entry["lon"])), None)
        if match is not None:
            free.remove(match)
            chosen[index] = match
    for index in range(len(wanted)):
        if index in chosen:
            continue
        reusable = next((site for site in free if site.id not in referenced), None)
        if reusable is not None:
            free.remove(reusable)
            chosen[index] = reusable
        else:
            chosen[index] = PlanSite()
    kept = [site for site in free if site.id in referenced]
    ordered = [chosen[index] for index in range(len(wanted))] + kept
    for position, site in enumerate(ordered):
        site.position = position
    for index, entry in enumerate(wanted):
        site = chosen[index]
        site.address = entry["address"]
        site.lat = entry.get("lat")
        site.lon = entry.get("lon")
    plan.sites = ordered  # rows left out (none referenced) are deleted


def reconcile_team(plan: AuditPlan, wanted: list[dict], people: dict[str, Auditor]) -> None:
    """The team as the document lists it; a member staying keeps their row."""
    by_auditor = {member.auditor_id: member for member in plan.team}
    team = []
    for position, entry in enumerate(wanted):
        person = people[entry["phone"]]
        member = by_auditor.pop(person.id, None) if person.id is not None else None
        if member is None:
            member = TeamMember(auditor=person)
        member.role = entry["role"]
        member.position = position
        team.append(member)
    plan.team = team  # members no longer listed leave the team; their events stay


# --- the rows, written at once ----------------------------------------------------------
# SQLite has one writer: from an import's first write to its commit every other write (an
# auditor's check-in) waits. So without batches (`flush_every` None) nothing is written
# while the document is worked through: the session's changes are gathered into rows
# first, all in Python, then written with a few statements per table (executemany), and
# the ids of new rows are read back by their natural keys. 10,000 plans: see
# docs/performance.md ("the write lock").

IN_CHUNK = 500  # values in one IN (...) list


@dataclass
class _Rows:
    """What the session holds, as rows: per model, those to insert (each with the object
    it stands for), to update (id and the changed columns) and the ids to delete."""

    new: dict[type, list[tuple[Any, dict]]] = field(default_factory=dict)
    changed: dict[type, list[dict]] = field(default_factory=dict)
    gone: dict[type, list[int]] = field(default_factory=dict)
    dirty: list[Any] = field(default_factory=list)


_COLUMNS: dict[type, tuple[str, ...]] = {}
_WRITTEN = (Agency, Auditor, Enterprise, AuditPlan, PlanSite, TeamMember, HistoryRow)


def _columns(model: type) -> tuple[str, ...]:
    if model not in _COLUMNS:
        _COLUMNS[model] = tuple(attr.key for attr in inspect(model).column_attrs if attr.key != "id")
    return _COLUMNS[model]


def _pending_rows() -> _Rows:
    """The session's new, changed and orphaned rows of the import's models (nothing is sent
    to the database). The new and orphaned objects leave the session, so that only
    `write_rows` writes them; any other model's pending change is left to the commit."""
    rows = _Rows()
    session = db.session
    done = [obj for obj in session.new if isinstance(obj, _WRITTEN) and not isinstance(obj, Agency)]  # _agency flushed it
    for obj in done:
        values = {key: value for key in _columns(type(obj)) if (value := getattr(obj, key)) is not None}
        rows.new.setdefault(type(obj), []).append((obj, values))
    dirty = [obj for obj in session.dirty if isinstance(obj, _WRITTEN)]
    for obj in dirty:
        if not isinstance(obj, AuditPlan):
            continue
        state = inspect(obj)
        for name, model in (("sites", PlanSite), ("team", TeamMember)):
            kept = {id(child) for child in getattr(obj, name)}
            left = [child for child in state.attrs[name].history.deleted if id(child) not in kept]
            rows.gone.setdefault(model, []).extend(child.id for child in left if child.id is not None)
            done += left
    gone = {(model, row_id) for model, ids in rows.gone.items() for row_id in ids}
    for obj in dirty:
        state = inspect(obj)
        if (type(obj), obj.id) in gone:
            continue
        values = {key: getattr(obj, key) for key in _columns(type(obj)) if state.attrs[key].history.has_changes()}
        if isinstance(obj, AuditPlan) and state.attrs["enterprise"].history.has_changes():
            values["enterprise_id"] = None  # read from plan.enterprise once it has an id
        if values:
            rows.changed.setdefault(type(obj), []).append({"id": obj.id, "_obj": obj, **values})
        rows.dirty.append(obj)
    for obj in done:
        if obj in session:
            session.expunge(obj)
    return rows


def write_rows(rows: _Rows) -> None:
    """Write what `_pending_rows` gathered: parents before children, deletions before
    insertions (a team member leaving and one joining never meet the unique index)."""
    execute = db.session.execute
    _insert(Auditor, rows, key=lambda values: values["phone"],
            lookup=lambda keys: db.select(Auditor.phone, Auditor.id).where(Auditor.phone.in_(keys)))
    _update(Auditor, rows)
    _update(Agency, rows)
    _insert(Enterprise, rows, key=lambda values: (values["agency_id"], values["name"]),
            lookup=lambda keys: db.select(Enterprise.agency_id, Enterprise.name, Enterprise.id)
            .where(tuple_(Enterprise.agency_id, Enterprise.name).in_(keys)))
    _update(Enterprise, rows)
    for values in rows.changed.get(AuditPlan, []):
        if "enterprise_id" in values:
            values["enterprise_id"] = values["_obj"].enterprise.id
    for plan, values in rows.new.get(AuditPlan, []):
        values["enterprise_id"] = plan.enterprise.id
    _update(AuditPlan, rows)
    _insert(AuditPlan, rows, key=lambda values: (values["agency_id"], values["plan_no"]),
            lookup=lambda keys: db.select(AuditPlan.agency_id, AuditPlan.plan_no, AuditPlan.id)
            .where(tuple_(AuditPlan.agency_id, AuditPlan.plan_no).in_(keys)))
    for model in (PlanSite, TeamMember):
        gone = rows.gone.get(model, [])
        for start in range(0, len(gone), IN_CHUNK):
            execute(delete(model.__table__).where(model.__table__.c.id.in_(gone[start:start + IN_CHUNK])))
        _update(model, rows)
        new = rows.new.get(model, [])
        for child, values in new:
            values["plan_id"] = child.plan.id
            if model is TeamMember:
                values["auditor_id"] = child.auditor.id
        _insert_rows(model, [values for _, values in new])
    # The team rows' copies of their plan (models.TeamMember), as the ORM's events would make them.
    copied = sorted({values["id"] for values in rows.changed.get(AuditPlan, [])}
                    | {child.plan.id for child, _ in rows.new.get(TeamMember, [])})
    for start in range(0, len(copied), IN_CHUNK):
        execute(copy_plan_columns(copied[start:start + IN_CHUNK]))
    _insert_rows(HistoryRow, [values for _, values in rows.new.get(HistoryRow, [])])
    # Changed objects are read again when next used (the new ones stay out of the session).
    for obj in rows.dirty:
        db.session.expire(obj)


def _update(model: type, rows: _Rows) -> None:
    """The changed columns of the model's rows by id: one executemany per set of columns."""
    table = model.__table__
    groups: dict[tuple, list[dict]] = {}
    for values in rows.changed.get(model, []):
        columns = {key: value for key, value in values.items() if key not in ("id", "_obj")}
        groups.setdefault(tuple(sorted(columns)), []).append({"row_id": values["id"], **columns})
    for group in groups.values():
        db.session.execute(update(table).where(table.c.id == bindparam("row_id")), group)


def _insert_rows(model: type, rows: list[dict]) -> None:
    """One executemany per set of columns given (an absent one takes its default)."""
    groups: dict[tuple, list[dict]] = {}
    for values in rows:
        groups.setdefault(tuple(sorted(values)), []).append(values)
    for group in groups.values():
        db.session.execute(insert(model.__table__), group)


def _insert(model: type, rows: _Rows, *, key: Callable[[dict], Any], lookup: Callable[[list], Any]) -> None:
    """Insert the model's new rows and give each object the id its row got (read back by
    the natural key `key`)."""
    new = rows.new.get(model, [])
    if not new:
        return
    _insert_rows(model, [values for _, values in new])
    wanted = [key(values) for _, values in new]
    ids = {}
    for start in range(0, len(wanted), IN_CHUNK):
        for *found, row_id in db.session.execute(lookup(wanted[start:start + IN_CHUNK])):
            ids[found[0] if len(found) == 1 else tuple(found)] = row_id
    for obj, values in new:
        obj.id = ids[key(values)]
