"""An auditor's writes while staff import plans: on SQLite (one writer at a time) they wait
or are kept for later; on PostgreSQL (row locks) they are written at once.

A plan import writes in one transaction; while it holds SQLite's write lock an auditor's
check-in or photo waits (the busy timeout) and, if the lock is still held then, is told
to send again later (503 with Retry-After: the phone's outbox keeps it), never a 500, and
nothing is half-written. Once the import committed, the same action goes through once.
The import here is held inside its transaction on purpose (its confirmation waits for the
test), so the lock is held for certain, however busy the machine is.
"""
from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import pytest
from sqlalchemy import event

from checkin_pwa.extensions import db
from checkin_pwa.models import AuditPlan, IdempotencyRecord, Photo
from checkin_pwa.services import plan_import

from . import factories as f
from .conftest import make_app
from .helpers import phone_of
from .test_r17_offline_server import count, events_of, jpeg, reading, replay, text

EXAMPLE = Path(__file__).parent / "data" / "plans_example.json"


@pytest.fixture
def app(tmp_path, migrated_db):
    # A short busy timeout: the held import never lets go by itself, so each write would
    # otherwise wait the production default (5 s) before it is answered.
    app = make_app(tmp_path, migrated_db, SQLITE_BUSY_TIMEOUT_MS=200)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


pytestmark = pytest.mark.usefixtures("app_context")


def a_document(plans: int) -> dict:
    """`plans` new plans of the example's body and team."""
    document = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    template = document["plans"][0]
    document["plans"] = []
    for n in range(plans):
        entry = copy.deepcopy(template)
        entry["plan_no"] = f"P-LOCK-{n:05d}"
        document["plans"].append(entry)
    return document


class HeldImport:
    """A plan import in a thread of its own, stopped inside its transaction, after its rows
    were written and before the commit (its confirmation waits): the write lock is held
    until `finish()`."""

    def __init__(self, app, document: dict) -> None:
        self.app, self.document = app, document
        self.holding, self.release = threading.Event(), threading.Event()
        self.summary, self.error = None, None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        def confirm(summary) -> bool:
            self.holding.set()
            self.release.wait()
            return True

        with self.app.app_context():
            try:
                self.summary = plan_import.import_plans(self.document, source="cli", confirm=confirm)
            except Exception as error:  # noqa: BLE001 - the test reports it
                self.error = error
            finally:
                self.holding.set()
                db.session.remove()

    def __enter__(self) -> "HeldImport":
        self.thread.start()
        assert self.holding.wait(600), "the import never reached its commit"
        assert self.error is None, self.error
        return self

    def finish(self) -> None:
        self.release.set()
        self.thread.join()
        assert self.error is None, self.error
        assert self.summary is not None and self.summary.accepted

    def __exit__(self, *exc) -> None:
        self.release.set()
        self.thread.join()


def an_auditor_with_a_plan():
    me = f.auditor()
    plan = f.plan([me])
    db.session.commit()
    return me, plan


def test_r17_a_check_in_during_a_plan_import_is_kept_for_later_and_then_written_once_on_sqlite(app):
    me, plan = an_auditor_with_a_plan()
    phone = phone_of(app, me)
    fields = reading()

    with HeldImport(app, a_document(20)) as held:
        during = replay(phone, f"/plans/{plan.id}/checkin", "k-during-import", fields)
        assert during.status_code == 503, during.status_code
        assert during.headers.get("Retry-After", "").isdigit()
        assert "服务器正忙" in text(during) and "磁盘" not in text(during)  # busy, not broken
        assert events_of(plan.id) == [] and count(IdempotencyRecord) == 0
        held.finish()

    assert count(AuditPlan) == 21  # the import went through too
    after = replay(phone, f"/plans/{plan.id}/checkin", "k-during-import", fields)
    assert after.status_code == 200 and "签到成功" in text(after)
    again = replay(phone, f"/plans/{plan.id}/checkin", "k-during-import", fields)
    assert again.status_code == 200
    assert len(events_of(plan.id)) == 1


