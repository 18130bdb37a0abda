"""What the console's plan templates need for a plan's history and its change links
(templates/console/plans/_history.html, _change_links.html), given to every console page
(template_helpers)."""
from __future__ import annotations

from ...domain import clock
from ...models import AuditPlan
from ...services import plan_changes
from ..words import CHANGE_SOURCES


def plan_history(plan: AuditPlan):
    """(newest rows, how many in all)."""
    return plan_changes.history(plan)


def plan_open(plan: AuditPlan) -> bool:
    """Whether the plan may still be changed or cancelled (not started, not cancelled)."""
    try:
        plan_changes.check_open(plan, clock.now())
    except plan_changes.PlanEditRefused:
        return False
    return True


def change_author(row) -> str:
    """Who made a history row: the staff member (a console upload says so), else the channel."""
    if row.actor and row.source == "console":
        return row.actor
    source = str(CHANGE_SOURCES.get(row.source, row.source))
    return f"{row.actor} · {source}" if row.actor else source
