"""Today's tasks and the check-in pages. Placeholder: the check-in work fills this in."""
from flask import render_template
from flask_login import login_required

from . import bp


@bp.get("/")
@login_required
def today():
    return render_template("base.html")
