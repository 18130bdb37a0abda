"""Real servers the tests start on their own: private loopback ports and Unix sockets in
temporary folders, stopped at the end of the run."""
