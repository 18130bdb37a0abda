"""The body's plans on the management end (R16, R18, R19): a list every staff member reads
(the auditors' filters of tasks and history and the staff's own, server-side pages, a CSV
export of the filtered list, which is logged), the plan page with its team's check-in state,
photos and explanations, the plan's evidence review (R21), and the plan's photos. Another body's plan or photo is a 404."""
from flask import abort, current_app, g, render_template, request, stream_with_context, url_for

from ...domain import clock
from ...blueprints.guards import map_config
from ...blueprints.photos.routes import send_photo
from ...blueprints.plans.words import MODES
from ...blueprints.tasks.routes import changed_level, project_selects
from ...blueprints.tasks.words import STATES, filter_error_text
from ...words import TEAM_ROLES
from ...domain.filters import parse_plan_filters
from ...extensions import client_address
from ...models import AuditPlan
from ...services import audit, evidence_review, listing, photos, plans
from ...htmx import hx
from ...web import render_page_or_partial
from ..exports.columns import header as export_header, rows as export_rows
from ..guard import body_in_view, is_regulator, own_row, staff_required
from ..words import CHECKED_WORDS, PHASE_WORDS
from . import bp, words

LIST_WORDS = {"phase_words": PHASE_WORDS, "checked_words": CHECKED_WORDS, "mode_words": MODES,
              "role_words": TEAM_ROLES, "team_state_words": STATES}


def _filters(agency_id: int):
    tree = listing.body_project_tree(agency_id)
    return tree, parse_plan_filters(request.args, tree, cascade_from=changed_level())


@bp.get("/plans")
@staff_required("readonly", regulator_reads=True)
def plan_list():
    """The page, or only the list for htmx (every filter, the order and the pager replace it;
    the project selects come along out of band). The regulator reads any body's (`body`
    in the URL, kept by every link of the list)."""
    agency_id = body_in_view()
    body_arg = {"body": str(agency_id)} if is_regulator(g.staff) else {}
    tree, parsed = _filters(agency_id)
    result = None
    if parsed.usable:
        result = listing.body_plan_list(agency_id, parsed.filters, request.args.get("page"), clock.now())
    args = {**body_arg, **(parsed.filters.query_args() if parsed.usable else {k: v for k, v in parsed.raw.items() if v})}
    if result:
        args = result.page.with_args(args)
    response = render_page_or_partial(
        "console/plans/list.html", "console/plans/_list.html",
        status=200 if parsed.usable or request.htmx else 400,
        parsed=parsed, result=result, errors=[filter_error_text(error) for error in parsed.errors],
        filter_args={**body_arg, **(parsed.filters.query_args() if parsed.usable else {})}, body_arg=body_arg,
        endpoint="console.plans.plan_list", filters_form="plan-filters", results_box="plan-list",
        **project_selects(tree, parsed), **LIST_WORDS)
    if request.htmx:
        # The URL holds the question as understood (a level reset by the cascade included).
        hx(response, push_url=url_for("console.plans.plan_list", **args))
    return response


@bp.get("/plans.csv")
@staff_required("readonly")
def export():
    """The filtered list, every page, as CSV; the export is in the audit log (reads are not)."""
    _tree, parsed = _filters(g.staff.agency_id)
    if not parsed.usable:
        return render_template("console/error.html", status=400,
                               message=" ".join(filter_error_text(error) for error in parsed.errors)), 400
    now = clock.now()
    ids = listing.body_plan_ids(g.staff.agency_id, parsed.filters, now)
    plans.record_export(g.staff, parsed.filters.query_args(), len(ids), address=client_address())
    entries = ((entry, None) for entry in listing.body_entries_in_chunks(ids, now))
    rows = export_rows("plans", entries)
    response = current_app.response_class(stream_with_context(audit.csv_stream(export_header("plans"), rows)),
                                          mimetype="text/csv")
    response.headers["Content-Disposition"] = "attachment; filename=plans.csv"
    return response


@bp.get("/plans/<int:plan_id>")
@staff_required("readonly", regulator_reads=True)
def plan_page(plan_id: int):
    plan = own_row(AuditPlan, plan_id)
    page = plans.body_plan_page(plan, clock.now())
    return render_template("console/plans/page.html", page=page, plan=plan, **LIST_WORDS)


@bp.get("/plans/<int:plan_id>/evidence")
@staff_required("readonly", regulator_reads=True)
def evidence(plan_id: int):
    """The evidence review (R21): does the audit look real, and why; printable as an A4 sheet."""
    review = evidence_review.review(own_row(AuditPlan, plan_id), clock.now())
    return render_template("console/plans/evidence.html", review=review, plan=review.plan,
                           map_config=map_config(), level_words=words.LEVELS,
                           level_lines=words.LEVEL_LINES, reason_levels=words.REASON_LEVELS,
                           reason_text=words.reason_text,
                           plan_anomalies=review.anomalies, **LIST_WORDS)


@bp.get("/photos/<int:photo_id>/thumb", defaults={"kind": "thumb"})
@bp.get("/photos/<int:photo_id>/display", defaults={"kind": "display"})
@staff_required("readonly", regulator_reads=True)
def photo(photo_id: int, kind: str):
    """A photo of the body's own plans (R16), of any body's for the regulator: another
    body's, or a deleted one, is a 404."""
    found = photos.body_photo(g.staff.agency_id, photo_id, any_body=is_regulator(g.staff))
    if found is None:
        abort(404)
    return send_photo(found, kind)
