"""Exception explanations (异常说明, R10): any team member writes one for a plan, at any time.

Append only: nothing here edits or deletes an explanation; a plan shows them all, newest
first, each with its author and the server time it arrived. The text is stored exactly as
typed (the limits count it after trimming); it is only ever shown escaped.

R17: one written offline comes from the phone's outbox later with its device time and
queued_offline; its action key makes a resend find the one already written (the web layer's
@idempotent is the first guard, this the second).
"""
from __future__ import annotations

import datetime as dt
from typing import Iterable, Optional, Union

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..domain import clock, offline
from ..extensions import db
from ..models import Auditor, Explanation
from .plan_access import visible_plan
from .outcomes import Refusal

MIN_CHARS = 1
MAX_CHARS = 2000
KEY_MAX = 64


def check_text(text) -> Optional[Refusal]:
    """None if the text may be stored; else why not (empty, too_long with the numbers)."""
    if not isinstance(text, str) or len(text.strip()) < MIN_CHARS:
        return Refusal("empty")
    length = len(text.strip())
    if length > MAX_CHARS:
        return Refusal("too_long", {"max": MAX_CHARS, "length": length})
    return None


def for_plans(plan_ids: Iterable[int]) -> dict[int, list[Explanation]]:
    """Each plan's explanations, newest first (by arrival on the server), with their authors."""
    ids = list(plan_ids)
    found: dict[int, list[Explanation]] = {plan_id: [] for plan_id in ids}
    if not ids:
        return found
    rows = db.session.scalars(
        select(Explanation).where(Explanation.plan_id.in_(ids))
        .options(selectinload(Explanation.author))
        .order_by(Explanation.created_at.desc(), Explanation.id.desc())
    )
    for explanation in rows:
        found[explanation.plan_id].append(explanation)
    return found


def for_plan(plan_id: int) -> list[Explanation]:
    """The plan's explanations, newest first (by arrival on the server)."""
    return for_plans([plan_id])[plan_id]


def plans_with_explanations(plan_ids) -> set[int]:
    ids = list(plan_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(Explanation.plan_id).where(Explanation.plan_id.in_(ids)).distinct()))


def add(auditor: Auditor, plan_id: int, text, *, now: dt.datetime, device_time: Optional[dt.datetime] = None,
        device_time_sent: Optional[dt.datetime] = None, queued_offline: bool = False,
        idempotency_key: Optional[str] = None) -> Union[Explanation, Refusal]:
    """Write one explanation by `auditor` for the plan (R16: only a team member; any other
    plan is "not_found"). `now` is the server's clock (aware UTC), the time of record;
    `device_time` and `device_time_sent` (UTC) are the phone's clock at writing and at
    sending, kept as evidence with the skew they imply (R17, as for check-ins)."""
    plan = visible_plan(auditor, plan_id)
    if plan is None:
        return Refusal("not_found")
    key = idempotency_key if idempotency_key and len(idempotency_key) <= KEY_MAX else None
    if key:
        earlier = db.session.scalar(select(Explanation).where(
            Explanation.author_id == auditor.id, Explanation.plan_id == plan.id, Explanation.idempotency_key == key))
        if earlier is not None:
            return earlier
    refusal = check_text(text)
    if refusal is not None:
        return refusal
    explanation = Explanation(
        plan_id=plan.id, author_id=auditor.id, text=text,
        created_at=clock.as_utc(now),
        device_time=device_time, device_time_sent=device_time_sent,
        clock_skew_s=offline.clock_skew_s(device_time_sent, now),
        queued_offline=queued_offline, idempotency_key=key,
    )
    db.session.add(explanation)
    db.session.commit()
    return explanation
