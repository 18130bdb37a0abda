"""The systemd units in deploy/ run commands the app has, with files the checkout has: a
renamed command or option fails here, not at 03:30 on a server."""
from __future__ import annotations

import configparser
import os
import shlex
import subprocess
from pathlib import Path

import click
import pytest
from sqlalchemy import make_url

from checkin_pwa import create_app
from checkin_pwa.config import TestConfig

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "deploy" / "systemd"
CHECKOUT = "/srv/checkin/app/"


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser


def jobs() -> list[Path]:
    return sorted(p for p in UNITS.glob("checkin-*.service"))


def exec_start(path: Path) -> str:
    return unit(path)["Service"]["ExecStart"]


def flask_jobs() -> list[Path]:
    return [p for p in jobs() if shlex.split(exec_start(p))[0].endswith("/flask")]


def test_every_timer_starts_a_job_unit_and_every_job_has_a_timer():
    timers = {p.stem for p in UNITS.glob("*.timer")}
    assert timers == {p.stem for p in jobs()}
    assert {"checkin-sweep-photos", "checkin-remind-verifications"} <= timers
    for name in timers:
        assert unit(UNITS / f"{name}.timer")["Timer"]["OnCalendar"]


@pytest.mark.parametrize("path", flask_jobs(), ids=lambda p: p.stem)
def test_each_jobs_command_is_one_the_app_has_with_options_it_takes(path, tmp_path):
    app = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    argv = shlex.split(exec_start(path))
    assert argv[:3] == ["/srv/checkin/venv/bin/flask", "--app", "wsgi"]
    group = app.cli
    with click.Context(group) as ctx:
        command = group.get_command(ctx, argv[3])
        assert command is not None, f"{path.name}: flask has no command {argv[3]!r}"
        # Parsing checks the options and arguments without running the command.
        command.make_context(argv[3], list(argv[4:]), parent=ctx)


def test_the_web_service_runs_gunicorn_with_the_checkouts_config_file():
    argv = shlex.split(unit(UNITS / "checkin.service")["Service"]["ExecStart"])
    assert argv[0] == "/srv/checkin/venv/bin/gunicorn" and argv[-1] == "wsgi:app"
    config = argv[argv.index("-c") + 1]
    assert config.startswith(CHECKOUT) and (ROOT / config.removeprefix(CHECKOUT)).is_file()


def test_the_pg_dump_job_writes_a_dump_that_pg_restore_reads_on_postgresql(postgres_server, migrated_db, tmp_path):
    """The unit's own command (systemd's %% and $$ undone, the folder a temporary one) against
    the run's PostgreSQL server, as its checkin user would run it over the local socket."""
    url = make_url(migrated_db.new_url(tmp_path))
    argv = shlex.split(exec_start(UNITS / "checkin-pg-dump.service"))
    assert argv[:2] == ["/bin/sh", "-ec"]
    script = argv[2].replace("%%", "%").replace("$$", "$").replace("/var/backups/checkin", str(tmp_path))
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PGHOST": url.query["host"], "PGPORT": url.query["port"],
           "PGUSER": url.username, "PGDATABASE": url.database}
    done = subprocess.run(["/bin/sh", "-ec", script], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    [dump] = tmp_path.glob("checkin-*.dump")
    assert f"backup written: {dump}" in done.stdout
    listing = subprocess.run(["pg_restore", "--list", str(dump)], capture_output=True, text=True, check=True).stdout
    assert "TABLE DATA public check_event" in listing and "TABLE DATA public photo" in listing


def _gunicorn_settings(argv: list[str], env: dict, one_core: bool = False) -> dict[str, str]:
    # On one core (taskset), where gunicorn.conf.py's default would be one worker.
    pin = ["taskset", "-c", "0"] if one_core else []
    printed = subprocess.run([*pin, str(ROOT / ".venv" / "bin" / "gunicorn"), *argv, "--print-config", "wsgi:app"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True).stdout
    return dict(line.split(" = ", 1) for line in printed.splitlines() if " = " in line)


def test_make_run_keeps_its_shape_through_gunicorn_conf():
    """`make run` serves on 127.0.0.1:8000 with two workers of four threads whatever the
    machine, as before gunicorn.conf.py; a server's settings come from its environment."""
    [line] = [line for line in (ROOT / "Makefile").read_text().splitlines() if "/gunicorn " in line]
    argv = shlex.split(line.replace("$(BIN)/gunicorn", ""))[:-1]  # without wsgi:app
    assert argv[:2] == ["-c", "gunicorn.conf.py"]
    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    settings = {k.strip(): v.strip() for k, v in _gunicorn_settings(argv, base, one_core=True).items()}
    assert (settings["bind"], settings["workers"], settings["threads"], settings["worker_class"]) == (
        "['127.0.0.1:8000']", "2", "4", "gthread")
    served = {k.strip(): v.strip() for k, v in _gunicorn_settings(
        ["-c", "gunicorn.conf.py"],
        {**base, "GUNICORN_BIND": "10.0.0.21:8000", "WEB_CONCURRENCY": "3", "TRUSTED_PROXIES": "10.0.0.5, 10.0.0.6"},
    ).items()}
    assert (served["bind"], served["workers"], served["forwarded_allow_ips"]) == (
        "['10.0.0.21:8000']", "3", "['10.0.0.5', '10.0.0.6']")
