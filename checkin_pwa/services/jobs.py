"""Jobs of the console that outlive their request (a plan upload's dry run and commit, an
export): a row of a model with the columns state, phase, done, total, heartbeat_at and
outcome (PlanUpload, ExportJob) and a function of the row's id run in a thread of the
worker process that took the request, one at a time per process. State and progress are
in the row, so whichever worker answers the page's polling reads them.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Callable

from flask import Flask, current_app
from sqlalchemy import update

from ..domain import clock
from ..extensions import db

log = logging.getLogger(__name__)

# A running job writes its heartbeat at least this often (progress, or while it waits for
# its turn); one silent for much longer died with its worker process.
HEARTBEAT_SECONDS = 30
STALLED_AFTER = dt.timedelta(minutes=5)
# Jobs running at once in one worker process: each may hold a whole document in memory.
_SLOTS = threading.BoundedSemaphore(1)


def stalled(row, running: tuple[str, ...]) -> bool:
    """A job whose worker went away (restart, crash): it says nothing any more."""
    return row.state in running and clock.now() - row.heartbeat_at > STALLED_AFTER


def give_up_if_stalled(row, running: tuple[str, ...]) -> None:
    """A stalled job is failed (a commit interrupted midway was rolled back by the database)."""
    if stalled(row, running):
        model = type(row)
        db.session.execute(update(model).where(model.id == row.id, model.state == row.state)
                           .values(state="failed", phase=None, outcome={"error": "stalled"}))
        db.session.commit()
        db.session.refresh(row)


def start_job(model, row_id: int, work: Callable[[int], None], *, name: str) -> threading.Thread:
    """Run `work(row_id)` in a thread of this process (with the app's context), after the
    jobs before it; the row is failed if it raises."""
    app = current_app._get_current_object()
    thread = threading.Thread(target=_run, args=(app, model, row_id, work), name=name, daemon=True)
    thread.start()
    return thread


def _run(app: Flask, model, row_id: int, work: Callable[[int], None]) -> None:
    with app.app_context():
        try:
            while not _SLOTS.acquire(timeout=HEARTBEAT_SECONDS):
                progress(model, row_id, "waiting", 0, 0)
            try:
                work(row_id)
            finally:
                _SLOTS.release()
        except Exception:
            log.exception("%s %s: the job failed", model.__tablename__, row_id)
            db.session.rollback()
            db.session.execute(update(model).where(model.id == row_id)
                               .values(state="failed", phase=None, outcome={"error": "internal"}))
            db.session.commit()
        finally:
            db.session.remove()


def progress(model, row_id: int, phase: str, done: int, total: int) -> None:
    """Written on a connection of its own, committed at once: the job's transaction,
    still open, is not touched, and the page sees the numbers move."""
    with db.engine.begin() as connection:
        connection.execute(update(model).where(model.id == row_id)
                           .values(phase=phase, done=done, total=total, heartbeat_at=clock.now()))


