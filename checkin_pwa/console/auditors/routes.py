"""The body's auditors (R18): a list every staff member reads (search, state filter,
server-side pages), and the changes an audit manager or an administrator makes to an
account: disable and enable, reset to an initial password (sent by SMS), lift a login
restriction. Each change is in the audit log (services.auditors); another body's auditor
is a 404 (guard.own_row)."""
import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ...domain.auditors import AuditorState
from ...extensions import client_address
from ...models import Auditor
from ...services import auditors as service
from ...web import render_page_or_partial
from ..auth.forms import ButtonForm
from ..guard import own_row, staff_required
from ..words import AUDITOR_STATE_WORDS, refusal_text
from . import bp


def _this_month() -> tuple[dt.datetime, dt.datetime]:
    """The body's current calendar month (its configured zone) as naive UTC bounds."""
    zone = ZoneInfo(current_app.config.get("DEFAULT_TIMEZONE", "Asia/Shanghai"))
    now = dt.datetime.now(zone)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + dt.timedelta(days=32)).replace(day=1)
    to_utc = lambda moment: moment.astimezone(dt.timezone.utc).replace(tzinfo=None)  # noqa: E731
    return to_utc(start), to_utc(end)


def _filter() -> service.AuditorFilter:
    state = request.args.get("state") or None
    if state not in {item.value for item in AuditorState}:
        state = None
    return service.AuditorFilter(q=(request.args.get("q") or "").strip()[:100], state=state)


@bp.get("/auditors")
@staff_required("readonly")
def people():
    """The page, or only its table for htmx (search, filter and page change replace it)."""
    wanted = _filter()
    page = service.page_of(g.staff.agency_id, wanted, request.args.get("page", 1, type=int), month=_this_month())
    return render_page_or_partial("console/auditors/list.html", "console/auditors/_list.html",
                                  auditor_page=page, wanted=wanted, state_words=AUDITOR_STATE_WORDS)


@bp.get("/auditors/<int:auditor_id>")
@staff_required("readonly")
def person(auditor_id: int):
    found = own_row(Auditor, auditor_id)
    counts = service.plans_in([found.id], *_this_month())
    return render_template("console/auditors/person.html", row=service.row_for(found, counts.get(found.id, 0)),
                           state_words=AUDITOR_STATE_WORDS, form=ButtonForm())


def _back(found: Auditor):
    return redirect(url_for("console.auditors.person", auditor_id=found.id), code=303)


def _checked_form() -> bool:
    form = ButtonForm()
    if not form.validate_on_submit():
        flash(_("The form had expired. Nothing was changed; please try again."), "error")
        return False
    return True


@bp.post("/auditors/<int:auditor_id>/disable")
@staff_required("manager")
def disable(auditor_id: int):
    return _set_disabled(own_row(Auditor, auditor_id), True)


@bp.post("/auditors/<int:auditor_id>/enable")
@staff_required("manager")
def enable(auditor_id: int):
    return _set_disabled(own_row(Auditor, auditor_id), False)


def _set_disabled(found: Auditor, disable: bool):
    if _checked_form():
        service.set_disabled(g.staff, found, disable, address=client_address())
        flash(_("The auditor has been disabled: they cannot log in, and their sessions have ended. "
                "Their plans and records stay.") if disable else _("The auditor has been enabled."), "success")
    return _back(found)


@bp.post("/auditors/<int:auditor_id>/reset")
@staff_required("manager")
def reset(auditor_id: int):
    found = own_row(Auditor, auditor_id)
    if _checked_form():
        try:
            service.reset_password(g.staff, found, address=client_address())
        except service.AuditorRefused as refused:
            flash(refusal_text(refused.code), "error")
        else:
            flash(_("A new initial password was sent by text message to %(phone)s. "
                    "The auditor must change it at the next login.", phone=found.phone), "success")
    return _back(found)


@bp.post("/auditors/<int:auditor_id>/lift")
@staff_required("manager")
def lift(auditor_id: int):
    found = own_row(Auditor, auditor_id)
    if _checked_form():
        if service.lift_restriction(g.staff, found, address=client_address()):
            flash(_("The login restriction has been lifted: the auditor can log in again now."), "success")
        else:
            flash(_("The account was not restricted. Nothing was changed."), "info")
    return _back(found)
