"""Changing or cancelling a plan before it starts (R19) from its page (console.plans). An audit
manager or an administrator edits the times (the plan's wall clock), sites, team and
remarks, or cancels with a reason; services.plan_changes checks it with the plan import's
own rules and keeps the history row and the audit log entry in the same transaction.
Another body's plan is a 404 (guard.own_row); a read-only member may not (403). The plan page
shows the history (templates/console/plans/_history.html) and the links (_change_links.html)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...domain import clock
from ...extensions import client_address, db
from ...models import AuditPlan, Auditor
from ...services import plan_changes as service
from ...words import plan_import as import_words
from ...words import TEAM_ROLES, sentence
from ..auth.forms import ButtonForm
from ..guard import own_row, staff_required
from ..words import PLAN_EDIT_ISSUES, refusal_text
from . import bp

BLANK_ROWS = 3  # empty site and team rows offered for additions
MAX_SITE_ROWS = 60  # the import takes 50 sites, 100 members; rows beyond are not read
MAX_TEAM_ROWS = 110
CHOICES_SHOWN = 1000  # the body's auditors offered by name for a new member


def _back(plan: AuditPlan):
    return redirect(url_for("console.plans.plan_page", plan_id=plan.id), code=303)


def _issue_text(issue) -> str:
    if issue.code in PLAN_EDIT_ISSUES:
        return sentence(PLAN_EDIT_ISSUES, issue.code, issue.params)
    return import_words.reason(issue)


def _errors(issues) -> dict[str, list[str]]:
    """Messages by the form's field ("start", "sites.1.lat", "team.0.phone", "team")."""
    errors: dict[str, list[str]] = {}
    for issue in issues:
        key = ".".join(str(part) for part in issue.path) or "form"
        errors.setdefault(key, []).append(_issue_text(issue))
    return errors


def _rows_from_plan(plan: AuditPlan) -> tuple[list[dict], list[dict]]:
    sites = [{"address": site.address, "lat": "" if site.lat is None else site.lat,
              "lon": "" if site.lon is None else site.lon} for site in plan.sites]
    team = [{"phone": member.auditor.phone, "name": member.auditor.name, "role": member.role, "kept": True}
            for member in plan.team]
    return sites, team


def _rows_from_form(plan: AuditPlan) -> tuple[list[dict], list[dict]]:
    form = request.form
    sites = []
    for row in range(MAX_SITE_ROWS):
        if f"site-{row}-address" not in form:
            break
        sites.append({"row": row, **{name: form.get(f"site-{row}-{name}", "")[:300]
                                     for name in ("address", "lat", "lon")}})
    names = {member.auditor.phone: member.auditor.name for member in plan.team}
    team = []
    for row in range(MAX_TEAM_ROWS):
        if f"team-{row}-phone" not in form:
            break
        phone = form.get(f"team-{row}-phone", "")[:20]
        team.append({"row": row, "phone": phone, "role": form.get(f"team-{row}-role", "member")[:20],
                     "remove": bool(form.get(f"team-{row}-remove")), "kept": form.get(f"team-{row}-kept") == "1",
                     "name": names.get(phone, "")})
    return sites, team


def _choices(plan: AuditPlan) -> list[Auditor]:
    return list(db.session.scalars(
        db.select(Auditor).where(Auditor.agency_id == plan.agency_id, Auditor.disabled.is_(False))
        .order_by(Auditor.name, Auditor.id).limit(CHOICES_SHOWN)))


def _refused(plan: AuditPlan, refused: service.PlanEditRefused):
    flash(refusal_text(refused.code, refused.params), "error")
    return _back(plan)


@bp.route("/plans/<int:plan_id>/edit", methods=["GET", "POST"])
@staff_required("manager")
def edit(plan_id: int):
    plan = own_row(AuditPlan, plan_id)
    now = clock.now()
    form = ButtonForm()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("The form had expired. Nothing was changed; please try again."), "error")
            return _back(plan)
        sites, team = _rows_from_form(plan)
        wanted = {"start": request.form.get("start", "")[:40], "end": request.form.get("end", "")[:40],
                  "remarks": request.form.get("remarks", "")[:4000], "sites": sites,
                  "team": [member for member in team if not member["remove"]]}
        try:
            change = service.edit(g.staff, plan, wanted, address=client_address(), now=now,
                                  seen=request.form.get("seen", type=int))
        except service.PlanEditRefused as refused:
            return _refused(plan, refused)
        except service.PlanEditInvalid as invalid:
            errors = _errors(invalid.issues)
            plan = own_row(AuditPlan, plan_id)  # as stored (the attempt was rolled back)
        else:
            flash(_("The plan has been changed; its team sees what changed.") if change
                  else _("Nothing was different, so nothing was changed."), "success" if change else "info")
            return _back(plan)
        values = {name: request.form.get(name, "")[:4000] for name in ("start", "end", "remarks")}
    else:
        try:
            service.check_open(plan, now)
        except service.PlanEditRefused as refused:
            return _refused(plan, refused)
        sites, team = _rows_from_plan(plan)
        sites += [{"address": "", "lat": "", "lon": ""} for _ in range(BLANK_ROWS)]
        team += [{"phone": "", "role": "member", "name": "", "kept": False} for _ in range(BLANK_ROWS)]
        values = {"start": service.form_time(plan, plan.start_utc), "end": service.form_time(plan, plan.end_utc),
                  "remarks": plan.remarks or ""}
    return render_template("console/plan_edits/edit.html", plan=plan, form=form, values=values, sites=sites,
                           team=team, errors=errors, roles=TEAM_ROLES, choices=_choices(plan),
                           seen=request.form.get("seen", type=int) if errors else service.last_change_id(plan)
                           ), 422 if errors else 200


@bp.route("/plans/<int:plan_id>/cancel", methods=["GET", "POST"])
@staff_required("manager")
def cancel(plan_id: int):
    plan = own_row(AuditPlan, plan_id)
    now = clock.now()
    form = ButtonForm()
    errors: dict[str, list[str]] = {}
    reason = request.form.get("reason", "")[:2000]
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("The form had expired. Nothing was changed; please try again."), "error")
            return _back(plan)
        try:
            service.cancel(g.staff, plan, reason, address=client_address(), now=now,
                           seen=request.form.get("seen", type=int))
        except service.PlanEditRefused as refused:
            return _refused(plan, refused)
        except service.PlanEditInvalid as invalid:
            errors = _errors(invalid.issues)
        else:
            flash(_("The plan has been cancelled; its team sees it cancelled, with the reason."), "success")
            return _back(plan)
    else:
        try:
            service.check_open(plan, now)
        except service.PlanEditRefused as refused:
            return _refused(plan, refused)
    seen = request.form.get("seen", type=int) if errors else service.last_change_id(plan)
    return render_template("console/plan_edits/cancel.html", plan=plan, form=form, reason=reason,
                           errors=errors, seen=seen), 422 if errors else 200
