"""A test run killed before its teardown (a CI timeout's SIGTERM, or SIGKILL) leaves none of
the servers it started running: each one ends with the test process that started it."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from .conftest import not_here
from .servers import nginx as nginx_servers
from .servers import redis as redis_servers

ROOT = Path(__file__).resolve().parents[1]

# Each script starts one server as a test run does, prints the server's pid and port, and
# waits to be killed.
STARTS = {
    "redis": """
        from tests.servers.redis import RedisServer
        server = RedisServer()
        server.start()
        pid, port = server.proc.pid, server.port
    """,
    "moto": """
        from tests.servers.s3 import S3Server
        server = S3Server().start()
        pid, port = server.process.pid, server.port
    """,
    "nginx": """
        from tests.servers import free_port
        from tests.servers.nginx import Nginx, private_folder
        port, other = free_port(), free_port()
        site = f"server {{ listen 127.0.0.1:{port}; listen 127.0.0.1:{other}; return 204; }}\\n"
        server = Nginx(site, port, other, private_folder())
        pid = server.proc.pid
    """,
}


def gone(pid: int) -> bool:
    """No such process, or only its zombie (nothing may reap an orphan here)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.mark.parametrize("kind", sorted(STARTS))
def test_a_killed_run_leaves_no_server_running(kind):
    missing = {"redis": redis_servers.missing, "nginx": nginx_servers.missing}.get(kind, lambda: None)()
    if missing:
        not_here(missing)
    script = textwrap.dedent(STARTS[kind]) + "print(pid, port, flush=True)\nimport time\ntime.sleep(600)\n"
    run = subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                           start_new_session=True)
    pid = port = None
    try:
        pid, port = map(int, run.stdout.readline().split())
        assert accepts(port) and not gone(pid)

        run.kill()  # as a CI timeout ends a run that would not stop
        run.wait()

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (gone(pid) and not accepts(port)):
            time.sleep(0.05)
        assert gone(pid), f"the {kind} server (pid {pid}) outlived the run that started it"
        assert not accepts(port), f"port {port} still answers after the run ended"
    finally:
        for group in (run.pid, pid):  # whatever is left of this test's own processes
            if group is not None:
                try:
                    os.killpg(group, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        run.stdout.close()
