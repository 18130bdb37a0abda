"""Real servers the tests start on their own: private loopback ports and Unix sockets in
temporary folders, stopped at the end of the run."""

import socket


def free_port() -> int:
    """A loopback port no one listens on now, for a server about to start."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
