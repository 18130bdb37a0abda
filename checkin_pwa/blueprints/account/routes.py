"""The personal page (R1 §4.1): who the auditor is, the avatar, change password (with a code
sent to the phone), log out."""
from __future__ import annotations


from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ... import sessions
from ...domain import clock
from ...domain.codes import mask_phone
from ...services import accounts, contacts
from ...services.photos import Limits
from ...throttling import code_sends, count_failed_attempts, note_failed_attempt, throttled_message
from ...web import PRIVATE_FILE
from ..auth import codes
from ..auth.forms import AvatarForm, CodedPasswordForm
from ..auth.routes import _code_throttled, code_answer
from ..auth.words import password_problems
from . import bp
from .words import avatar_refusal_text


def initials(name: str | None) -> str:
    """What the round shows without an avatar: the last two characters of a Chinese name
    (as colleagues call each other), the first letters of a Latin one."""
    name = (name or "").strip()
    if not name:
        return "?"
    if name.isascii():
        return "".join(part[0] for part in name.split()[:2]).upper()
    return name[-2:]


@bp.get("/me")
@login_required
def index():
    return render_template("account/me.html", masked_phone=mask_phone(current_user.phone))


@bp.get("/help")
@login_required
def help_page():
    """Help: whom to call at the body, installing the app, what works without a network."""
    agency = current_user.agency
    contact = contacts.contact_of(agency, current_app.config)
    return render_template("account/help.html", contact=contact, agency=agency)


@bp.route("/me/avatar", methods=["GET", "POST"])
@login_required
def avatar():
    """Upload a new avatar (no JS needed: a plain multipart form)."""
    form = AvatarForm()
    error = None
    if form.validate_on_submit():
        upload = request.files.get("avatar")
        data = upload.read() if upload is not None and upload.filename is not None else None
        result = accounts.set_avatar(
            current_user._get_current_object(), data, store=current_app.extensions["photo_store"],
            limits=Limits.from_config(current_app.config), size=current_app.config["AVATAR_SIZE"],
            now=clock.now())
        if not isinstance(result, accounts.Auditor):
            error = avatar_refusal_text(result)
        else:
            flash(_("Your avatar has been updated."), "success")
            return redirect(url_for("account.index"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("account/avatar.html", form=form, error=error), status


@bp.get("/me/avatar.jpg")
@login_required
def avatar_image():
    """The auditor's own avatar: our re-encoded JPEG only, never cached by shared caches."""
    key = current_user.avatar_key
    if not key:
        abort(404)
    store = current_app.extensions["photo_store"]
    try:
        # A new avatar gets a new key, so the key is a stable ETag; the URL carries ?v= too.
        response = store.response(key, mimetype="image/jpeg", etag=key.rsplit("/", 1)[-1],
                                  last_modified=current_user.avatar_updated_at)
    except (FileNotFoundError, ValueError):
        abort(404)
    response.headers["Cache-Control"] = PRIVATE_FILE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- change password (§4.1) ------------------------------------------------------------------

@bp.errorhandler(429)
def throttled(error):
    """Wrong current passwords use up the login's budget (auth.routes): the same page back."""
    if request.endpoint == "account.change_password_code":
        return _code_throttled()
    form = CodedPasswordForm(formdata=None)
    return _password_page(form, form_error=throttled_message(), status=429)


def _password_page(form, *, form_error=None, status=200):
    return render_template("account/password.html", form=form, form_error=form_error,
                           masked_phone=mask_phone(current_user.phone),
                           send_url=url_for("account.change_password_code")), status


@bp.route("/me/password", methods=["GET", "POST"])
@count_failed_attempts
@login_required
def change_password():
    form = CodedPasswordForm()
    if form.validate_on_submit():
        auditor = current_user._get_current_object()
        result = accounts.change_password_with_code(
            auditor, form.current_password.data, form.new_password.data, form.code.data,
            settings=codes.settings(), now=clock.now())
        if result.ok:
            sessions.log_in_auditor(auditor)  # the bumped session version ended every other session
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("account.index"), code=303)
        if result.wrong_current_password:
            note_failed_attempt()
            form.current_password.errors.append(_("The current password is not correct."))
        elif accounts.WRONG_CODE in result.errors:
            form.code.errors.append(codes.refusal_text(result.code_outcome))
        else:
            form.new_password.errors.extend(password_problems(result.errors))
    return _password_page(form, status=422 if request.method == "POST" else 200)


@bp.get("/me/password/code")
def change_password_code_again():
    """A reload of the page a no-JS 获取验证码 answered: back to the form (GET sends nothing)."""
    return redirect(url_for("account.change_password"), code=303)


@bp.post("/me/password/code")
@code_sends
@login_required
def change_password_code():
    """获取验证码: a code to the account's own phone."""
    sending = codes.send(current_user.phone, "change_password", auditor_id=current_user.id)
    form = CodedPasswordForm()
    form.code.data = ""
    return code_answer("account/password.html", sending, url_for("account.change_password_code"), form=form,
                       form_error=None, masked_phone=mask_phone(current_user.phone))
