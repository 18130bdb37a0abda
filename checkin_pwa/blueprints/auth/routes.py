"""Login, forced password change, logout (R1), with failed attempts throttled."""
from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from ... import sessions
from ...domain import clock
from ...domain.codes import mask_phone
from ...extensions import db, limiter
from ...htmx import go_to
from ...models import Auditor
from ...services import accounts, phone_changes
from ...throttling import (address_key, attempt_failed, code_sends, count_failed_attempts, devices, forget_failures,
                           note_failed_attempt, throttled_message)
from ...web import render_page_or_partial, safe_next, this_path
from . import bp, codes
from .words import password_problems
from .forms import (ChangePasswordForm, ForgotPasswordForm, IdentityForm,
                    LoginForm, NewPhoneForm)

@bp.errorhandler(429)
def throttled(error):
    """A throttled attempt gets its own page back with one message, not a bare error page."""
    if request.endpoint == "auth.change_phone":
        form = IdentityForm(formdata=None)
        return render_template("auth/change_phone.html", form=form,
                               form_error=throttled_message(("IDENTITY_LIMIT_PER_ADDRESS",))), 429
    if request.endpoint in _CODE_ENDPOINTS:
        return _code_throttled()
    if request.endpoint == "auth.change_password" and current_user.is_authenticated:
        form = ChangePasswordForm(formdata=None)
        return render_template("auth/password.html", form=form, form_error=throttled_message()), 429
    form = LoginForm(formdata=None, phone=accounts.normalise_phone(request.form.get("phone")))
    message = " ".join((throttled_message(),
                        _("To log in on this phone now, reset the password with a code sent to it (Forgot password).")))
    return render_template("auth/login.html", form=form, form_error=message), 429


# --- views -----------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@count_failed_attempts
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(request.args.get("next")) or url_for("main.today"), code=303)
    form = LoginForm()
    form_error = None
    if form.validate_on_submit():
        auditor = accounts.authenticate(form.phone.data, form.password.data)
        if auditor is not None and auditor.disabled:
            # Named only to whoever knows the password; not a failed attempt.
            form_error = _("This account has been disabled by your certification body. "
                           "Please contact your body to have it enabled.")
            return render_template("auth/login.html", form=form, form_error=form_error), 403
        if auditor is not None:
            auditor.last_login_at = clock.now()
            db.session.commit()
            sessions.log_in_auditor(auditor)
            _phone_change_news(auditor)
            if auditor.must_change_password:
                return devices.remember(redirect(url_for("auth.change_password"), code=303), auditor.phone)
            return devices.remember(redirect(safe_next(request.args.get("next")) or url_for("main.today"), code=303),
                                    auditor.phone)
        note_failed_attempt()
        # The same words for an unknown number and a wrong password.
        form_error = _("Wrong mobile number or password.")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, form_error=form_error), status


@bp.route("/password", methods=["GET", "POST"])
@count_failed_attempts
@login_required
def change_password():
    """The forced change at first login (the initial password from the body). Any later
    change needs a code sent to the phone (R1 §4.1): that is the personal page's form."""
    if not current_user.must_change_password:
        return redirect(url_for("account.change_password"), code=303)
    form = ChangePasswordForm()
    if form.validate_on_submit():
        auditor = current_user._get_current_object()
        result = accounts.change_password(auditor, form.current_password.data, form.new_password.data)
        if result.ok:
            sessions.log_in_auditor(auditor)  # the bumped session version ended every other session
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("main.today"), code=303)
        if result.wrong_current_password:
            note_failed_attempt()
            form.current_password.errors.append(_("The current password is not correct."))
        else:
            form.new_password.errors.extend(password_problems(result.errors))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form, form_error=None), status


@bp.post("/logout")
def logout():
    """Ends this session on the server too: a copy of its cookie no longer logs in."""
    sessions.end_on_server()
    logout_user()
    sessions.fresh()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"), code=303)


# --- R1 §4.2 forgot password, §4.3 change login phone (from the login page) --------------------

_CODE_ENDPOINTS = {"auth.forgot_password_code", "auth.change_phone_code"}  # account: its own handler

def _code_throttled():
    message = _("Too many codes were asked for from this network. Try again later.")
    if request.htmx:  # htmx swaps 422 answers (app.js), not 429
        return render_template("auth/_code_send.html", send_url=this_path(query=False), code_message=message,
                               code_sent=False, wait=0), 422
    return render_template("errors/error.html", status=429, message=message), 429


