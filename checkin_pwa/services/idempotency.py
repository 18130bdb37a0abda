"""R17 exactly once: an action key per auditor, with the answer the server gave to it.

The phone's outbox sends an action (check-in, check-out, one photo) again until it gets an
answer it can act on. Each action carries a key made on the phone (header `Idempotency-Key`
or form field `idempotency_key`). Per auditor:
- a key never seen: the view runs; a final answer (2xx, 409, 422) is stored with the
  fingerprint of the payload;
- the same key and the same payload: the stored answer again, nothing run, nothing written;
- the same key and another payload: 422, nothing run (a phone bug or a tampered replay);
- another auditor's key is another namespace.
Answers that are not final are never stored: 5xx (may pass on retry), 400 (an expired form,
renewed and retried), 401 (log in again), redirects, and what the view marks as a question
(`not_final()`: e.g. "far from the planned address, confirm?").

Two identical requests at once both run the view (its own writes are exactly-once: the
check-in's key on its events, the photo's SHA-256 in its group); only one answer is stored
(the unique (auditor, key) index), and the loser answers the winner's stored answer.
"""
from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from typing import Iterable, Optional

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import IdempotencyRecord

KEY_MAX = 64
BODY_MAX = 200_000  # characters; a larger answer is not stored (the view's own dedupe still holds)
FINAL = frozenset({409, 422})
# Transport, not payload: the CSRF token, the phone clock at sending, the key itself, and
# whether it went through the outbox (a first try that timed out, replayed by the outbox,
# is the same action).
IGNORED_FIELDS = frozenset({"csrf_token", "device_time_sent", "idempotency_key", "queued_offline"})
KEPT_HEADERS = ("Content-Type", "HX-Trigger", "HX-Redirect", "Location")
REPLAY_HEADER = "Idempotent-Replayed"


@dataclass(frozen=True)
class Payload:
    endpoint: str
    fingerprint: str


def fingerprint(path: str, fields: Iterable[tuple[str, str]], files: Iterable[tuple[str, str]]) -> str:
    """SHA-256 of the canonical payload: the path, the sorted fields (less the transport
    ones) and each file's field name with the SHA-256 of its bytes."""
    canonical = {
        "path": path,
        "fields": sorted([name, value] for name, value in fields if name not in IGNORED_FIELDS),
        "files": sorted([name, digest] for name, digest in files),
    }
    return hashlib.sha256(json.dumps(canonical, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def _file_digests():
    for name, storage in request.files.items(multi=True):
        digest = hashlib.sha256()
        stream = storage.stream
        for chunk in iter(lambda: stream.read(1 << 16), b""):
            digest.update(chunk)
        stream.seek(0)
        yield name, digest.hexdigest()


def request_key() -> Optional[str]:
    """The action key of this request: the header first, then the form field; "" if none."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        key = request.form.get("idempotency_key", "")
    return key.strip()


def request_payload() -> Payload:
    return Payload(request.endpoint or request.path,
                   fingerprint(request.path, request.form.items(multi=True), list(_file_digests())))


def find(auditor_id: int, key: str) -> Optional[IdempotencyRecord]:
    return db.session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.auditor_id == auditor_id, IdempotencyRecord.key == key)
    )


def is_final(status: int) -> bool:
    return 200 <= status < 300 or status in FINAL


def store(auditor_id: int, key: str, payload: Payload, response) -> tuple[Optional[IdempotencyRecord], bool]:
    """Keep the final answer: (the record, True); if another request with this key
    stored one first: (that one, False)."""
    body = response.get_data(as_text=True)
    record = IdempotencyRecord(
        auditor_id=auditor_id, key=key, endpoint=payload.endpoint, fingerprint=payload.fingerprint,
        status_code=response.status_code,
        headers={name: response.headers[name] for name in KEPT_HEADERS if name in response.headers},
        body=body,
    )
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return find(auditor_id, key), False
    return record, True


def replay(record: IdempotencyRecord):
    response = current_app.response_class(record.body, status=record.status_code)
    for name, value in (record.headers or {}).items():
        response.headers[name] = value
    response.headers[REPLAY_HEADER] = "true"
    return response


def refuse(message: str):
    """422 with the reason where the outbox looks for it ([role=alert])."""
    body = f'<p class="error" role="alert" data-idempotency-refused>{_escape(message)}</p>'
    return current_app.response_class(body, status=422, mimetype="text/html")


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def not_final() -> None:
    """Called by a view whose answer is a question, not an outcome: it is not stored, and
    the same key may come again with the answer (e.g. confirm=1)."""
    g.idempotency_not_final = True


def idempotent(view):
    """Exactly once per (auditor, key) for a state-changing POST; put it under
    @login_required. Requests without a key run as before."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if request.method != "POST" or not current_user.is_authenticated:
            return view(*args, **kwargs)
        key = request_key()
        if not key:
            return view(*args, **kwargs)
        if len(key) > KEY_MAX:
            return refuse(_("The action key sent by the phone is too long (at most %(max)s characters). Nothing was saved.", max=KEY_MAX))
        payload = request_payload()
        earlier = find(current_user.id, key)
        if earlier is not None:
            return _answer(earlier, payload)
        g.idempotency_not_final = False
        response = current_app.make_response(view(*args, **kwargs))
        if g.get("idempotency_not_final") or not is_final(response.status_code) or response.direct_passthrough:
            return response
        if len(response.get_data(as_text=True)) > BODY_MAX:
            return response
        record, ours = store(current_user.id, key, payload, response)
        if record is not None and not ours:
            return _answer(record, payload)  # another request with this key answered first
        return response

    return wrapper


def _answer(record: IdempotencyRecord, payload: Payload):
    if record.fingerprint != payload.fingerprint:
        return refuse(_("This action key was already used for a different action. Nothing was saved; "
                        "make the action again on its page."))
    return replay(record)
