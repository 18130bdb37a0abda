"""Backups and restore as docs/deploy.md ("Backups and restore") tells an operator to do them: `flask --app wsgi
backup DEST` run as its own process while a real server takes check-ins over HTTP, then
the restore (stop, replace the file, start) and the app serving from the copy."""
from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from werkzeug.serving import make_server

from checkin_pwa import PROJECT_ROOT, create_app
from checkin_pwa.config import TestConfig
from checkin_pwa.extensions import db, limiter
from checkin_pwa.services.backup import pg_dump_url

from . import factories as f
from .helpers import HttpPhone
from .servers.postgres import program

# About ten check-ins a second here; the backup's own process takes a few seconds to start.
WRITERS = 3
PLANS_EACH = 80


def app_on(url: str, tmp_path: Path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=url, PHOTO_STORAGE_DIR=str(tmp_path / "photos"),
                     EXPORT_DIR=str(tmp_path / "exports"))
    limiter.reset()
    return app


class Server:
    """The app on a free loopback port, in a thread, until stop()."""

    def __init__(self, app):
        self.app = app
        self.http = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        self.thread = threading.Thread(target=self.http.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.http.shutdown()
        self.thread.join(timeout=30)
        with self.app.app_context():
            db.engine.dispose()


def flask(*args: str, database: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`flask --app wsgi ARGS` as the operator runs it, in a process of its own."""
    env = {**os.environ, "APP_ENV": "development", "DATABASE_URL": database, "SECRET_KEY": "backup-test",
           "PHOTO_STORAGE_DIR": str(tmp_path / "photos"), "EXPORT_DIR": str(tmp_path / "exports")}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=PROJECT_ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def check_in(phone: HttpPhone, plan_id: int) -> bool:
    token = phone.token(f"/plans/{plan_id}/checkin")
    moment = str(int(time.time() * 1000))
    status, body = phone.request(f"/plans/{plan_id}/checkin", headers={"HX-Request": "true"}, fields={
        "csrf_token": token, "device_lat": str(f.SITE[0]), "device_lon": str(f.SITE[1]), "device_accuracy": "10",
        "device_time": moment, "device_position_time": moment, "idempotency_key": uuid.uuid4().hex})
    return status == 200 and "签到成功" in body


class Writers:
    """Auditors checking in on their plans one after another, each from its own thread,
    until stopped: `done` holds (plan id, monotonic time the answer came) of each check-in
    the server answered as signed; `failed` any other answer."""

    def __init__(self, url: str, teams: list[tuple[str, list[int]]]):
        self.done: list[tuple[int, float]] = []
        self.failed: list[int] = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(url, phone, plans), daemon=True)
                        for phone, plans in teams]
        for thread in self.threads:
            thread.start()

    def _run(self, url, phone_number, plans):
        phone = HttpPhone(url, phone_number)
        for plan_id in plans:
            if self.stopping.is_set():
                return
            if check_in(phone, plan_id):
                self.done.append((plan_id, time.monotonic()))
            else:
                self.failed.append(plan_id)

    def wait_for(self, count: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while len(self.done) < count:
            assert not self.failed, f"check-ins refused: {self.failed}"
            assert time.monotonic() < deadline, f"only {len(self.done)} check-ins in {timeout} s"
            assert any(thread.is_alive() for thread in self.threads), "the writers ran out of plans"
            time.sleep(0.05)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=120)


def build_database(url: str, tmp_path: Path, writers: int = WRITERS, plans: int = PLANS_EACH
                   ) -> list[tuple[str, list[int]]]:
    """A migrated database with `writers` auditors, each on `plans` plans of today."""
    app = app_on(url, tmp_path)
    with app.app_context():
        upgrade()
        teams = []
        for _ in range(writers):
            person = f.auditor()
            teams.append((person.phone, [f.plan([person]).id for _ in range(plans)]))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return teams


def signed_plans(url: str) -> set[int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return set(connection.scalars(sa.text("SELECT plan_id FROM check_event WHERE kind = 'in'")))
    finally:
        engine.dispose()


def back_up_while_checking_in(url: str, tmp_path: Path, teams, back_up):
    """The app serving `url` while the writers check in; back_up() runs once ten check-ins
    are in, and ten more come after it. Returns the plans whose check-in was answered before
    the backup began, and what back_up returned."""
    server = Server(app_on(url, tmp_path))
    writers = Writers(server.url, teams)
    try:
        writers.wait_for(10)
        began = time.monotonic()
        committed_before = {plan for plan, answered in writers.done if answered < began}
        result = back_up()
        ended = time.monotonic()
        writers.wait_for(len(writers.done) + 10)  # the server kept taking check-ins after it
    finally:
        writers.stop()
        server.stop()
    assert not writers.failed  # no check-in waited out or was refused while the copy was made
    assert any(answered > ended for _, answered in writers.done)
    assert len(committed_before) >= 10
    return committed_before, result


def serves_the_restored_copy(url: str, tmp_path: Path, teams) -> None:
    """An auditor logs in on the restored database, sees their plans and checks in again."""
    server = Server(app_on(url, tmp_path))
    try:
        phone_number, plans = teams[0]
        phone = HttpPhone(server.url, phone_number)
        status, page = phone.request("/")
        assert status == 200 and 'name="password"' not in page
        assert f'href="/plans/{plans[-1]}"' in page
        assert check_in(phone, plans[-1])
    finally:
        server.stop()
    assert plans[-1] in signed_plans(url)


def test_backup_while_check_ins_are_written_then_restore_keeps_every_committed_one_on_sqlite(tmp_path):
    database = tmp_path / "var" / "checkin.sqlite3"
    database.parent.mkdir()
    url = f"sqlite:///{database}"
    teams = build_database(url, tmp_path)
    backups = tmp_path / "backups"
    backups.mkdir()

    committed_before, result = back_up_while_checking_in(
        url, tmp_path, teams, lambda: flask("backup", str(backups), database=url, tmp_path=tmp_path))

    assert result.returncode == 0, result.stderr
    [copy] = backups.iterdir()  # one dated file; no temporary file left behind
    assert copy.name.startswith("checkin-") and copy.name.endswith("Z.sqlite3")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert f"备份已写入：{copy}" in result.stdout
    assert "照片不在数据库中" in result.stdout

    # Restore: the app is stopped; the database and its -wal/-shm files are replaced by the copy.
    for stale in database.parent.glob("checkin.sqlite3*"):
        stale.unlink()
    shutil.copyfile(copy, database)
    database.chmod(0o600)
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    assert committed_before <= signed_plans(url)  # every check-in answered before the backup began
    serves_the_restored_copy(url, tmp_path, teams)


def test_a_plain_copy_of_the_database_file_misses_the_check_ins_still_in_its_wal_on_sqlite(tmp_path):
    """Why the backup goes through SQLite: in WAL mode a committed check-in is in the -wal
    file until a checkpoint copies it into the database file, so `cp checkin.sqlite3` made
    while the app runs loses it (and copying the -wal beside it races the checkpoint)."""
    database = tmp_path / "checkin.sqlite3"
    url = f"sqlite:///{database}"
    [(phone_number, plans)] = build_database(url, tmp_path, writers=1, plans=2)
    server = Server(app_on(url, tmp_path))
    try:
        phone = HttpPhone(server.url, phone_number)
        with sqlite3.connect(database) as connection:  # the WAL starts empty
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        assert check_in(phone, plans[0]) and check_in(phone, plans[1])
        shutil.copyfile(database, tmp_path / "plain-copy.sqlite3")
        result = flask("backup", str(tmp_path / "backup.sqlite3"), database=url, tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
    finally:
        server.stop()
    assert signed_plans(f"sqlite:///{tmp_path / 'plain-copy.sqlite3'}").isdisjoint({plans[0], plans[1]})
    assert {plans[0], plans[1]} <= signed_plans(f"sqlite:///{tmp_path / 'backup.sqlite3'}")


# --- the command's answers ---------------------------------------------------------------

def test_backup_to_a_file_replaces_it_only_with_a_checked_copy_and_says_so_in_english_on_sqlite(app_context, app, runner, tmp_path):
    person = f.auditor()
    f.plan([person])
    db.session.commit()
    target = tmp_path / "nightly.sqlite3"
    target.write_bytes(b"yesterday's copy")
    result = runner.invoke(args=["backup", "--lang", "en", str(target)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Backup written: {target} (")
    assert "integrity and foreign keys checked." in result.stdout
    assert "Photos are not in the database: back up the photo store as well (docs/deploy.md, Backups and restore)." in result.stdout
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    with sqlite3.connect(target) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # one self-contained file
        assert connection.execute("SELECT phone FROM auditor").fetchall() == [(person.phone,)]
    assert sorted(path.name for path in tmp_path.iterdir() if path.name.startswith(".")) == []


@pytest.mark.parametrize("dest, message", [
    ("missing/folder/copy.sqlite3", "文件夹 {tmp}/missing/folder 不存在。"),
    ("backups/", "文件夹 {tmp}/backups 不存在。"),  # not a file named backups
    ("checkin.sqlite3", "{tmp}/checkin.sqlite3 就是数据库本身：请指定另一个文件名或文件夹。"),
])
def test_backup_refuses_a_destination_it_cannot_use_in_one_line_on_sqlite(app_context, app, runner, tmp_path, dest, message):
    result = runner.invoke(args=["backup", f"{tmp_path}/{dest}"])
    assert result.exit_code == 1
    assert result.stderr.strip() == message.format(tmp=tmp_path)
    assert "Traceback" not in result.output


def test_a_copy_failing_its_foreign_key_check_is_not_kept_on_sqlite(app_context, app, runner, tmp_path):
    """A database written with foreign keys off at some point (a hand edit, an old tool) holds
    a team place of a plan that does not exist: the copy says so and is not kept."""
    database = Path(sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    with sqlite3.connect(database) as connection:
        connection.execute("PRAGMA foreign_keys=OFF")
        person = connection.execute("INSERT INTO auditor (phone, name, id_type, password_hash, must_change_password, "
                                    "session_version, created_at, disabled) VALUES ('13900009999', '甲', 'id_card', "
                                    "'x', 0, 0, '2026-11-29 00:00:00', 0)").lastrowid
        connection.execute("INSERT INTO team_member (plan_id, auditor_id, role, position) VALUES (424242, ?, "
                           "'leader', 0)", (person,))
    target = tmp_path / "copies" / "nightly.sqlite3"
    target.parent.mkdir()
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 1
    assert result.stderr.startswith("副本未通过检查，未予保留：foreign_key_check: ('team_member', 1, 'audit_plan', 0)")
    assert list(target.parent.iterdir()) == []  # neither the copy nor its temporary file


def test_backup_on_postgresql_points_at_pg_dump_on_postgresql(empty_database_url, tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=empty_database_url, PHOTO_STORAGE_DIR=str(tmp_path / "photos"))
    result = app.test_cli_runner().invoke(args=["backup", "--lang", "en", str(tmp_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith("The database is PostgreSQL: back it up with its own tool, for example "
                                    f"pg_dump --format=custom --file={tmp_path}/checkin-")
    assert ".dump 'postgresql://" in result.stderr and result.stderr.endswith("' (docs/deploy.md, Backups and restore).\n")


def test_pg_dump_while_check_ins_are_written_then_pg_restore_keeps_every_committed_one_on_postgresql(
        postgres_server, empty_database_url, tmp_path):
    """The PostgreSQL steps of docs/deploy.md: pg_dump --format=custom while the server takes
    check-ins, then the restore into a new database of the same name (the old one renamed
    aside) with pg_restore --exit-on-error --single-transaction."""
    pg_dump, pg_restore = program("pg_dump"), program("pg_restore")
    assert pg_dump and pg_restore, "Debian's postgresql-client (pg_dump, pg_restore) is missing"
    url = empty_database_url
    teams = build_database(url, tmp_path)
    dump = tmp_path / "checkin.dump"

    committed_before, done = back_up_while_checking_in(url, tmp_path, teams, lambda: subprocess.run(
        [pg_dump, "--format=custom", f"--file={dump}", pg_dump_url(url)], capture_output=True, text=True,
        timeout=300))

    assert done.returncode == 0, done.stderr
    name = sa.make_url(url).database
    postgres_server.execute(f'ALTER DATABASE "{name}" RENAME TO "{name}_before_restore"')
    try:
        postgres_server.create(name=name)
        done = subprocess.run([pg_restore, "--exit-on-error", "--single-transaction", "--no-owner",
                               f"--dbname={pg_dump_url(url)}", str(dump)], capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert committed_before <= signed_plans(url)
        serves_the_restored_copy(url, tmp_path, teams)
    finally:
        postgres_server.drop(f"{name}_before_restore")


@pytest.mark.parametrize("database, command_line", [
    ("postgresql+psycopg://checkin:s3cret@10.0.0.10:5432/checkin", "postgresql://checkin@10.0.0.10:5432/checkin"),
    ("postgresql+psycopg://checkin@/checkin?host=/var/run/postgresql",
     "postgresql://checkin@/checkin?host=%2Fvar%2Frun%2Fpostgresql"),
])
def test_the_pg_dump_command_names_the_database_without_its_password(database, command_line):
    assert pg_dump_url(database) == command_line
