"""The body's API tokens (for the plan import API), an administrator's alone: the list
(name, made when and by whom, last use, state), a new token shown once, and revoking one
after a confirmation page. Each change is in the audit log (services.tokens); another
body's token is a 404 (guard.own_row)."""
from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from ...extensions import client_address
from ...models import ApiToken
from ...services import tokens as service
from ...web import render_page_or_partial
from ..auth.forms import ButtonForm
from ..guard import own_row, staff_required
from . import bp


class NewTokenForm(FlaskForm):
    name = StringField(_l("What is it for?"), filters=[lambda value: " ".join((value or "").split())],
                       validators=[DataRequired(_l("Name the token: what system will use it?")),
                                   Length(max=service.NAME_MAX,
                                          message=_l("The name is too long: at most 100 characters."))],
                       render_kw={"maxlength": service.NAME_MAX, "autocomplete": "off",
                                  "placeholder": _l("e.g. ERP sync")})


@bp.get("/tokens")
@staff_required("admin")
def tokens():
    """The page, or only its table for htmx (a page change replaces it)."""
    page = service.page_of(g.staff.agency_id, request.args.get("page", 1, type=int))
    return render_page_or_partial("console/tokens/list.html", "console/tokens/_list.html", token_page=page)


@bp.route("/tokens/new", methods=["GET", "POST"])
@staff_required("admin")
def add():
    form = NewTokenForm()
    if form.validate_on_submit():
        token, plaintext = service.create_for(g.staff, form.name.data, address=client_address())
        # The plaintext is in this answer only (no-store, as every console page); only its
        # hash is kept.
        return render_template("console/tokens/once.html", token=token, plaintext=plaintext)
    status = 422 if request.method == "POST" else 200
    return render_template("console/tokens/new.html", form=form), status


@bp.route("/tokens/<int:token_id>/revoke", methods=["GET", "POST"])
@staff_required("admin")
def revoke(token_id: int):
    """GET: the confirmation; POST: revoke."""
    token = own_row(ApiToken, token_id)
    form = ButtonForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("The form had expired. Nothing was changed; please try again."), "error")
        elif service.revoke(g.staff, token, address=client_address()):
            flash(_("The token “%(name)s” has been revoked: the API refuses it from now on.",
                    name=token.name or f"#{token.id}"), "success")
        else:
            flash(_("The token was already revoked. Nothing was changed."), "info")
        return redirect(url_for("console.tokens.tokens"), code=303)
    return render_template("console/tokens/revoke.html", token=token, form=form)
