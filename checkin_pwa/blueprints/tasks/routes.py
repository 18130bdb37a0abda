"""Tasks (审核任务) and history (审核经历), R13: the auditor's plans, filtered and paginated.

One URL per list holds the whole question (from, to, enterprise, l1-l3, page), so a filter
is a link. htmx swaps only the results (#task-results) as the auditor types or picks, and
the project selects out of band: the options of a level depend on the level above.
"""
from __future__ import annotations

from typing import Optional

from flask import request, url_for
from flask_login import current_user, login_required

from ...domain import clock
from ...domain.filters import LEVEL_NAMES, ParsedFilters, ProjectTree, parse_filters
from ...services import listing, plan_changes
from ...htmx import hx
from ...web import render_page_or_partial
from . import bp
from .words import filter_error_text


def plan_detail_url(plan_id: int) -> str:
    """The plan page (R9)."""
    return url_for("plans.detail", plan_id=plan_id)


def plan_explain_url(plan_id: int) -> str:
    """The exception explanation form (异常说明, R10)."""
    return url_for("plans.explain", plan_id=plan_id)


def changed_level() -> Optional[str]:
    """The project level select just changed (htmx names it): the levels below it reset."""
    changed = request.htmx.trigger_name
    return changed if changed in LEVEL_NAMES[:2] else None


def project_selects(tree: ProjectTree, parsed: ParsedFilters) -> dict:
    """What tasks/_project_selects.html needs: each level's choice and its options."""
    chosen = [parsed.raw[name] for name in LEVEL_NAMES]
    return {"chosen": chosen,
            "level_options": [tree.options(chosen[:depth]) if all(chosen[:depth]) else [] for depth in range(3)]}


def _plan_list(which: str):
    now = clock.now()
    tree = listing.project_tree(current_user)
    parsed = parse_filters(request.args, tree, cascade_from=changed_level())
    result = None
    if parsed.usable:
        result = listing.plan_list(current_user, which, parsed.filters, request.args.get("page"), now)
    endpoint = f"tasks.{which}"
    args = parsed.filters.query_args() if parsed.usable else {k: v for k, v in parsed.raw.items() if v}
    if result:
        args = result.page.with_args(args)
    response = render_page_or_partial(
        "tasks/list.html", "tasks/_results.html",
        status=200 if parsed.usable or request.htmx else 400,
        which=which, endpoint=endpoint, parsed=parsed, result=result,
        errors=[filter_error_text(error) for error in parsed.errors],
        **project_selects(tree, parsed),
        names=[] if request.htmx else listing.enterprise_names(current_user),  # the datalist is not swapped
        filter_args=parsed.filters.query_args() if parsed.usable else {},
        plan_notices=plan_changes.notices_for((entry.plan for entry in result.entries), now) if result else {},
    )
    if request.htmx:
        # The URL holds the question as understood (a level reset by the cascade included).
        hx(response, push_url=url_for(endpoint, **args))
    return response


@bp.get("/tasks")
@login_required
def tasks():
    """审核任务: plans not ended (not started yet, or under way)."""
    return _plan_list(listing.TASKS)


@bp.get("/history")
@login_required
def history():
    """审核经历: plans whose audit has ended."""
    return _plan_list(listing.HISTORY)
