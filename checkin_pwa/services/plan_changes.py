"""A plan's history (R19): every change after its first import is kept (who, when, each
field before → after, why), whether a staff member made it on the console or a body's
document re-sent the plan with new values; the team is shown what changed until the
audit ends. A change never touches what was recorded (check events, photos,
explanations): the sites and team are reconciled as the import does it.

`record` is the one place a history row is written; `edit` and `cancel` are the console's
changes (refused once the plan has started, validated by the import's own rules), each in
one transaction with its history row and its audit log entry.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from ..domain import clock, plan_changes as rules
from ..domain import plan_import as import_rules
from ..domain.plan_import import Issue
from ..extensions import db
from ..models import AuditPlan, Auditor, CheckEvent, PlanChange, Staff
from . import audit, plan_import

SOURCES = ("console", "api", "cli", "upload")
REASON_MAX = 500
HISTORY_SHOWN = 50
FORM_TIME = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">


class PlanEditRefused(Exception):
    """The plan may not be changed now (code: started, cancelled, stale); nothing changed."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


class PlanEditInvalid(Exception):
    """What was asked is not a valid plan; each issue's path names the form's field
    (("start",), ("sites", row, "lat"), ("team", row, "phone"), ("team",), ("reason",))."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(", ".join(issue.code for issue in issues))
        self.issues = issues


# --- what is compared ---------------------------------------------------------------------

def snapshot(plan: AuditPlan) -> dict:
    """The fields of domain.plan_changes.FIELDS as the team sees them."""
    return {
        "start": clock.local(plan.start_utc, plan.timezone).strftime(rules.TIME_FORMAT),
        "end": clock.local(plan.end_utc, plan.timezone).strftime(rules.TIME_FORMAT),
        "sites": [{"address": site.address, "lat": site.lat, "lon": site.lon} for site in plan.sites],
        "team": [{"phone": member.auditor.phone, "name": member.auditor.name, "role": member.role}
                 for member in plan.team],
        "remarks": plan.remarks or None,
        "status": plan.status,
    }


def record(plan: AuditPlan, before: Mapping[str, Any], *, source: str, by: Optional[Staff] = None,
           reason: Optional[str] = None) -> Optional[PlanChange]:
    """Add a history row for what differs between `before` and the plan now, to the
    caller's transaction; None (nothing added) when nothing differs."""
    assert source in SOURCES, source
    changes = rules.diff(before, snapshot(plan))
    if not changes:
        return None
    row = PlanChange(plan_id=plan.id, agency_id=plan.agency_id, at=clock.now(), source=source,
                     staff_id=by.id if by is not None else None,
                     actor=f"{by.name} ({by.phone})"[:140] if by is not None else None,
                     changes=changes, reason=reason)
    db.session.add(row)
    return row


