"""Real servers the tests start on their own: private loopback ports and Unix sockets in
temporary folders, stopped at the end of the run, or by the kernel when the run is killed
before its teardown (see `dies_with_run`)."""

import ctypes
import os
import signal
import socket
import threading

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_libc = ctypes.CDLL(None, use_errno=True)


def free_port() -> int:
    """A loopback port no one listens on now, for a server about to start."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def dies_with_run():
    """A `preexec_fn` for every server's Popen: the kernel sends the server SIGTERM when the
    test process ends, however it ends (a timeout's SIGTERM, SIGKILL), so nothing is left
    running after a killed run. The signal is set in the child, kept across exec, and fires
    when the thread that started the child exits: only the main thread, which lives as long
    as the run, may start servers. pg_ctl daemonizes its server, so PostgreSQL needs its
    own watcher (postgres.py)."""
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("start test servers from the main thread: they would stop when this thread ends")
    parent = os.getpid()

    def in_child() -> None:
        if _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
        if os.getppid() != parent:  # the run ended between fork and prctl
            os.kill(os.getpid(), signal.SIGTERM)

    return in_child
