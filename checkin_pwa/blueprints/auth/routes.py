"""Login, forced password change, logout (R1). Placeholder: the auth work fills this in."""
from flask import redirect, render_template, request, session, url_for
from flask_login import login_required, login_user, logout_user
from werkzeug.security import check_password_hash

from ...extensions import db
from ...models import Auditor
from . import bp


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    if request.method == "POST":
        auditor = db.session.scalar(db.select(Auditor).filter_by(phone=request.form.get("phone", "")))
        if auditor and check_password_hash(auditor.password_hash, request.form.get("password", "")):
            session.clear()
            login_user(auditor)
            return redirect(url_for("main.today"), code=303)
        error = "bad"
    return render_template("auth/login.html", error=error)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    return render_template("auth/login.html", error=None)


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("auth.login"), code=303)