def history(plan: AuditPlan, limit: int = HISTORY_SHOWN) -> tuple[list[PlanChange], int]:
    """The newest `limit` rows of the plan's history, newest first, and how many there are."""
    query = db.select(PlanChange).where(PlanChange.plan_id == plan.id)
    total = db.session.scalar(db.select(db.func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(query.order_by(PlanChange.id.desc()).limit(limit)).all()
    return list(rows), total


def last_change_id(plan: AuditPlan) -> int:
    """What a form remembers of the plan it showed: another change since then is a conflict."""
    return db.session.scalar(db.select(db.func.max(PlanChange.id)).where(PlanChange.plan_id == plan.id)) or 0


# --- what the team is shown ---------------------------------------------------------------

@dataclass(frozen=True)
class PlanNotice:
    """计划已变更 / 已取消 for the team: what differs since the plan was first sent (the
    status aside), when it last changed (the plan's wall clock), a cancellation's reason."""

    at: dt.datetime
    changes: list[dict] = field(default_factory=list)
    cancelled: bool = False
    reason: Optional[str] = None


def notice_for(plan: AuditPlan, now: dt.datetime) -> Optional[PlanNotice]:
    """The notice while the audit has not ended (a cancellation: always); None when the
    plan never changed. `now` is aware UTC (the server's clock)."""
    return notices_for([plan], now).get(plan.id)


def notices_for(plans, now: dt.datetime) -> dict[int, PlanNotice]:
    """notice_for of many plans (a list's rows) with one query."""
    now_utc = clock.as_utc(now)
    shown = {plan.id: plan for plan in plans if plan.status == rules.CANCELLED or now_utc < plan.end_utc}
    if not shown:
        return {}
    runs: dict[int, list[PlanChange]] = {}
    for row in db.session.scalars(db.select(PlanChange).where(PlanChange.plan_id.in_(list(shown)))
                                  .order_by(PlanChange.id)):
        runs.setdefault(row.plan_id, []).append(row)
    notices = {}
    for plan_id, rows in runs.items():
        notice = _notice(shown[plan_id], rows)
        if notice is not None:
            notices[plan_id] = notice
    return notices


def _notice(plan: AuditPlan, rows: list[PlanChange]) -> Optional[PlanNotice]:
    cancelled = plan.status == rules.CANCELLED
    changes = [change for change in rules.net(row.changes for row in rows) if change["field"] != "status"]
    reason = next((row.reason for row in reversed(rows) if rules.cancels(row.changes)), None)
    if not changes and not cancelled:
        return None
    return PlanNotice(at=clock.local(rows[-1].at, plan.timezone), changes=changes, cancelled=cancelled,
                      reason=reason if cancelled else None)


# --- the console's changes ------------------------------------------------------------------

def check_open(plan: AuditPlan, now: dt.datetime, seen: Optional[int] = None) -> None:
    """PlanEditRefused unless the console may still change the plan: not cancelled, not
    started (`now` aware UTC), and (given `seen`, the last history row the form showed)
    not changed since."""
    if plan.status == rules.CANCELLED:
        raise PlanEditRefused("cancelled")
    if now >= clock.as_utc(plan.start_utc):
        raise PlanEditRefused("started", start=clock.local(plan.start_utc, plan.timezone).strftime(rules.TIME_FORMAT))
    if seen is not None and seen != last_change_id(plan):
        raise PlanEditRefused("stale")


def form_time(plan: AuditPlan, moment: dt.datetime) -> str:
    """A stored time as the edit form shows it: the plan's wall clock."""
    return clock.local(moment, plan.timezone).strftime(FORM_TIME)


def _moment(plan: AuditPlan, text: str) -> Optional[str]:
    """The form's wall-clock time in the plan's zone as the contract's ISO 8601 text."""
    try:
        wall = dt.datetime.strptime(unicodedata.normalize("NFKC", text or "").strip(), FORM_TIME)
    except ValueError:
        return None
    return wall.replace(tzinfo=clock.zone(plan.timezone)).isoformat()


def _number(text: Any) -> Any:
    """A coordinate typed in a form: a float, None when blank, the text itself when it is
    not a number (the import's checks then say so)."""
    text = unicodedata.normalize("NFKC", str(text or "")).strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _plan_entry(plan: AuditPlan, wanted: Mapping[str, Any]) -> tuple[dict, dict, dict, list[Issue]]:
    """The plan as an entry of an import document, with the form's rows for the sites and
    team entries (document index → form row) and the issues the form's text already has."""
    issues: list[Issue] = []
    entry: dict[str, Any] = {
        "plan_no": plan.plan_no, "enterprise": {"name": plan.enterprise.name},
        "project": {"code": plan.project_code},
        "timezone": plan.timezone or clock.DEFAULT_ZONE_NAME,
    }
    for name in ("start", "end"):
        moment = _moment(plan, wanted.get(name, ""))
        if moment is None:
            issues.append(Issue((name,), "datetime_invalid"))
            moment = clock.local(plan.start_utc if name == "start" else plan.end_utc, plan.timezone).isoformat()
        entry[name] = moment
    site_rows, sites = {}, []
    for site in wanted.get("sites", []):
        address = " ".join(str(site.get("address") or "").split())
        lat, lon = _number(site.get("lat")), _number(site.get("lon"))
        if not address and lat is None and lon is None:
            continue
        item: dict[str, Any] = {"address": address}
        if lat is not None:
            item["lat"] = lat
        if lon is not None:
            item["lon"] = lon
        site_rows[len(sites)] = site.get("row", len(sites))
        sites.append(item)
    entry["sites"] = sites
    team_rows, team = {}, []
    for member in wanted.get("team", []):
        phone = unicodedata.normalize("NFKC", str(member.get("phone") or "")).replace(" ", "").strip()
        if not phone:
            continue
        team_rows[len(team)] = member.get("row", len(team))
        team.append({"phone": phone, "role": member.get("role") or "member"})
    entry["team"] = team
    remarks = str(wanted.get("remarks") or "").strip()
    if remarks:
        entry["remarks"] = remarks
    return entry, site_rows, team_rows, issues


def _form_path(path: tuple, site_rows: dict, team_rows: dict) -> tuple:
    """An import issue's path (plans[0]....) as the form's field."""
    rest = tuple(path[2:]) if tuple(path[:2]) == ("plans", 0) else ()
    if len(rest) >= 2 and rest[0] in ("sites", "team") and isinstance(rest[1], int):
        rows = site_rows if rest[0] == "sites" else team_rows
        return (rest[0], rows.get(rest[1], rest[1]), *rest[2:])
    return rest or ("form",)


def _team_issues(plan: AuditPlan, team: list[dict], team_rows: dict) -> tuple[dict[str, Auditor], list[Issue]]:
    """Members must be the body's auditors, new ones not disabled; a member who has signed
    for this plan stays (their record names them)."""
    phones = [member["phone"] for member in team]
    people = {person.phone: person for person in db.session.scalars(
        db.select(Auditor).where(Auditor.phone.in_(phones)))} if phones else {}
    current = {member.auditor.phone: member.auditor for member in plan.team}
    issues = []
    for index, member in enumerate(team):
        person = people.get(member["phone"])
        where = ("team", team_rows.get(index, index), "phone")
        if person is None or person.agency_id != plan.agency_id:
            issues.append(Issue(where, "not_body_auditor", {"phone": member["phone"]}))
        elif person.disabled and member["phone"] not in current:
            issues.append(Issue(where, "auditor_disabled", {"name": person.name}))
    leaving = [person for phone, person in current.items() if phone not in phones]
    if leaving:
        signed = set(db.session.scalars(db.select(CheckEvent.signer_id).where(
            CheckEvent.plan_id == plan.id, CheckEvent.signer_id.in_([person.id for person in leaving]))))
        issues.extend(Issue(("team",), "checked_in_member", {"name": person.name})
                      for person in leaving if person.id in signed)
    return people, issues


def _log(by: Staff, plan: AuditPlan, action: str, change: PlanChange, address: str, **extra: Any) -> None:
    before = {item["field"]: item["before"] for item in change.changes}
    after = {item["field"]: item["after"] for item in change.changes}
    audit.record(audit.actor_for(by, address), action, target=f"plan:{plan.id} {plan.plan_no}",
                 before=before, after={**after, **extra})


def edit(by: Staff, plan: AuditPlan, wanted: Mapping[str, Any], *, address: str, now: dt.datetime,
         seen: Optional[int] = None) -> Optional[PlanChange]:
    """Change the plan's times (its wall clock, "YYYY-MM-DDTHH:MM"), sites ({address, lat,
    lon, row}), team ({phone, role, row}) and remarks before it starts, checked by the
    import's rules; one transaction with its history row and audit log entry. None when
    nothing differs. Raises PlanEditRefused or PlanEditInvalid, changing nothing."""
    check_open(plan, now, seen)
    entry, site_rows, team_rows, issues = _plan_entry(plan, wanted)
    document = {"agency": {"code": plan.agency.code, "name": plan.agency.name}, "plans": [entry]}
    flagged = {issue.path for issue in issues}
    issues += [Issue(path, issue.code, issue.params) for issue in import_rules.validate(document)
               if (path := _form_path(issue.path, site_rows, team_rows)) not in flagged]
    if not issues:
        people, team_issues = _team_issues(plan, entry["team"], team_rows)
        issues += team_issues
    if issues:
        db.session.rollback()
        raise PlanEditInvalid(issues)
    with db.session.no_autoflush:
        before = snapshot(plan)
        start = import_rules.parse_moment(entry["start"])
        end = import_rules.parse_moment(entry["end"])
        assert start is not None and end is not None  # validate() made sure
        plan.start_utc, plan.end_utc = import_rules.to_utc(start), import_rules.to_utc(end)
        plan.utc_offset_minutes = import_rules.offset_minutes(start)
        plan_import.reconcile_sites(plan, entry["sites"])
        plan_import.reconcile_team(plan, entry["team"], people)
        plan.remarks = entry.get("remarks")
        if not rules.diff(before, snapshot(plan)):
            db.session.rollback()
            return None
        if plan.status == import_rules.DEFAULT_STATUS:
            plan.status = "changed"
        change = record(plan, before, source="console", by=by)
    assert change is not None
    _log(by, plan, "plan_changed", change, address)
    db.session.commit()
    return change


def cancel(by: Staff, plan: AuditPlan, reason: str, *, address: str, now: dt.datetime,
           seen: Optional[int] = None) -> PlanChange:
    """Cancel the plan before it starts, with a reason the team is shown; its check-ins are
    refused from then on (domain.rules). Raises PlanEditRefused or PlanEditInvalid."""
    check_open(plan, now, seen)
    reason = " ".join((reason or "").split())
    if not reason:
        raise PlanEditInvalid([Issue(("reason",), "blank")])
    if len(reason) > REASON_MAX:
        raise PlanEditInvalid([Issue(("reason",), "too_long", {"max": REASON_MAX})])
    before = snapshot(plan)
    plan.status = rules.CANCELLED
    change = record(plan, before, source="console", by=by, reason=reason)
    assert change is not None
    _log(by, plan, "plan_cancelled", change, address, reason=reason)
    db.session.commit()
    return change
