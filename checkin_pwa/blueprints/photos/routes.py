"""Photo evidence routes (R8, R16): the photo section of the plan page (plans.detail), one
photo per upload, soft delete, and the only way photo files leave the server.

The upload answers a fragment (one tile, or one error) for the page's script and htmx;
a plain form (no JavaScript) gets a 303 back to the plan page with the outcome flashed.
"""
from __future__ import annotations


from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, pgettext
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from ...domain import clock
from ...services import photos
from ..guards import plan_or_404
from ..idempotency import idempotent
from ...htmx import hx, refusal, vary
from ...web import PRIVATE_FILE
from . import bp
from .words import refusal_text, verdict_line

# HTTP status of each refusal (one photo's error fragment carries it).
STATUS = {
    "not_found": 404,
    "group_full": 409,
    "already_in_plan": 409,
    "too_large": 413,
    "request_too_large": 413,
    "unsupported_type": 415,
    "try_again": 503,
}


def _navigation() -> bool:
    """A plain form post (the browser navigates), not the photo script, htmx or the outbox
    asking for a fragment. Browsers say so in Sec-Fetch-Mode; old ones by asking for HTML."""
    if request.htmx.wants_fragment:
        return False
    mode = request.headers.get("Sec-Fetch-Mode")
    if mode is not None:
        return mode == "navigate"
    return "text/html" in request.headers.get("Accept", "")


def _section(plan):
    return photos.plan_photos(current_user, plan)


@bp.get("/plans/<int:plan_id>/photos")
@login_required
def section(plan_id: int):
    plan = plan_or_404(plan_id)
    return vary(current_app.make_response(
        render_template("photos/_photos.html", section=_section(plan), verdict_line=verdict_line)))


@bp.get("/plans/<int:plan_id>/photos/verdict")
@login_required
def verdict(plan_id: int):
    """The section's plain-words line alone: the page asks for it again whenever a photo
    went up or was deleted (event photos-changed), without redrawing tiles in flight."""
    plan = plan_or_404(plan_id)
    return render_template("photos/_photo_verdict.html", section=_section(plan), verdict_line=verdict_line)


def _refused(plan_id: int, code: str, params: dict | None = None):
    """A refusal as one photo's error fragment (status by STATUS), or for a plain form
    a flash on the plan page. Another team's plan is a 404 like any unknown one."""
    if code == "not_found" and _navigation():
        abort(404)
    message = refusal_text(code, params)
    status = STATUS.get(code, 422)
    if _navigation():
        flash(message, "error")
        return redirect(url_for("plans.detail", plan_id=plan_id, _anchor="photos"), code=303)
    return refusal(message, status, css="photo-error")


def _upload_one(plan_id: int, upload_file):
    config = current_app.config
    data = None
    if upload_file is not None:
        # The request is already capped (MAX_CONTENT_LENGTH); read one byte over the photo
        # cap so "too large" is told apart from "just right".
        data = upload_file.stream.read(config["PHOTO_MAX_BYTES"] + 1)
        if not data and not upload_file.filename:
            data = None  # a plain form sent with no file chosen: no photo, not an empty one
    return photos.upload(
        current_user, plan_id, request.form.get("group", ""), data,
        store=current_app.extensions["photo_store"],
        limits=photos.Limits.from_config(config),
        original_sha256=request.form.get("original_sha256"),
        original_bytes=request.form.get("original_bytes"),
        original_name=request.form.get("original_name") or (upload_file.filename if upload_file else None),
        now=clock.now(),
    )


def _share(photo) -> tuple[tuple[str, ...], list[str]]:
    """With "also for the enterprise's other audit tasks" ticked: the same photo for the
    auditor's other plans of the combined audit (R7). The projects that hold it, and a
    sentence for each plan it could not go to."""
    if request.form.get("together") not in ("on", "1"):
        return (), []
    shared = photos.share_with_same_audit(current_user, photo, clock.now())
    held = tuple(plan.project_code for plan, result in shared if not isinstance(result, photos.Refusal))
    missed = [_("Not used for %(plan)s: %(why)s", plan=plan.project_code, why=refusal_text(result.code, result.params))
              for plan, result in shared if isinstance(result, photos.Refusal)]
    return held, missed


