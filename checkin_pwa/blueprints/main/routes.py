"""Today's tasks and the check-in / check-out pages (R2-R7, R15, R16)."""
from __future__ import annotations

import uuid

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...domain import clock, rules
from ...models import AuditPlan
from ...services import checkin, plan_changes, plans, presence
from ..guards import map_config, plan_or_404
from ..idempotency import idempotent, not_final, request_key
from ...web import render_page_or_partial
from . import bp
from .words import describe

# The outcome of a plain (non-htmx) POST, shown once on the page it redirects to.
_LAST_OUTCOME = "check_outcome"


def reason_filter(decision_or_code, params=None) -> str:
    """`{{ decision|reason }}` or `{{ code|reason(params) }}`: the sentence for a reason."""
    if isinstance(decision_or_code, str):
        return describe(decision_or_code, params)
    return describe(decision_or_code.reason, decision_or_code.params)


def offline_urls(plan: AuditPlan) -> list[str]:
    """The pages of one plan the phone keeps for use without a network (static/js/keep.js)."""
    urls = [url_for("plans.detail", plan_id=plan.id), url_for("plans.explain", plan_id=plan.id)]
    if plan.mode != "remote":
        urls += [url_for("main.check_in", plan_id=plan.id), url_for("main.check_out", plan_id=plan.id)]
    return urls


def signed_together_with(plan: AuditPlan) -> list[int]:
    """R7: for static/js/plan-rules.js, the plans a together-action from this one also signs."""
    return checkin.signed_together_with(current_user, plan, clock.now())


def phone_rules() -> dict:
    """R6 on the phone's clock (static/js/plan-rules.js): the rules' constants, and the words
    for what the phone decides, with {placeholders} it fills in."""
    placeholders = {"first_day": "{first_day}", "last_day": "{last_day}", "minutes": "{minutes}"}
    return {
        "server_now": round(clock.now().timestamp() * 1000),  # the phone measures its skew
        "constants": rules.phone_constants(),
        "reasons": {code: describe(code, placeholders) for code in sorted(rules.OPENS_LATER | {"audit_ended"})},
        "queued": {"in": _("Checked in (waiting to send)"), "out": _("Checked out (waiting to send)"),
                   "at": _("Done on this phone at %(time)s", time="{time}")},
        "sent": {"in": _("Checked in"), "out": _("Checked out")},
    }


@bp.get("/")
@login_required
def today():
    now = clock.now()
    # R11: each card's 签到提醒 and the "to do now" list (services.plans).
    # Today's and tomorrow's plans are kept on the phone for use without a network;
    # today's cancelled ones are shown, with the reason (R19).
    page = plans.today_page(current_user, now)
    kept = {card.plan.id: card.plan for card in [*page.cards, *page.tomorrow]}
    keep = [url_for("main.today"), *(url for plan in kept.values() for url in offline_urls(plan))]
    return render_template("main/today.html", cards=page.cards, statuses=page.statuses,
                           todo=page.todo, keep=keep, cancelled=page.cancelled, together=page.together,
                           plan_notices=plan_changes.notices_for(page.shown, now))


@bp.route("/plans/<int:plan_id>/checkin", methods=["GET", "POST"], endpoint="check_in", defaults={"kind": "in"})
@bp.route("/plans/<int:plan_id>/checkout", methods=["GET", "POST"], endpoint="check_out", defaults={"kind": "out"})
@login_required
@idempotent(one_transaction=True)
def check(plan_id: int, kind: str):
    # Loaded once: a signed action adds its events to it (services.checkin.sign), and
    # @idempotent commits them with the stored answer after the page is rendered.
    plan = plan_or_404(plan_id)
    now = clock.now()
    status = 200
    if request.method == "POST":
        # The action key may come as a header (the outbox): the events keep it too.
        fields = request.form.to_dict()
        fields.setdefault("idempotency_key", request_key())
        outcome = checkin.sign(current_user, plan, kind, fields, now, presence.session_ref(session.get("sid")))
        if outcome.result == "refused":
            status = 422
        elif outcome.result == "confirm":
            if request.htmx.outbox:
                # R5 asks the auditor before signing far from the site; a replay cannot
                # ask: refused for good, with the warning, to be done again on the page.
                status = 409
            else:
                not_final()  # a question: the same key comes back with confirm=1
        elif outcome.result == "signed" and not request.htmx.wants_fragment:
            session[_LAST_OUTCOME] = outcome.summary()
            return redirect(url_for(request.endpoint, plan_id=plan_id), code=303)
    else:
        outcome = checkin.restore_signed(current_user, plan, kind, session.pop(_LAST_OUTCOME, None))
    page = checkin.check_page(current_user, plan, kind, now)
    return render_page_or_partial(
        "main/check.html", "main/_check_form.html", status=status,
        check=page, outcome=outcome, values=request.form, map_config=map_config(),
        together={plan.id: page.together},
        # One key per action: a double tap or a resend is written once (services.checkin,
        # services.idempotency). Only a question (confirm?) keeps it; after a refusal the
        # next try is another action.
        action_key=(request.form.get("idempotency_key") if outcome is not None and outcome.result == "confirm"
                    else None) or uuid.uuid4().hex,
    )


@bp.get("/plans/<int:plan_id>/together")
@login_required
def together(plan_id: int):
    plan = plan_or_404(plan_id)
    kind = "out" if request.args.get("kind") == "out" else "in"
    others = checkin.others_for_together(current_user, plan, clock.now())
    return render_template("main/together.html", plan=plan, kind=kind, others=others)

