"""The body's verification of exceptions (异常核实, R20): the queue every staff member reads
(what needs doing first, oldest deadline first; filters by state and the audit's last day;
server-side pages; counts per state), one plan's exceptions, the team's explanations and
the verifications so far, and the verification an audit manager or an administrator
records (append only, in the audit log; services.exception_verifications). Another body's
plan is a 404 (guard.own_row)."""
import secrets

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...domain import clock
from ...blueprints.tasks.words import filter_error_text
from ...domain.audit_exceptions import VERIFICATION_RESULTS, VERIFICATION_TEXT_MAX
from ...domain.filters import parse_date_range
from ...extensions import client_address
from ...models import AuditPlan
from ...services import exception_verifications as service
from ...htmx import hx
from ...web import render_page_or_partial
from ...words import sentence
from ..auth.forms import ButtonForm
from ..guard import own_row, staff_required
from . import bp
from .words import PROBLEM_WORDS, RESULT_WORDS, STATE_WORDS, VIEW_WORDS

WORDS = {"state_words": STATE_WORDS, "result_words": RESULT_WORDS, "view_words": VIEW_WORDS}


def _filter() -> tuple[service.QueueFilter, list[str]]:
    """The view (an unknown one is the default) and the audit's last day from .. to, read as
    the plan lists read their dates; an unreadable date or a reversed range is refused."""
    view = request.args.get("state") or service.TODO
    if view not in service.VIEWS:
        view = service.TODO
    date_from, date_to, refused = parse_date_range(request.args.get("from"), request.args.get("to"))
    errors = [filter_error_text(error) for error in refused]
    if errors:
        return service.QueueFilter(view), errors
    return service.QueueFilter(view, date_from, date_to), []


@bp.get("/verifications")
@staff_required("readonly")
def queue():
    """The page, or only the list for htmx (the filters and the pager replace it)."""
    wanted, errors = _filter()
    result = None if errors else service.queue(g.staff.agency_id, wanted, request.args.get("page"), clock.now())
    response = render_page_or_partial(
        "console/verifications/list.html", "console/verifications/_list.html",
        status=400 if errors and not request.htmx else 200, wanted=wanted, errors=errors, result=result,
        raw={"from": request.args.get("from", "")[:20], "to": request.args.get("to", "")[:20]},
        **WORDS)
    if request.htmx and result is not None:
        # The URL holds the question as understood (no empty fields, the page kept).
        args = result.page.with_args(wanted.query_args())
        hx(response, push_url=url_for("console.verifications.queue", **args))
    return response


def _page(plan: AuditPlan, entry, *, status: int = 200, problems=(), message=None, result: str = "", text: str = ""):
    return render_template(
        "console/verifications/page.html", plan=plan, page=entry, form=ButtonForm(),
        version=service.version_of(entry) if entry else "", form_token=secrets.token_urlsafe(16),
        problems=[sentence(PROBLEM_WORDS, code, {"limit": VERIFICATION_TEXT_MAX}) for code in problems],
        message=message, chosen=result, text=text, results=VERIFICATION_RESULTS, text_max=VERIFICATION_TEXT_MAX,
        **WORDS), status


@bp.get("/verifications/<int:plan_id>")
@staff_required("readonly")
def plan_page(plan_id: int):
    plan = own_row(AuditPlan, plan_id)
    return _page(plan, service.entry_for(plan, clock.now()))


@bp.post("/verifications/<int:plan_id>")
@staff_required("manager")
def record(plan_id: int):
    plan = own_row(AuditPlan, plan_id)
    now = clock.now()
    entry = service.entry_for(plan, now)
    if entry is None:
        return _page(plan, None, status=409)
    result, text = request.form.get("result", ""), request.form.get("text", "")
    if not ButtonForm().validate_on_submit():
        return _page(plan, entry, status=400, problems=["form"], result=result, text=text[:VERIFICATION_TEXT_MAX])
    outcome = service.record(g.staff, entry, result, text, form_token=request.form.get("form_token", ""),
                             version=request.form.get("version", ""), now=now, address=client_address())
    if outcome.code == service.INVALID:
        # A text over the limit is not sent back: only the reason.
        kept = "" if "text_too_long" in outcome.problems else text
        return _page(plan, entry, status=422, problems=outcome.problems, result=result, text=kept)
    if outcome.code == service.STALE:
        message = _("This plan changed after you opened the page (its record, the team's explanations or another "
                    "verification). Nothing was saved: check the page as it is now and record again.")
        return _page(plan, entry, status=409, message=message, result=result, text=text)
    if outcome.code == service.ALREADY:
        flash(_("This verification had already been saved; it was not saved twice."), "info")
    else:
        flash(_("Verification saved."), "success")
    return redirect(url_for("console.verifications.plan_page", plan_id=plan.id), code=303)
