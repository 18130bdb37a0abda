"""What the views of several areas share before they render a plan: the R16 guard that
loads it (`plan_or_404`) and the map's configuration (`map_config`)."""
from __future__ import annotations

from flask import abort, current_app
from flask_login import current_user

from ..models import AuditPlan
from ..services import plan_access


def plan_or_404(plan_id: int) -> AuditPlan:
    """The plan if the current auditor is on its team (R16); abort(404) otherwise, so
    another team's plan looks exactly like one that does not exist."""
    plan = plan_access.visible_plan(current_user, plan_id)
    if plan is None:
        abort(404)
    return plan


def map_config() -> dict:
    """The tiles every map draws on (templates/plans/_plan_map.html, main/check.html): their
    URL, attribution and datum, from the server's configuration."""
    config = current_app.config
    return {
        "tile_url": config.get("TILE_URL") or "",
        "tile_attribution": config.get("TILE_ATTRIBUTION") or "",
        "datum": config.get("TILE_DATUM") or "wgs84",
    }
