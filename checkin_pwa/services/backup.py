"""A copy of the SQLite database taken while the app serves (`flask backup DEST`), through
SQLite's online backup API: a consistent snapshot, even with check-ins being written.

A plain copy of the file (cp, rsync) is not a backup: in WAL mode the last committed
writes live in the -wal file until a checkpoint moves them into the database file, and a
copy made while a checkpoint writes is torn. The backup API reads through SQLite, so it
sees exactly the committed transactions as of its read.

The app always runs SQLite in WAL mode, where a reader never blocks writers: the copy is
made in one step, one read transaction, so it is one snapshot and writers carry on beside
it. (Copied in several steps, each step ends the read and any write in between restarts
the copy from the first page: under steady check-ins it might never finish.) A database in
rollback-journal mode, where a reader does block writers, is copied in steps of
STEP_PAGES pages with a pause between them.

The copy is written under a temporary name in the destination's folder, owner-only
(0600), switched out of WAL mode (one self-contained file), checked with
PRAGMA integrity_check and PRAGMA foreign_key_check, and only then renamed to its name.
"""
from __future__ import annotations

import datetime as dt
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from sqlalchemy import make_url
from ..domain import clock

STEP_PAGES = 256
STEP_PAUSE_S = 0.05


class BackupRefused(Exception):
    """code: not_sqlite (params: url without password), no_folder (path), same_file (path),
    no_database (path), check_failed (path, detail), io_error (path, reason)."""

    def __init__(self, code: str, **params):
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class BackupDone:
    path: Path
    size: int
    seconds: float


def sqlite_path(database_uri: str) -> Optional[Path]:
    """The file of an SQLite database URI; None for any other database."""
    url = make_url(database_uri)
    if url.get_backend_name() != "sqlite":
        return None
    return Path(url.database) if url.database and url.database != ":memory:" else None


def pg_dump_url(database_uri: str) -> str:
    """The URL pg_dump takes for the app's database (libpq's form, without the password:
    pg_dump reads it from ~/.pgpass or PGPASSWORD)."""
    url = make_url(database_uri)._replace(drivername="postgresql", password=None)  # set() keeps a None
    return url.render_as_string(hide_password=False)


def dated_name(now: dt.datetime, suffix: str = ".sqlite3") -> str:
    return clock.as_utc(now).strftime("checkin-%Y%m%dT%H%M%SZ") + suffix


def destination(dest: str, now: dt.datetime) -> Path:
    """DEST itself (an existing file is replaced once the new copy is checked), or a dated
    file name in it when DEST is a folder. DEST ending in a slash means a folder, which must
    exist (not a file named like it)."""
    path = Path(dest)
    if path.is_dir():
        return path / dated_name(now)
    if dest.endswith(os.sep):
        raise BackupRefused("no_folder", path=str(path))
    if not path.parent.is_dir():
        raise BackupRefused("no_folder", path=str(path.parent))
    return path


def backup_sqlite(source: Path, dest: str, now: dt.datetime, busy_timeout_s: float = 5.0) -> BackupDone:
    """Copy the SQLite database at `source` to `dest` (a file, or a folder for a dated name)."""
    started = time.monotonic()
    if not source.is_file():
        raise BackupRefused("no_database", path=str(source))
    target = destination(dest, now)
    if target.exists() and target.resolve() == source.resolve():
        raise BackupRefused("same_file", path=str(target))
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600))
        os.chmod(partial, 0o600)
        _copy(source, partial, busy_timeout_s)
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
        _fsync_folder(target.parent)
    except OSError as error:
        raise BackupRefused("io_error", path=str(target), reason=error.strerror or str(error)) from error
    except sqlite3.Error as error:
        raise BackupRefused("io_error", path=str(target), reason=str(error)) from error
    finally:
        for leftover in (partial, Path(f"{partial}-journal"), Path(f"{partial}-wal"), Path(f"{partial}-shm")):
            leftover.unlink(missing_ok=True)
    return BackupDone(path=target, size=target.stat().st_size, seconds=time.monotonic() - started)


def _copy(source: Path, partial: Path, busy_timeout_s: float) -> None:
    reader = sqlite3.connect(source, timeout=busy_timeout_s)
    try:
        copy = sqlite3.connect(partial)
        try:
            wal = reader.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal"
            reader.backup(copy, pages=-1 if wal else STEP_PAGES, sleep=STEP_PAUSE_S)
            copy.execute("PRAGMA journal_mode=DELETE")
            problems = check(copy)
            if problems:
                raise BackupRefused("check_failed", path=str(partial), detail=problems)
        finally:
            copy.close()
    finally:
        reader.close()


def check(connection: sqlite3.Connection) -> Optional[str]:
    """None when the database passes PRAGMA integrity_check and foreign_key_check, else what
    they said (the first lines)."""
    integrity = [row[0] for row in connection.execute("PRAGMA integrity_check").fetchmany(10)]
    if integrity != ["ok"]:
        return "integrity_check: " + "; ".join(integrity)
    dangling = connection.execute("PRAGMA foreign_key_check").fetchmany(10)
    if dangling:
        return "foreign_key_check: " + "; ".join(str(tuple(row)) for row in dangling)
    return None


def _fsync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
