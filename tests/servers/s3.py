"""A real S3-compatible server for the tests: moto's server mode in its own process, on a
free 127.0.0.1 port, spoken to over HTTP by boto3 exactly as the app speaks to MinIO or OSS.

`shared()` starts one server for the whole session on first use (`stop_shared()` at the
end, from conftest); `S3Server` alone gives a test a server of its own to stop."""
from __future__ import annotations

import http.client
import http.server
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from typing import Optional

from . import dies_with_run, free_port

ACCESS_KEY_ID = "test-access-key"
SECRET_ACCESS_KEY = "test-secret-key"
REGION = "cn-north-1"


class ServerUnavailable(RuntimeError):
    """moto is not installed or its server did not answer."""


class S3Server:
    def __init__(self):
        self.process: Optional[subprocess.Popen] = None
        self.port = 0
        self._log = None
        self._client = None
        self._client_port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60, port: int = 0) -> "S3Server":
        try:
            import moto.server  # noqa: F401
        except ImportError as error:
            raise ServerUnavailable(f"moto[server] is not installed: {error}") from error
        self._log = tempfile.TemporaryFile()
        for _attempt in range(3):  # another process may take the free port first
            self.port = port or free_port()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=dies_with_run())
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.process.poll() is None:
                if self.answers():
                    return self
                time.sleep(0.1)
            self.stop()
        self._log.seek(0)
        raise ServerUnavailable(f"moto's server did not start: {self._log.read()[-2000:].decode(errors='replace')}")

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/moto-api/", timeout=2) as answer:
                return answer.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def client(self):
        """A boto3 client of the test's own (the operator's hands: buckets, other objects)."""
        if self._client is None or self._client_port != self.port:
            import boto3
            from botocore.config import Config

            self._client = boto3.session.Session().client(
                "s3", endpoint_url=self.url, aws_access_key_id=ACCESS_KEY_ID, aws_secret_access_key=SECRET_ACCESS_KEY,
                config=Config(region_name=REGION, s3={"addressing_style": "path"}))
            self._client_port = self.port
        return self._client

    def new_bucket(self) -> str:
        """A fresh private bucket, as an operator makes one for the app."""
        name = f"checkin-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        return name

    def app_config(self, bucket: Optional[str] = None, **more) -> dict:
        """create_app overrides for PHOTO_STORE=s3 on this server (a new bucket unless named)."""
        return {"PHOTO_STORE": "s3", "S3_ENDPOINT_URL": self.url, "S3_BUCKET": bucket or self.new_bucket(),
                "S3_REGION": REGION, "S3_ACCESS_KEY_ID": ACCESS_KEY_ID, "S3_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                "S3_ADDRESSING_STYLE": "path", **more}


_shared: Optional[S3Server] = None
_failed: Optional[str] = None


def shared() -> S3Server:
    """The session's server, started on first use; ServerUnavailable (again, at once) if it
    could not start."""
    global _shared, _failed
    if _failed is not None:
        raise ServerUnavailable(_failed)
    if _shared is None:
        try:
            _shared = S3Server().start()
        except ServerUnavailable as error:
            _failed = str(error)
            raise
    return _shared


def stop_shared() -> None:
    global _shared
    if _shared is not None:
        _shared.stop()
        _shared = None


class FailingStore:
    """A real HTTP server on loopback in front of an S3 server that breaks like a store whose
    disk failed: it forwards the first `fail_after` PUTs (and whatever comes before), then
    answers 500 InternalError to every request until `heal()`. With no upstream it answers
    500 to everything. With conditional_puts=False it is a store that does not implement
    conditional PUTs: 501 NotImplemented to a PUT with If-None-Match, the rest forwarded."""

    def __init__(self, upstream: Optional[S3Server] = None, fail_after: int = 0, conditional_puts: bool = True):
        self.upstream = upstream
        self.fail_after = fail_after
        self.conditional_puts = conditional_puts
        self.refused_conditional = 0
        self.puts = 0
        self.broken = upstream is None
        self.failed = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "PUT" and "If-None-Match" in self.headers and not outer.conditional_puts:
                    outer.refused_conditional += 1
                    self._fail(501, b"NotImplemented", b"A header you provided implies functionality that is not implemented")
                    return
                if self.command == "PUT" and outer.puts >= outer.fail_after:
                    outer.broken = True
                if outer.broken:
                    outer.failed += 1
                    self._fail()
                    return
                if self.command == "PUT":
                    outer.puts += 1
                self._forward(body)

            def _fail(self, status=500, code=b"InternalError",
                      message=b"We encountered an internal error. Please try again."):
                error = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>' + code + b"</Code>"
                         b"<Message>" + message + b"</Message></Error>")
                self.send_response(status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(error)))
                self.end_headers()
                self.wfile.write(error)

            def _forward(self, body: bytes):
                connection = http.client.HTTPConnection("127.0.0.1", outer.upstream.port, timeout=30)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                connection.request(self.command, self.path, body=body or None, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                connection.close()
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length", "server", "date"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def heal(self) -> None:
        self.broken = False
        self.fail_after = 1 << 30

    def __enter__(self) -> "FailingStore":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
