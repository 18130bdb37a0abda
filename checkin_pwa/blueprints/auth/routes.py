"""Login, forced password change, logout (R1), with failed attempts throttled."""
from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from limits import parse as parse_limit

from ...domain.passwords import PasswordProblem
from ...extensions import client_address, limiter
from ...models import Auditor
from ...services import accounts
from . import bp
from .forms import PASSWORD_PROBLEM_MESSAGES, ChangePasswordForm, LoginForm

# --- throttling ------------------------------------------------------------------------
# Only failed attempts count. A limit with `deduct_when` is *tested* before the view runs
# (so once it is full even the right password is refused, with a 429) and *deducted* after
# the response only when deduct_when says so; the view marks a failure on the request. The counts
# live in the limiter's own storage (shared between workers via RATELIMIT_STORAGE_URI),
# with no hand-made counters. The account limit is one shared scope for /login and
# /password, so guessing the current password on the change page uses up the same budget.


def _account_key() -> str:
    """The account an attempt is against: the number typed at login, or the logged-in
    auditor's own number on the change-password page. Unknown numbers count too, so a
    refusal never tells whether an account exists."""
    if request.endpoint == "auth.change_password" and current_user.is_authenticated:
        return "account:" + current_user.phone
    return "account:" + accounts.normalise_phone(request.form.get("phone"))


def _address_key() -> str:
    return "address:" + client_address()


_FAILED_ATTEMPT = "checkin_pwa.failed_attempt"


def _note_failed_attempt() -> None:
    # On the request itself, not `g`: g lives as long as the app context, which a test
    # (or a CLI command) may keep across several requests.
    request.environ[_FAILED_ATTEMPT] = True


def _attempt_failed(response) -> bool:
    return bool(request.environ.get(_FAILED_ATTEMPT))


_per_account = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], scope="login-account",
    key_func=_account_key, methods=["POST"], deduct_when=_attempt_failed,
)
_per_address = limiter.shared_limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], scope="login-address",
    key_func=_address_key, methods=["POST"], deduct_when=_attempt_failed,
)


def count_failed_attempts(view):
    """Throttle failed POSTs of this view per account and per address (see above)."""
    return _per_account(_per_address(view))


def _throttled_message() -> str:
    # One message whichever limit was reached: the longer window of the two.
    seconds = max(parse_limit(current_app.config[name]).get_expiry()
                  for name in ("LOGIN_LIMIT_PER_ACCOUNT", "LOGIN_LIMIT_PER_ADDRESS"))
    return _("Too many failed attempts. For the account's safety, try again in %(minutes)s minutes.",
             minutes=max(1, math.ceil(seconds / 60)))


@bp.errorhandler(429)
def throttled(error):
    """A throttled attempt gets its own page back with one message, not a bare error page."""
    if request.endpoint == "auth.change_password" and current_user.is_authenticated:
        form = ChangePasswordForm(formdata=None)
        return render_template("auth/password.html", form=form, form_error=_throttled_message()), 429
    form = LoginForm(formdata=None, phone=accounts.normalise_phone(request.form.get("phone")))
    return render_template("auth/login.html", form=form, form_error=_throttled_message()), 429


# --- sessions --------------------------------------------------------------------------

def _fresh_session() -> None:
    """Forget everything in the session but the language the person chose."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    # Flask-WTF caches the signed CSRF token in `g`; it belongs to the session just cleared.
    g.pop(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token"), None)


def _start_session(auditor: Auditor) -> None:
    """A new session for a new login: nothing from before survives (no session fixation)."""
    _fresh_session()
    login_user(auditor)


def local_path(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirect via ?next=).

    Refuses absolute URLs, scheme-relative `//host` and `/\\host` (browsers read the
    backslash as a slash), and control characters.
    """
    if not target or not target.startswith("/") or target[1:2] in ("/", "\\"):
        return None
    if any(ord(ch) < 32 or ch == "\x7f" for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


# --- views -----------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
@count_failed_attempts
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(local_path(request.args.get("next")) or url_for("main.today"), code=303)
    form = LoginForm()
    form_error = None
    if form.validate_on_submit():
        auditor = accounts.authenticate(form.phone.data, form.password.data)
        if auditor is not None:
            _start_session(auditor)
            if auditor.must_change_password:
                return redirect(url_for("auth.change_password"), code=303)
            return redirect(local_path(request.args.get("next")) or url_for("main.today"), code=303)
        _note_failed_attempt()
        # The same words for an unknown number and a wrong password.
        form_error = _("Wrong mobile number or password.")
    status = 422 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form, form_error=form_error), status


@bp.route("/password", methods=["GET", "POST"])
@count_failed_attempts
@login_required
def change_password():
    # TODO(R1 §4.1): the rule also asks for a verification code sent to the phone; that
    # needs an SMS gateway and is a later issue. Until then the current password suffices.
    form = ChangePasswordForm()
    if form.validate_on_submit():
        auditor = current_user._get_current_object()
        result = accounts.change_password(auditor, form.current_password.data, form.new_password.data)
        if result.ok:
            _start_session(auditor)  # the bumped session version ended every other session
            flash(_("Your password has been changed."), "success")
            return redirect(url_for("main.today"), code=303)
        if result.wrong_current_password:
            _note_failed_attempt()
            form.current_password.errors.append(_("The current password is not correct."))
        else:
            form.new_password.errors.extend(
                str(PASSWORD_PROBLEM_MESSAGES[PasswordProblem(code)]) for code in result.errors
            )
    status = 422 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form, form_error=None), status


@bp.post("/logout")
def logout():
    logout_user()
    _fresh_session()
    flash(_("You have logged out."), "info")
    return redirect(url_for("auth.login"), code=303)
