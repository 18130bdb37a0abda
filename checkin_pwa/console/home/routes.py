"""The console's first page: the body, the signed-in staff member and their account."""
from flask import g, render_template, url_for

from ...extensions import client_address
from ...services import staff as staff_service
from ..auth.forms import ButtonForm
from ..guard import staff_required
from . import bp


@bp.get("/")
@staff_required()
def index():
    return render_template("console/home/index.html", agency=g.staff.agency)


@bp.get("/me")
@staff_required()
def me():
    return render_template("console/home/me.html", form=ButtonForm(),
                           codes_left=staff_service.recovery_codes_left(g.staff))


@bp.post("/me/recovery-codes")
@staff_required()
def renew_recovery_codes():
    """New recovery codes (the old ones stop working), shown once in this answer."""
    ButtonForm()
    codes = staff_service.renew_recovery_codes(g.staff, address=client_address())
    return render_template("console/auth/recovery_codes.html", codes=codes, target=url_for("console.home.me"))
