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

Two requests with the same key at once: the first to insert its claim (a record without
an answer yet; the unique (auditor, key) index lets only one in, on SQLite as on
PostgreSQL) runs the view; the others wait for its answer and replay it. A claim whose
answer is not final is released (deleted), and a waiting request then claims it in turn.
A claim left by a worker that died is taken over once it is older than CLAIM_STALE_S.

A quick view may hold its claim instead (`claim(..., hold=True)`): the claim is flushed, not
committed, and committed once with the view's writes and its answer (`answer_held`), or
deleted with the view's writes kept when the answer is not final (`release_held`). Until
then a request with the same key waits at its own claim: PostgreSQL's unique index and
SQLite's one writer hold it until the first transaction ends; it then finds the answer.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Union

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..domain import clock
from ..extensions import db
from ..models import IdempotencyRecord

KEY_MAX = 64
BODY_MAX = 200_000  # characters; a larger answer is not stored (the view's own dedupe still holds)
FINAL = frozenset({409, 422})
# How long a request waits for the first one with its key to answer: longer than any one
# request may take (a photo's decode is stopped after services.imaging's wall time).
WAIT_S = 60.0
CLAIM_STALE_S = 300.0
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


@dataclass(frozen=True)
class Claim:
    """This request's claim on its key: the id of the record without an answer yet."""

    id: int


# The claim and its answer are written as rows, not through the ORM's unit of work: every
# action sends both, and nothing reads them back as objects in the request that writes them.
_RECORDS = IdempotencyRecord.__table__
_CLAIM = insert(_RECORDS)
_ANSWER = (update(_RECORDS).where(_RECORDS.c.id == bindparam("record_id"))
           .values(status_code=bindparam("status"), headers=bindparam("headers"), body=bindparam("body")))
_RELEASE = delete(_RECORDS).where(_RECORDS.c.id == bindparam("record_id"), _RECORDS.c.status_code.is_(None))


def claim(auditor_id: int, key: str, payload: Payload, *, hold: bool = False
          ) -> tuple[Union[Claim, IdempotencyRecord, None], bool]:
    """(our new Claim, True) if this request is the first with the key; else (the record
    that holds it, False): answered, or claimed by a request still running; (None, False)
    if it was claimed and released again under our hands twice (try again). `hold`: the
    claim stays in this transaction (see the module doc)."""
    for _ in range(2):
        try:
            inserted = db.session.execute(_CLAIM, {
                "auditor_id": auditor_id, "key": key, "endpoint": payload.endpoint,
                "fingerprint": payload.fingerprint, "status_code": None, "headers": {}, "body": ""})
            ours = Claim(inserted.inserted_primary_key[0])
            if not hold:
                db.session.commit()
            return ours, True
        except IntegrityError:
            db.session.rollback()
        held = find(auditor_id, key)
        if held is None:
            continue  # released meanwhile
        if held.status_code is None and _stale(held):
            db.session.execute(delete(IdempotencyRecord).where(
                IdempotencyRecord.id == held.id, IdempotencyRecord.status_code.is_(None)))
            db.session.commit()
            continue
        return held, False
    return None, False


def _stale(record: IdempotencyRecord) -> bool:
    # The claim's stamp comes from the clock (the column's default): its age from the same.
    age = clock.now() - record.created_at
    return age.total_seconds() > CLAIM_STALE_S


def wait_for_answer(record_id: int, timeout_s: Optional[float] = None) -> Optional[IdempotencyRecord]:
    """The record once it has an answer; None if its claim was released; the record still
    without an answer if none came in time (WAIT_S unless told)."""
    deadline = time.monotonic() + (WAIT_S if timeout_s is None else timeout_s)
    pause = 0.02
    while True:
        db.session.rollback()  # a fresh snapshot each time
        record = db.session.get(IdempotencyRecord, record_id, populate_existing=True)
        if record is None or record.status_code is not None or time.monotonic() >= deadline:
            return record
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def answer(record_id: int, status: int, headers: Mapping[str, str], body: str) -> None:
    """Keep the final answer in our claim."""
    db.session.rollback()
    answer_held(Claim(record_id), status, headers, body)


def release(record_id: int) -> None:
    """Give the key back (the answer was not final): the next request with it runs."""
    db.session.rollback()
    release_held(Claim(record_id))


def answer_held(claim_: Claim, status: int, headers: Mapping[str, str], body: str) -> None:
    """Commit a held claim with its final answer and the view's writes: one transaction."""
    db.session.execute(_ANSWER, {"record_id": claim_.id, "status": status, "headers": dict(headers), "body": body})
    db.session.commit()


def release_held(claim_: Claim) -> None:
    """Commit the view's writes without the held claim (the answer was not final)."""
    db.session.execute(_RELEASE, {"record_id": claim_.id})
    db.session.commit()
