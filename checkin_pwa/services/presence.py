"""When an auditor's login session was last seen online: cheap enough to note on every
request. The web layer (checkin_pwa.presence) calls note_seen at most once a minute per
session (the session cookie keeps when it last did: no database read in between); each call
is one indexed read and one small write. A session's requests less than SEEN_STRETCH_GAP
apart make one OnlineStretch row, so a day online is one or a few rows, not one per request.
domain.anomalies.late_sends reads them beside the events a session sent later."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Optional

from ..domain.anomalies import SEEN_STRETCH_GAP
from ..extensions import db
from ..models import OnlineStretch

# "last seen" is written at most this often per session.
NOTE_EVERY_S = 60


def session_ref(sid: object) -> Optional[str]:
    """A short digest of the session's id, to set rows of one session side by side without
    storing the id (which ends a session when recorded as logged out)."""
    if not isinstance(sid, str) or not sid:
        return None
    return hashlib.sha256(sid.encode()).hexdigest()[:32]


def note_seen(auditor_id: int, ref: str, now: dt.datetime) -> None:
    """The session made a request of its own at `now` (UTC): move its current
    stretch's end on, or start a new stretch after a gap. Committed."""
    session = db.session()
    # Called once the answer is made: the request's objects need no reloading after this commit.
    keep, session.expire_on_commit = session.expire_on_commit, False
    try:
        _note(auditor_id, ref, now)
    finally:
        session.expire_on_commit = keep


def _note(auditor_id: int, ref: str, now: dt.datetime) -> None:
    latest = db.session.scalar(db.select(OnlineStretch).where(OnlineStretch.session_ref == ref)
                               .order_by(OnlineStretch.last_at.desc()).limit(1))
    if latest is not None and dt.timedelta(0) <= now - latest.last_at <= SEEN_STRETCH_GAP:
        latest.last_at = now
    elif latest is None or now > latest.last_at:
        db.session.add(OnlineStretch(session_ref=ref, auditor_id=auditor_id, first_at=now, last_at=now))
    db.session.commit()