def code_answer(page: str, sending: codes.Sending, send_url: str, **context):
    """The answer to 获取验证码: the button and its message for htmx (with the countdown),
    the whole page again without JS."""
    status = 200 if sending.sent else 422
    return render_page_or_partial(page, "auth/_code_send.html", status=status, send_url=send_url,
                                  code_message=sending.message, code_sent=sending.sent, wait=sending.wait,
                                  **context)


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    """§4.2: the code sent to the login number, then a new password; then log in with it."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        result = accounts.reset_password(form.phone.data, form.code.data, form.new_password.data,
                                         settings=codes.settings(), now=clock.now())
        if result.ok:
            sessions.fresh()
            phone = accounts.normalise_phone(form.phone.data)
            forget_failures(phone)
            flash(_("Your password has been reset. Log in with the new password."), "success")
            return devices.remember(redirect(url_for("auth.login"), code=303), phone)
        if accounts.WRONG_CODE in result.errors:
            form.code.errors.append(codes.refusal_text(result.code_outcome))
        else:
            form.new_password.errors.extend(password_problems(result.errors))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/forgot.html", form=form, send_url=url_for("auth.forgot_password_code")), status


@bp.get("/password/forgot/code")
@bp.get("/phone/change/code")
def code_page_again():
    """A reload of the page a no-JS 获取验证码 answered: back to its form (GET sends nothing)."""
    target = "auth.forgot_password" if request.path.startswith("/password") else "auth.change_phone_new"
    return redirect(url_for(target), code=303)


@bp.post("/password/forgot/code")
@code_sends
def forgot_password_code():
    form = ForgotPasswordForm()
    number = accounts.normalise_phone(form.phone.data)
    if not accounts.is_mobile_number(number):
        sending = codes.Sending(False, _("Enter an 11-digit mobile number starting with 1."))
    else:
        auditor = accounts.account_by_phone(number)
        # One answer whether or not the number has an account (no account enumeration).
        sending = codes.send(number, "reset_password", auditor_id=auditor.id if auditor else None,
                             really=auditor is not None,
                             sent_message=_("If this number is registered, a verification code has been sent."))
    form.code.data = ""
    return code_answer("auth/forgot.html", sending, url_for("auth.forgot_password_code"), form=form)


_STEP = "phone_change"


def _proved_identity() -> Auditor | None:
    """The account whose identity was proved in step 1, if that was in the last
    PHONE_CHANGE_STEP_S seconds and the account did not change since (signed session)."""
    state = session.get(_STEP)
    if not isinstance(state, dict):
        return None
    try:
        auditor_id, version, until = int(state["id"]), int(state["v"]), float(state["until"])
    except (KeyError, TypeError, ValueError):
        return None
    if time.time() > until:
        session.pop(_STEP, None)
        return None
    auditor = db.session.get(Auditor, auditor_id)
    if auditor is None or (auditor.session_version or 0) != version:
        return None
    return auditor


_identity_per_address = limiter.shared_limit(
    lambda: current_app.config["IDENTITY_LIMIT_PER_ADDRESS"], scope="identity-address",
    key_func=address_key, methods=["POST"], deduct_when=attempt_failed,
)


@bp.route("/phone/change", methods=["GET", "POST"])
@_identity_per_address
def change_phone():
    """§4.3 step 1: name + ID type + ID number must match one account."""
    form = IdentityForm()
    form_error = None
    if form.validate_on_submit():
        auditor = accounts.find_by_identity(form.name.data, form.id_type.data, form.id_number.data)
        if auditor is not None:
            session[_STEP] = {"id": auditor.id, "v": auditor.session_version or 0,
                              "until": time.time() + current_app.config["PHONE_CHANGE_STEP_S"]}
            return redirect(url_for("auth.change_phone_new"), code=303)
        note_failed_attempt()
        # The same words whichever of the three did not match.
        form_error = _("The name, ID type and ID number do not match any account.")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_phone.html", form=form, form_error=form_error), status


def _step_expired():
    """Back to step 1: htmx follows HX-Redirect (a 303 would be swapped into the form)."""
    flash(_("The identity check has expired. Please verify your identity again."), "error")
    return go_to(url_for("auth.change_phone"))


@bp.route("/phone/change/new", methods=["GET", "POST"])
def change_phone_new():
    """§4.3 step 2: the new number, verified by a code sent to it."""
    auditor = _proved_identity()
    if auditor is None:
        return _step_expired()
    form = NewPhoneForm()
    if form.validate_on_submit():
        old_phone = auditor.phone
        result = accounts.change_phone(auditor, form.new_phone.data, form.code.data,
                                       settings=codes.settings(), now=clock.now())
        if result.ok and result.held:
            codes.notify_phone_change_requested(old_phone, result.held.request.new_phone)
            session.pop(_STEP, None)  # the step is done; the account and its sessions are untouched
            flash(_held_text(result.held), "info")
            return redirect(url_for("auth.login"), code=303)
        if result.ok:
            # Name and ID number are all step 1 asks: tell the old number, in case it was not its owner.
            codes.notify_phone_changed(old_phone, auditor.phone)
            sessions.fresh()  # the step is done, and every session of the account ended
            flash(_("The change succeeded. Log in with the new mobile number."), "success")
            return redirect(url_for("auth.login"), code=303)
        if accounts.WRONG_CODE in result.errors:
            form.code.errors.append(codes.refusal_text(result.code_outcome))
        else:
            form.new_phone.errors.append(_new_phone_text(result.errors[0]))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_phone_new.html", form=form, auditor=auditor,
                           send_url=url_for("auth.change_phone_code"), **_approval_context(auditor)), status


def _approval_context(auditor: Auditor) -> dict:
    """For step 2: whether the body approves the change, and a request still waiting."""
    needed = phone_changes.approval_needed(auditor)
    waiting = phone_changes.pending_for(auditor) if needed else None
    return {"approval_needed": needed, "waiting": waiting,
            "waiting_phone": mask_phone(waiting.new_phone) if waiting else None}


def _held_text(held: phone_changes.Held) -> str:
    text = _("Your request to change the login number to %(new)s was sent to your certification body and "
             "waits for its approval. Until it is approved, keep logging in with your current number %(old)s.",
             new=held.request.new_phone, old=mask_phone(held.request.old_phone))
    if held.replaced is not None:
        text += " " + _("It replaces your earlier request (to %(earlier)s), which will not be decided.",
                        earlier=mask_phone(held.replaced.new_phone))
    return text


def _phone_change_news(auditor: Auditor) -> None:
    """At login: the body's decision on the auditor's change of login number, once; and
    that a request still waits."""
    decided = phone_changes.outcome_to_show(auditor, now=clock.now())
    if decided is not None and decided.state == phone_changes.APPROVED:
        flash(_("Your certification body approved the change of your login number to %(new)s. "
                "Log in with it from now on.", new=mask_phone(decided.new_phone)), "success")
    elif decided is not None:
        text = _("Your certification body did not approve the change of your login number to %(new)s; "
                 "your login number stays %(old)s.", new=mask_phone(decided.new_phone),
                 old=mask_phone(auditor.phone))
        if decided.reason:
            text += " " + _("Reason: %(reason)s", reason=decided.reason)
        flash(text, "error")
    waiting = phone_changes.pending_for(auditor)
    if waiting is not None:
        flash(_("Your request to change the login number to %(new)s still waits for your certification "
                "body's approval. Until then, log in with this number.", new=mask_phone(waiting.new_phone)), "info")


def _new_phone_text(problem: str) -> str:
    if problem == accounts.PHONE_TAKEN:
        return _("This number is already the login of another account.")
    if problem == accounts.SAME_PHONE:
        return _("This is already your login number.")
    return _("Enter an 11-digit mobile number starting with 1.")


@bp.post("/phone/change/code")
@code_sends
def change_phone_code():
    auditor = _proved_identity()
    if auditor is None:
        return _step_expired()
    form = NewPhoneForm()
    number = accounts.normalise_phone(form.new_phone.data)
    problem = accounts.new_phone_problem(auditor, number)
    if problem:
        sending = codes.Sending(False, _new_phone_text(problem))
    else:
        sending = codes.send(number, "change_phone", auditor_id=auditor.id)
    form.code.data = ""
    return code_answer("auth/change_phone_new.html", sending, url_for("auth.change_phone_code"), form=form,
                       auditor=auditor, **_approval_context(auditor))
