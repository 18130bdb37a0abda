"""Notices (R14): the list, a notice with its attachments, and the download; the unread count
for the bottom navigation. Another body's notice, or an attachment that is not the notice's,
is 404: the same answer as one that does not exist."""
from __future__ import annotations

import logging
from urllib.parse import quote

from flask import abort, current_app, request
from flask_login import current_user, login_required
from markupsafe import Markup

from ...domain import clock, notice_body
from ...services import notices
from ...web import PRIVATE_FILE, render_page_or_partial
from . import bp

log = logging.getLogger(__name__)

# An attachment never changes once stored (named by its SHA-256), but it is one body's
# document: only the auditor's own browser keeps it.


def notice_body_html(body: str, body_format: str) -> Markup:
    """A notice's body as safe HTML (domain.notice_body: escaped text, or Markdown through
    the allow-list sanitiser), for the auditor's page and the console's preview alike."""
    return Markup(notice_body.body_html(body, body_format))


def file_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


@bp.get("/notices")
@login_required
def index():
    listing = notices.notice_page(current_user, request.args.get("page"), clock.now())
    return render_page_or_partial("notices/list.html", "notices/_list.html", listing=listing)


@bp.get("/notices/<int:notice_id>")
@login_required
def detail(notice_id: int):
    notice = notices.open_notice(current_user, notice_id, clock.now())
    if notice is None:
        abort(404)
    return render_page_or_partial("notices/detail.html", "notices/_notice.html", notice=notice)


@bp.get("/notices/<int:notice_id>/attachments/<int:attachment_id>")
@login_required
def attachment(notice_id: int, attachment_id: int):
    """Always a download (Content-Disposition: attachment, UTF-8 name as filename*), with a
    type from the allow-list and nosniff, so no attachment is ever rendered or run here."""
    item = notices.visible_attachment(current_user, notice_id, attachment_id, clock.now())
    if item is None:
        abort(404)
    return send_attachment(item)


def send_attachment(item):
    """The download of a notice's attachment (the auditors' and the console's): the file
    from the store with our own disposition, the allow-listed type and nosniff; 404 when
    the file is missing from the store."""
    store = current_app.extensions["photo_store"]
    try:
        # The disposition is ours, never the stored name.
        response = store.response(item.storage_key, mimetype=notices.served_type(item),
                                  etag=f"notice-{item.sha256}", disposition=_disposition(item.id, item.filename))
    except FileNotFoundError:
        log.error("notice attachment %s: file %s missing from the store", item.id, item.storage_key)
        abort(404)
    response.headers["Cache-Control"] = PRIVATE_FILE
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _disposition(attachment_id: int, filename: str) -> str:
    """attachment; the name in UTF-8 as RFC 5987 filename*, and a plain ASCII filename for
    old clients (the name itself when it is ASCII, else attachment-<id>.<ext>)."""
    plain = filename.encode("ascii", "ignore").decode()
    if plain != filename or not plain.strip():
        _stem, dot, ext = filename.rpartition(".")
        ext = ext.encode("ascii", "ignore").decode() if dot else ""
        plain = f"attachment-{attachment_id}" + (f".{ext}" if ext.isalnum() else "")
    plain = plain.replace("\\", "_").replace('"', "_")
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(filename, safe='')}"


def unread_notices() -> int:
    """The bottom navigation's count on 通知 (R14): one COUNT, called once by _bottom_nav.html,
    which base.html shows only to a logged-in auditor past the forced password change (so
    partials and the login pages never run it)."""
    return notices.unread_count(current_user, clock.now())
