"""The plan page (R9), its exceptions and notes (R10), and exception explanations (异常说明).

R16: every route answers 404 for a plan whose team does not include the auditor, the same
as for a plan that does not exist. The explanation form is a plain form first (303 back to
the page it came from, or the page again with the error); htmx swaps #explanations in
place; the phone's outbox replays it (R17) and gets the same fragment.
"""
from __future__ import annotations

import uuid

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...domain import clock
from ...services import checkin, explanations, plan_changes, plans
from ...web import render_page_or_partial
from ..guards import map_config, plan_or_404
from ..idempotency import idempotent, request_key
from ..photos.words import verdict_line
from . import bp
from . import words


def plan_change_notice(plan):
    """计划已变更 / 已取消 for templates/plans/_plan_change.html (services.plan_changes)."""
    return plan_changes.notice_for(plan, clock.now())


def _form_context(plan, explanation_list, *, error=None, text="", back="detail", saved=False):
    """What templates/plans/_explanations.html needs: a new action key for each form shown
    (R17: a resend of the same action carries the same key, a new action a new one)."""
    return {
        # A refused text comes back for editing only as far as it may be sent, never whole.
        "plan": plan, "explanations": explanation_list, "error": error, "text": text[:explanations.MAX_CHARS],
        "saved": saved,
        "action_key": uuid.uuid4().hex, "back": back, "max_chars": explanations.MAX_CHARS,
    }


@bp.get("/plans/<int:plan_id>")
@login_required
def detail(plan_id: int):
    """R9: everything about one plan, its record, photos, exceptions and explanations."""
    plan = plan_or_404(plan_id)
    page = plans.plan_page(current_user, plan, clock.now())
    return render_template(
        "plans/detail.html", page=page, card=page.card, section=page.photos, verdict_line=verdict_line,
        map_config=map_config(), zone=clock.zone(plan.timezone),
        **_form_context(plan, page.explanations))


@bp.get("/plans/<int:plan_id>/explain")
@login_required
def explain(plan_id: int):
    """The plan's exceptions and the explanation form (the calendar and today link here)."""
    plan = plan_or_404(plan_id)
    page = plans.explain_page(current_user, plan, clock.now())
    return render_template("plans/explain.html", page=page, card=page.card,
                           **_form_context(plan, page.explanations, back="explain"))


@bp.post("/plans/<int:plan_id>/explanations")
@login_required
@idempotent
def add_explanation(plan_id: int):
    text = request.form.get("text", "")
    back = "explain" if request.form.get("back") == "explain" else "detail"
    result = explanations.add(
        current_user, plan_id, text, now=clock.now(),
        device_time=checkin.device_clock(request.form.get("device_time")),
        device_time_sent=checkin.device_clock(request.form.get("device_time_sent")),
        queued_offline=checkin.queued_offline(request.form),
        idempotency_key=request_key() or None,
    )
    if isinstance(result, explanations.Refusal):
        if result.not_found:
            abort(404)
        plan = plan_or_404(plan_id)
        error = words.refusal_text(result.code, result.params)
        if request.htmx.wants_fragment:
            return render_page_or_partial(
                "plans/explain.html", "plans/_explanations.html", status=422,
                **_form_context(plan, explanations.for_plan(plan.id), error=error, text=text, back=back))
        page = plans.explain_page(current_user, plan, clock.now())
        return render_template(
            "plans/explain.html", page=page, card=page.card,
            **_form_context(plan, page.explanations, error=error, text=text, back=back)), 422
    if request.htmx.wants_fragment:
        plan = plan_or_404(plan_id)
        return render_page_or_partial(
            "plans/explain.html", "plans/_explanations.html", status=201,
            **_form_context(plan, explanations.for_plan(plan.id), back=back, saved=True))
    endpoint = "plans.explain" if back == "explain" else "plans.detail"
    return redirect(url_for(endpoint, plan_id=plan_id, _anchor="explanations"), code=303)
