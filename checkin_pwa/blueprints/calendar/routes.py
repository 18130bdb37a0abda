"""Placeholder: the calendar (R12) is built in issue 5."""
from flask import render_template
from flask_login import login_required

from . import bp


@bp.get("/calendar")
@login_required
def month():
    return render_template("calendar/month.html")
