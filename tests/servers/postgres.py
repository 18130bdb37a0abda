"""A real PostgreSQL server of the test run's own: initdb into a temporary folder, a Unix
socket there and a private loopback port, started with pg_ctl and stopped at the end.

PostgreSQL refuses to run as root, so as root (CI) every server program runs as Debian's
`postgres` user (runuser). Durability is switched off (fsync, synchronous commit): the data
lives as long as the run, and a test database is made in milliseconds from a template.
"""
from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import free_port

# root's programs (runuser) live in sbin folders that a bare PATH may leave out.
SYSTEM_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])
USER = "checkin"  # the superuser initdb makes; trusted on the socket and loopback only


class NotAvailable(Exception):
    """PostgreSQL or its driver is not installed here (the caller skips, or fails in CI)."""


def program(name: str) -> str | None:
    """Debian keeps PostgreSQL's server programs off PATH, under its versioned folder."""
    found = shutil.which(name)
    if found:
        return found
    versions = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    return str(versions[-1]) if versions else None


class PostgresServer:
    """One running server; `url(name)` for SQLAlchemy, `create`/`drop` for databases."""

    def __init__(self, home: Path, initdb: str, pg_ctl: str, as_root: bool):
        self.home = home
        self.data = home / "data"
        self.log = home / "log"
        self.port = free_port()
        self._initdb, self._pg_ctl, self._as_root = initdb, pg_ctl, as_root
        self._names = itertools.count(1)
        self.options = (f"-k {home} -c listen_addresses=127.0.0.1 -p {self.port} -c fsync=off "
                        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=300")

    # --- the server process ------------------------------------------------------------

    def _run(self, *command: str, timeout: float = 120) -> None:
        if self._as_root:
            runuser = shutil.which("runuser", path=SYSTEM_PATH) or "runuser"
            command = (runuser, "-u", "postgres", "--", *command)
        # No pipes: the server pg_ctl starts would hold them open, and the wait never end.
        done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, timeout=timeout)
        if done.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"{command} failed ({done.returncode}):\n{log}")

    def start(self) -> None:
        self._run(self._initdb, "-D", str(self.data), "-A", "trust", "-U", USER, "--no-sync",
                  "-E", "UTF8", "--locale=C.UTF-8")
        self._run(self._pg_ctl, "-D", str(self.data), "-o", self.options, "-l", str(self.log), "-w", "start")
        self._watch(os.getpid())

    def _watch(self, owner: int) -> None:
        """A run killed before its teardown (a timeout's SIGTERM, SIGKILL) leaves no server
        behind: a small shell waits for the test process to end, then stops it."""
        stop = " ".join(["runuser", "-u", "postgres", "--"] if self._as_root else [])
        script = (f"while kill -0 {owner} 2>/dev/null && [ -d '{self.data}' ]; do sleep 2; done; "
                  f"[ -d '{self.data}' ] && {stop} '{self._pg_ctl}' -D '{self.data}' -m immediate -w stop; "
                  f"rm -rf '{self.home}'")
        subprocess.Popen(["sh", "-c", script], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True,
                         env={**os.environ, "PATH": SYSTEM_PATH})

    def restart(self) -> None:
        """A real restart (fast shutdown): every open connection is cut."""
        self._run(self._pg_ctl, "-D", str(self.data), "-o", self.options, "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        try:
            self._run(self._pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=60)
        finally:
            shutil.rmtree(self.home, ignore_errors=True)

    # --- databases ---------------------------------------------------------------------

    def url(self, database: str = "postgres", tcp: bool = False) -> str:
        """SQLAlchemy's URL of one database, over the Unix socket (or the loopback port)."""
        if tcp:
            return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"
        return f"postgresql+psycopg://{USER}@/{database}?host={self.home}&port={self.port}"

    def execute(self, statement: str) -> None:
        """One statement on the maintenance database, outside a transaction (CREATE DATABASE)."""
        import psycopg

        with psycopg.connect(host=str(self.home), port=self.port, user=USER, dbname="postgres",
                             autocommit=True) as connection:
            connection.execute(statement)

    def create(self, template: str | None = None, name: str | None = None) -> str:
        """A new database (empty, or a copy of `template`); returns its name."""
        name = name or f"test_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return name

    def drop(self, name: str) -> None:
        """Gone, with any connection a test left open to it."""
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start() -> PostgresServer:
    """A new server in a new temporary folder; NotAvailable when this machine lacks one."""
    try:
        import psycopg  # noqa: F401
    except ImportError as missing:
        raise NotAvailable("psycopg is not installed (requirements-postgres.txt)") from missing
    initdb, pg_ctl = program("initdb"), program("pg_ctl")
    if not (initdb and pg_ctl):
        raise NotAvailable("PostgreSQL's initdb and pg_ctl are not installed (Debian's postgresql)")
    as_root = os.geteuid() == 0
    if as_root:
        try:
            import pwd

            pwd.getpwnam("postgres")
        except KeyError as missing:
            raise NotAvailable("running as root, and there is no postgres user to run PostgreSQL as") from missing
    # Outside pytest's folders (only root may enter those); a short path for the socket.
    home = Path(tempfile.mkdtemp(prefix="checkin-pg-"))
    if as_root:
        shutil.chown(home, "postgres")
    server = PostgresServer(home, initdb, pg_ctl, as_root)
    try:
        server.start()
    except BaseException:
        shutil.rmtree(home, ignore_errors=True)
        raise
    return server
