"""The bodies' API: plan import (shared/docs/plan-import.md).

A body's system sends its bearer token, not a browser session, so this view is exempt
from CSRF (a cross-site page cannot set an Authorization header). Answers are JSON in
Simplified Chinese, or English when the request prefers it (Accept-Language: en).
"""
from __future__ import annotations

import logging
from typing import Optional

from flask import current_app, jsonify, request
from flask_babel import force_locale, gettext as _, ngettext

from ...domain.plan_import import NotADocument, parse_document
from ...extensions import client_address, csrf
from ...services import plan_import, tokens
from ...words import plan_import as import_words
from . import bp

log = logging.getLogger(__name__)
REALM = 'Bearer realm="plan-import"'


@bp.post("/plans")
@csrf.exempt
def import_plans():
    """Import a plan document for the token's body.

    200 the summary; 400 the body is not one JSON object; 401 no, unknown or revoked
    token; 403 the document is another body's; 413 larger than PLAN_IMPORT_MAX_BYTES;
    422 refused, with every problem, and nothing changed.
    """
    with force_locale(_api_locale()):
        token = _bearer_token()
        agency = tokens.agency_for_token(token, used_from=client_address())
        if agency is None:
            return _unauthorized(token_given=bool(token))
        raw = _read_body(current_app.config["PLAN_IMPORT_MAX_BYTES"])
        if raw is None:
            return _error(413, _("The document is larger than %(limit)s bytes: split it into several imports.",
                                 limit=current_app.config["PLAN_IMPORT_MAX_BYTES"]))
        try:
            document = parse_document(raw)
        except NotADocument as error:
            return _error(400, import_words.render_not_a_document(error))
        try:
            summary = plan_import.import_plans(document, via_agency=agency)
        except plan_import.WrongAgency as error:
            return _error(403, _("This token belongs to %(token_agency)s; it cannot import plans of %(document_agency)s.",
                                 token_agency=error.token_agency, document_agency=error.document_agency))
        if not summary.accepted:
            log.info("plan import for %s refused: %d problems", agency.code, len(summary.refused))
            count = len(summary.refused)
            return jsonify(
                error=ngettext("The document was refused and nothing was changed: %(num)d problem.",
                               "The document was refused and nothing was changed: %(num)d problems.", count),
                errors=import_words.render_issues(summary.refused),
            ), 422
        return jsonify(summary.as_dict()), 200


def _api_locale() -> str:
    match = request.accept_languages.best_match(current_app.config["LANGUAGES"])
    return match or current_app.config["BABEL_DEFAULT_LOCALE"]


def _bearer_token() -> Optional[str]:
    scheme, _space, token = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def _unauthorized(*, token_given: bool):
    if token_given:
        response = _error(401, _("The API token is unknown or has been revoked."))
        response[0].headers["WWW-Authenticate"] = REALM + ', error="invalid_token"'
    else:
        response = _error(401, _("Send the body's API token as: Authorization: Bearer <token>."))
        response[0].headers["WWW-Authenticate"] = REALM
    return response


def _read_body(limit: int) -> Optional[bytes]:
    """The body, or None when it is larger than `limit`: the declared Content-Length is
    checked first, and the bytes actually read too (a chunked body declares none)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks, total = [], 0
    while True:
        chunk = request.stream.read(min(64 * 1024, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            return None


def _error(status: int, message: str):
    return jsonify(error=message), status
