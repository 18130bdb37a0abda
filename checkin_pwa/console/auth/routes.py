"""Console login: phone + password (the auditors' throttling), then a second factor (TOTP,
set up by QR code at the first login, or a one-time recovery code); logout."""
from __future__ import annotations

import time

import segno
from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from ...blueprints.auth.words import password_problems
from ...domain import staff as rules
from ...extensions import client_address, limiter
from ...services import staff as staff_service
from ...throttling import attempt_failed, count_failed_attempts, devices, note_failed_attempt, throttled_message
from .. import guard
from . import bp
from .forms import ButtonForm, ChangePasswordForm, CodeForm, LoginForm, SetUpForm


def _staff_key() -> str:
    state = session.get(guard.KEY)
    return "staff:" + str(state.get("id") if isinstance(state, dict) else "none")


# Wrong second-factor codes (and wrong current passwords on the forced change) per account:
# STAFF_CODE_LIMIT, counted only on failure, in the limiter's shared storage.
per_staff = limiter.shared_limit(
    lambda: current_app.config["STAFF_CODE_LIMIT"], scope="staff-code",
    key_func=_staff_key, methods=["POST"], deduct_when=attempt_failed,
)


@bp.errorhandler(429)
def throttled(error):
    if request.endpoint == "console.auth.login":
        form = LoginForm(formdata=None, phone=request.form.get("phone", "")[:20])
        return render_template("console/auth/login.html", form=form, form_error=throttled_message()), 429
    message = throttled_message(("STAFF_CODE_LIMIT",))
    if request.endpoint == "console.auth.code":
        return render_template("console/auth/code.html", form=CodeForm(formdata=None), form_error=message), 429
    return render_template("console/error.html", status=429, message=message), 429


@bp.route("/login", methods=["GET", "POST"])
@count_failed_attempts
def login():
    if request.method == "GET" and guard.session_staff(guard.IN) is not None:
        return redirect(url_for("console.home.index"), code=303)
    form = LoginForm()
    form_error = None
    if form.validate_on_submit():
        checked = staff_service.check_password(form.phone.data, form.password.data, address=client_address())
        if checked.staff is not None:
            guard.start(checked.staff, request.args.get("next"))
            return redirect(guard.next_step(checked.staff), code=303)
        note_failed_attempt()
        form_error = (_("This account is disabled. Ask your body's administrator.") if checked.refused == "disabled"
                      else _("Wrong mobile number or password."))
    status = 422 if request.method == "POST" else 200
    return render_template("console/auth/login.html", form=form, form_error=form_error), status


@bp.route("/password", methods=["GET", "POST"])
@per_staff
@guard.pending_required
def change_password():
    """The forced change of the initial password, before anything else (R1's rule)."""
    person = g.staff
    if not person.must_change_password:
        return redirect(guard.next_step(person), code=303)
    form = ChangePasswordForm()
    if form.validate_on_submit():
        result = staff_service.change_password(person, form.current_password.data, form.new_password.data,
                                               address=client_address())
        if result.ok:
            guard.renew(person)
            flash(_("Your password has been changed."), "success")
            return redirect(guard.next_step(person), code=303)
        password_errors(form, result)
    status = 422 if request.method == "POST" else 200
    return render_template("console/auth/password.html", form=form), status


def password_errors(form, result) -> None:
    """Word a refused change on its form; a wrong current password counts as a failure."""
    if result.wrong_current_password:
        note_failed_attempt()
        form.current_password.errors.append(_("The current password is not correct."))
    else:
        form.new_password.errors.extend(password_problems(result.errors))


_SETUP = "staff_totp_setup"


@bp.route("/second-factor", methods=["GET", "POST"])
@per_staff
@guard.pending_required
def set_up():
    """First login: a new TOTP secret as a QR code (and as text); it is kept only once a
    code from the app proves the app has it. The secret waits in the signed session."""
    person = g.staff
    if person.must_change_password or person.totp_secret:
        return redirect(guard.next_step(person), code=303)
    secret = session.get(_SETUP)
    if not isinstance(secret, str) or len(secret) != 32:
        secret = session[_SETUP] = rules.new_totp_secret()
    form = SetUpForm()
    if form.validate_on_submit():
        codes = staff_service.set_up_second_factor(person, secret, form.code.data, now=time.time(),
                                                   address=client_address())
        if codes is not None:
            session.pop(_SETUP, None)
            target = guard.promote(person)
            # Shown once, in this answer: they are not kept anywhere they could be shown again.
            page = current_app.make_response(render_template("console/auth/recovery_codes.html", codes=codes,
                                                             target=target))
            return devices.remember(page, person.phone)
        note_failed_attempt()
        form.code.errors.append(_("This code is not right. Check that the phone's time is set automatically, "
                                  "then enter the code the app shows now."))
    from ..words import role_name

    issuer = person.agency.name if person.agency else role_name(person.role)
    uri = rules.provisioning_uri(secret, person.phone, _("Renzhengdao") + " · " + issuer)
    qr_svg = segno.make(uri, error="m").svg_inline(scale=5, dark="#1b1f24", light="#ffffff")
    status = 422 if request.method == "POST" else 200
    return render_template("console/auth/set_up.html", form=form, qr_svg=qr_svg, uri=uri,
                           secret=" ".join(secret[i:i + 4] for i in range(0, len(secret), 4))), status


@bp.route("/login/code", methods=["GET", "POST"])
@per_staff
@guard.pending_required
def code():
    """The second factor at login: the app's current code, or a one-time recovery code."""
    person = g.staff
    if person.must_change_password or not person.totp_secret:
        return redirect(guard.next_step(person), code=303)
    form = CodeForm()
    if form.validate_on_submit():
        used = staff_service.check_second_factor(person, form.code.data, now=time.time(), address=client_address())
        if used is not None:
            target = guard.promote(person)
            if used == "recovery":
                flash(_("You used a recovery code; %(left)s are left. New ones are on your account page.",
                        left=staff_service.recovery_codes_left(person)), "info")
            return devices.remember(redirect(target, code=303), person.phone)
        note_failed_attempt()
        form.code.errors.append(_("This code is not right, or was already used. Enter the code the app shows now."))
    status = 422 if request.method == "POST" else 200
    return render_template("console/auth/code.html", form=form), status


@bp.post("/logout")
def logout():
    """Ends the session on the server too (its id), whichever stage it was at."""
    person = guard.session_staff(guard.IN) or guard.session_staff(guard.PENDING)
    ButtonForm()  # CSRF is checked by CSRFProtect before the view
    guard.end(person, "logout" if person is not None else None)
    flash(_("You have logged out."), "info")
    return redirect(url_for("console.auth.login"), code=303)
