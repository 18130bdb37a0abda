"""The console's first page: the body, the signed-in staff member and their account."""
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...domain import clock
from ...blueprints.tasks.words import STATES
from ...extensions import client_address
from ...services import board
from ...services import staff as staff_service
from ...services.exception_verifications import due
from .. import guard
from ..auth.forms import ButtonForm, ChangePasswordForm
from ..auth.routes import password_errors, per_staff
from ..guard import staff_required
from . import bp


@bp.get("/")
@staff_required(regulator_reads=True)
def index():
    """The body's overview; the regulator's first page is every body's."""
    if guard.is_regulator(g.staff):
        return redirect(url_for("console.regulator.overview"), code=303)
    now = clock.now()
    return render_template("console/home/index.html", agency=g.staff.agency,
                           verification_due=due(g.staff.agency_id, now), state_words=STATES,
                           today_counts=board.today_counts(g.staff.agency_id, now))


@bp.get("/me")
@staff_required(regulator_reads=True)
def me():
    return render_template("console/home/me.html", form=ButtonForm(),
                           codes_left=staff_service.recovery_codes_left(g.staff))


@bp.route("/me/password", methods=["GET", "POST"])
@per_staff
@staff_required()
def change_password():
    """A later change of one's own password (R1's rule); other sessions of the account end."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        result = staff_service.change_password(g.staff, form.current_password.data, form.new_password.data,
                                               address=client_address())
        if result.ok:
            guard.renew(g.staff)
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("console.home.me"), code=303)
        password_errors(form, result)
    status = 422 if request.method == "POST" else 200
    return render_template("console/home/password.html", form=form), status


@bp.post("/me/recovery-codes")
@staff_required()
def renew_recovery_codes():
    """New recovery codes (the old ones stop working), shown once in this answer."""
    ButtonForm()
    codes = staff_service.renew_recovery_codes(g.staff, address=client_address())
    return render_template("console/auth/recovery_codes.html", codes=codes, target=url_for("console.home.me"))
