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

import hashlib
import json
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

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


def find(auditor_id: int, key: str) -> Optional[IdempotencyRecord]:
    return db.session.scalar(
        select(IdempotencyRecord).where(IdempotencyRecord.auditor_id == auditor_id, IdempotencyRecord.key == key)
    )


def is_final(status: int) -> bool:
    return 200 <= status < 300 or status in FINAL


def store(auditor_id: int, key: str, payload: Payload, status: int, headers: Mapping[str, str],
          body: str) -> tuple[Optional[IdempotencyRecord], bool]:
    """Keep the final answer: (the record, True); if another request with this key
    stored one first: (that one, False)."""
    record = IdempotencyRecord(
        auditor_id=auditor_id, key=key, endpoint=payload.endpoint, fingerprint=payload.fingerprint,
        status_code=status, headers=dict(headers), body=body,
    )
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return find(auditor_id, key), False
    return record, True
