"""Placeholder: notices (R14) are built in issue 5."""
from flask import render_template
from flask_login import login_required

from . import bp


@bp.get("/notices")
@login_required
def index():
    return render_template("notices/list.html")


@bp.app_context_processor
def nav_counts():
    """The unread count on the bottom navigation's 通知 (R14); placeholder until notices land."""
    return {"nav_unread": 0}
