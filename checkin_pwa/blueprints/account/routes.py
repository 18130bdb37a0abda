"""Placeholder: the personal page (R1) is built in issue 5."""
from flask import render_template
from flask_login import login_required

from . import bp


@bp.get("/me")
@login_required
def index():
    return render_template("account/me.html")