def test_r17_a_photo_during_a_plan_import_is_kept_for_later_and_then_stored_once_on_sqlite(app):
    me, plan = an_auditor_with_a_plan()
    phone = phone_of(app, me)
    photo = jpeg()

    with HeldImport(app, a_document(20)) as held:
        during = replay(phone, f"/plans/{plan.id}/photos", "k-photo-import", {"group": "first"}, {"photo": photo})
        assert during.status_code == 503, during.status_code
        assert during.headers.get("Retry-After", "").isdigit()
        assert "服务器正忙" in text(during)
        assert count(Photo) == 0
        held.finish()

    after = replay(phone, f"/plans/{plan.id}/photos", "k-photo-import", {"group": "first"}, {"photo": photo})
    assert after.status_code in (200, 201), (after.status_code, text(after))
    assert count(Photo) == 1


def test_r17_a_check_in_and_a_photo_during_a_plan_import_are_written_at_once_on_postgresql(app):
    """PostgreSQL locks rows, not the database: the import's open transaction holds no row
    the auditor writes, so neither waits for it, and each is written once."""
    me, plan = an_auditor_with_a_plan()
    phone = phone_of(app, me)
    fields, photo = reading(), jpeg()

    with HeldImport(app, a_document(20)) as held:
        during = replay(phone, f"/plans/{plan.id}/checkin", "k-pg-import", fields)
        assert during.status_code == 200 and "签到成功" in text(during), during.status_code
        sent = replay(phone, f"/plans/{plan.id}/photos", "k-pg-photo", {"group": "first"}, {"photo": photo})
        assert sent.status_code in (200, 201), (sent.status_code, text(sent))
        held.finish()

    assert count(AuditPlan) == 21  # the import went through too
    again = replay(phone, f"/plans/{plan.id}/checkin", "k-pg-import", fields)
    assert again.status_code == 200
    assert len(events_of(plan.id)) == 1 and count(Photo) == 1


# --- how long an import holds the lock ---------------------------------------------------

def statements_under_the_lock(document: dict) -> int:
    """Statements an import sends from its first write to its commit (an executemany once)."""
    seen = {"writing": False, "statements": 0}

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            seen["writing"] = True
        if seen["writing"]:
            seen["statements"] += 1

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        summary = plan_import.import_plans(document)
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    assert summary.accepted
    return seen["statements"]


def changed(document: dict) -> dict:
    document = copy.deepcopy(document)
    for entry in document["plans"]:
        entry["remarks"] = "改期"
        entry["sites"] = [{"address": entry["sites"][0]["address"] + "（新址）"}] + entry["sites"][1:]
        entry["team"] = entry["team"][:-1]
    return document


def test_r17_an_import_holds_the_write_lock_for_a_few_statements_however_many_plans_it_has_on_sqlite(app):
    """Every plan is read and compared before the first write; then each table is written
    with a few statements for all its rows, so the time auditors' writes wait does not
    grow with the document by a statement per row."""
    f.agency()  # the example's body, already there (a new body's row is written first)
    db.session.commit()
    first = a_document(1)
    first["plans"][0]["plan_no"] = "P-FIRST"
    statements_under_the_lock(first)  # the team's accounts and the enterprise are made here
    small, large = a_document(5), a_document(60)
    for entry in large["plans"]:
        entry["plan_no"] = entry["plan_no"].replace("LOCK", "MANY")

    new_small, new_large = statements_under_the_lock(small), statements_under_the_lock(large)
    assert new_small == new_large, (new_small, new_large)
    again_small, again_large = statements_under_the_lock(changed(small)), statements_under_the_lock(changed(large))
    assert again_small == again_large, (again_small, again_large)

    db.session.expire_all()
    plan = db.session.scalar(db.select(AuditPlan).filter_by(plan_no="P-MANY-00059"))
    assert plan.remarks == "改期" and plan.sites[0].address.endswith("（新址）") and len(plan.team) == 4
    assert count(AuditPlan) == 66
