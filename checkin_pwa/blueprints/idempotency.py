"""The web half of exactly-once (R17): reads the action key and payload off the request,
answers a replay from the stored answer, and wraps the views. The rules and the records
are services.idempotency's."""
from __future__ import annotations

import functools
import hashlib
from typing import Optional

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user

from ..extensions import db
from ..htmx import refusal
from ..models import IdempotencyRecord
from ..services import idempotency
from ..services.idempotency import Payload

KEPT_HEADERS = ("Content-Type", "HX-Trigger", "HX-Redirect", "Location")
REPLAY_HEADER = "Idempotent-Replayed"


def _file_digests():
    for name, storage in request.files.items(multi=True):
        digest = hashlib.sha256()
        stream = storage.stream
        for chunk in iter(lambda: stream.read(1 << 16), b""):
            digest.update(chunk)
        stream.seek(0)
        yield name, digest.hexdigest()


def request_key() -> str:
    """The action key of this request: the header first, then the form field; "" if none."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        key = request.form.get("idempotency_key", "")
    return key.strip()


def request_payload() -> Payload:
    return Payload(request.endpoint or request.path,
                   idempotency.fingerprint(request.path, request.form.items(multi=True), list(_file_digests())))


def replay(record: IdempotencyRecord):
    response = current_app.response_class(record.body, status=record.status_code)
    for name, value in (record.headers or {}).items():
        response.headers[name] = value
    response.headers[REPLAY_HEADER] = "true"
    return response


def refuse(message: str):
    """422 with the reason where the outbox looks for it ([role=alert])."""
    return refusal(message, 422, mark="idempotency-refused")


def not_yours():
    """409 for an outbox entry recorded as made by another auditor than the session's: nothing
    runs; the outbox keeps the entry for its author (data-outbox-not-yours)."""
    message = _("This was saved on this phone by another auditor, not by %(name)s who is logged in now. "
                "Nothing was saved; it stays on the phone until the auditor who made it logs in.",
                name=current_user.name)
    return refusal(message, 409, mark="outbox-not-yours")


def not_final() -> None:
    """Called by a view whose answer is a question, not an outcome: it is not stored, and
    the same key may come again with the answer (e.g. confirm=1)."""
    g.idempotency_not_final = True


def idempotent(view=None, *, one_transaction: bool = False):
    """Exactly once per (auditor, key) for a state-changing POST; put it under
    @login_required. Requests without a key run as before. A replay whose recorded author
    is not the session's auditor is refused before anything runs.

    `one_transaction=True`, for a quick view that leaves its writes to be committed: the
    claim, the view's writes and the stored answer are committed together, once
    (services.idempotency's module doc); without a key the view's writes are committed
    after it answers. Otherwise the claim is committed before the view runs and the answer
    after it (a view that commits its own work, e.g. a photo's)."""
    if view is None:
        return functools.partial(idempotent, one_transaction=one_transaction)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if request.method != "POST" or not current_user.is_authenticated:
            return view(*args, **kwargs)
        author = request.htmx.outbox_author
        if author is not None and author.strip() != str(current_user.id):
            return not_yours()
        key = request_key()
        if not key:
            return _run_and_commit(view, args, kwargs) if one_transaction else view(*args, **kwargs)
        if len(key) > idempotency.KEY_MAX:
            return refuse(_("The action key sent by the phone is too long (at most %(max)s characters). Nothing was saved.", max=idempotency.KEY_MAX))
        payload = request_payload()
        for _attempt in range(3):
            record, ours = idempotency.claim(current_user.id, key, payload, hold=one_transaction)
            if ours:
                if one_transaction:
                    return _run_held(record, view, args, kwargs)
                return _run_once(record.id, payload, view, args, kwargs)
            if record is None:
                continue
            if record.fingerprint != payload.fingerprint:
                return _answer(record, payload)
            if record.status_code is None:
                # The first request with this key is still running: its answer is ours.
                record = idempotency.wait_for_answer(record.id)
                if record is None:
                    continue  # its answer was not final: this one runs in its turn
                if record.status_code is None:
                    break
            return _answer(record, payload)
        return busy()

    return wrapper


def _final_body(response) -> Optional[str]:
    """The body to keep as the answer, or None: the answer is not final, or too large."""
    if (g.get("idempotency_not_final") or not idempotency.is_final(response.status_code)
            or response.direct_passthrough):
        return None
    body = response.get_data(as_text=True)
    return body if len(body) <= idempotency.BODY_MAX else None


def _kept_headers(response) -> dict:
    return {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}


def _run_once(record_id: int, payload: Payload, view, args, kwargs):
    """Run the view under our claim; keep its answer if it is final, else give the key back."""
    g.idempotency_not_final = False
    try:
        response = current_app.make_response(view(*args, **kwargs))
    except BaseException:
        try:
            idempotency.release(record_id)
        except Exception:  # the database itself failed: the claim goes stale and is taken over
            current_app.logger.warning("action key not released", exc_info=True)
        raise
    body = _final_body(response)
    if body is None:
        idempotency.release(record_id)
        return response
    idempotency.answer(record_id, response.status_code, _kept_headers(response), body)
    return response


def _run_held(claim: idempotency.Claim, view, args, kwargs):
    """Run the view under our held claim; commit its writes once, with its answer if final."""
    g.idempotency_not_final = False
    try:
        response = current_app.make_response(view(*args, **kwargs))
    except BaseException:
        db.session.rollback()  # the claim and anything the view wrote
        raise
    body = _final_body(response)
    if body is None:
        idempotency.release_held(claim)
    else:
        idempotency.answer_held(claim, response.status_code, _kept_headers(response), body)
    return response


def _run_and_commit(view, args, kwargs):
    try:
        response = current_app.make_response(view(*args, **kwargs))
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    return response


def busy():
    """503 (the outbox sends it again later): the first request with this key has not
    answered in time."""
    message = _("This action is still being saved. It will be sent again shortly.")
    response = refusal(message, 503)
    response.headers["Retry-After"] = "5"
    return response


def _answer(record: IdempotencyRecord, payload: Payload):
    if record.fingerprint != payload.fingerprint:
        return refuse(_("This action key was already used for a different action. Nothing was saved; "
                        "make the action again on its page."))
    return replay(record)