@bp.post("/plans/<int:plan_id>/photos")
@login_required
@idempotent
def upload(plan_id: int):
    """One photo per request from the page's script (201 and its tile, or its error).
    A plain form may carry several (the album allows it): each is stored on its own and
    the outcome of each is flashed on the plan page."""
    files = request.files.getlist("photo") or [None]
    if not _navigation():
        result = _upload_one(plan_id, files[0])
        if isinstance(result, photos.Refusal):
            return _refused(plan_id, result.code, result.params)
        shared, missed = _share(result)
        view = photos.PhotoView(result, result.verdicts, result.exif or {}, shared)
        return hx(current_app.make_response((render_template("photos/_photo.html", view=view, not_shared=missed), 201)),
                  trigger="photos-changed")
    for upload_file in files:
        result = _upload_one(plan_id, upload_file)
        if isinstance(result, photos.Refusal):
            if result.not_found:
                abort(404)
            name = photos.clean_name(upload_file.filename if upload_file else None)
            message = refusal_text(result.code, result.params)
            flash(f"{name}: {message}" if name else message, "error")
        else:
            flash(_("Photo uploaded: %(name)s", name=result.original_name or ""), "success")
            shared, missed = _share(result)
            if shared:
                flash(_("Also used for: %(plans)s", plans=pgettext("list separator", ", ").join(shared)), "success")
            for line in missed:
                flash(line, "error")
    return redirect(url_for("plans.detail", plan_id=plan_id, _anchor="photos"), code=303)


@bp.errorhandler(RequestEntityTooLarge)
def request_too_large(error):
    """Over MAX_CONTENT_LENGTH (raised while the form is parsed, even by the CSRF check):
    one photo's error, in the user's language, like every other refusal."""
    limit_mb = round(current_app.config["PHOTO_MAX_BYTES"] / 1024 / 1024)
    plan_id = (request.view_args or {}).get("plan_id")
    if plan_id is None or request.endpoint != "photos.upload":
        return render_template("errors/error.html", status=413,
                               message=refusal_text("request_too_large", {"limit_mb": limit_mb})), 413
    return _refused(plan_id, "request_too_large", {"limit_mb": limit_mb})


@bp.post("/photos/<int:photo_id>/delete")
@login_required
def delete(photo_id: int):
    result = photos.delete(current_user, photo_id, clock.now())
    if isinstance(result, photos.Refusal):
        abort(404)
    if _navigation():
        return redirect(url_for("plans.detail", plan_id=result.plan_id, _anchor="photos"), code=303)
    return hx(current_app.make_response(("", 200)), trigger="photos-changed")


@bp.get("/photos/<int:photo_id>/<any(thumb, display):kind>")
@login_required
def image(photo_id: int, kind: str):
    """R16: only the plan's team, never a deleted photo; always our own JPEG, never the file
    as it was uploaded."""
    photo = photos.team_photo(current_user, photo_id)
    if photo is None:
        abort(404)
    return send_photo(photo, kind)


def send_photo(photo, kind: str):
    """The photo's thumbnail or display copy (our own JPEG, never the file as uploaded), for
    whoever the caller has let see it."""
    store = current_app.extensions["photo_store"]
    key = photo.thumb_key if kind == "thumb" else photo.display_key
    try:
        # A photo's copies never change once written: its id and kind are a stable ETag.
        response = store.response(key, mimetype="image/jpeg", etag=f"photo-{photo.id}-{kind}",
                                  last_modified=photo.uploaded_at)
    except FileNotFoundError:
        abort(404)
    response.headers["Cache-Control"] = PRIVATE_FILE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
