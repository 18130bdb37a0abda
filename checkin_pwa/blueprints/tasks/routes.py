"""Placeholder: tasks and history (R13) are built in issue 5."""
from flask import render_template
from flask_login import login_required

from . import bp


@bp.get("/tasks")
@login_required
def tasks():
    return render_template("tasks/list.html")


@bp.get("/history")
@login_required
def history():
    return render_template("tasks/list.html")
