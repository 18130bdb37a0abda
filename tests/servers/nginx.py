"""Debian's nginx in front of a real gunicorn, each started from the repository's own files
(deploy/nginx/checkin.conf and gunicorn.conf.py) on loopback ports, in a temporary folder,
with a self-signed certificate made by openssl. Only what differs between a server and a test
is substituted (ports, paths, the server name); every substitution must find its text, so a
change to the sample that the test no longer covers fails loudly instead of going untested.
"""
from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from . import dies_with_run, free_port

ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "deploy" / "nginx" / "checkin.conf"
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"
MIME_TYPES = Path("/etc/nginx/mime.types")
# Who nginx's workers run as when the test runs as root (Debian's nginx.conf says the same).
WORKER_USER = "www-data"

_LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


def missing() -> str | None:
    """Why nginx cannot run here, or None."""
    for path in (NGINX, OPENSSL, str(MIME_TYPES)):
        if not os.path.exists(path):
            return f"{path} is missing (Debian's nginx and openssl)"
    return None


def wait_until(condition, timeout: float, what: str, check=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check:
            check()
        if condition():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} not within {timeout} s")


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, valid two days, and its key."""
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )
    return cert, key


def substitute(text: str, pairs: list[tuple[str, str]]) -> str:
    for old, new in pairs:
        if old not in text:
            raise AssertionError(f"{SITE.name} no longer contains {old!r}: update tests/servers/nginx.py")
        text = text.replace(old, new)
    return text


def static_copy(prefix: Path) -> Path:
    """The checkout's static files copied into nginx's folder, readable by its workers. On a
    server the checkout is readable by www-data; a test checkout may lie in a folder only its
    owner can enter (a home or a temporary folder of mode 0700), where nginx answers 403."""
    target = prefix / "static"
    shutil.copytree(ROOT / "checkin_pwa" / "static", target)
    for folder, _, files in os.walk(target):
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)
    return target


def render_site(*, https_port: int, http_port: int, upstream: str, cert: Path, key: Path, logs: Path,
                static_dir: Path) -> str:
    """deploy/nginx/checkin.conf for loopback ports, this checkout and a temporary folder."""
    return substitute(SITE.read_text(), [
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        ("listen [::]:443 ssl http2;\n", ""),
        ("listen 80;", f"listen 127.0.0.1:{http_port};"),
        ("listen [::]:80;\n", ""),
        ("return 301 https://$host$request_uri;", f"return 301 https://$host:{https_port}$request_uri;"),
        ("server_name checkin.example.cn;", "server_name 127.0.0.1 localhost;"),
        ("server 127.0.0.1:8000 ", f"server {upstream} "),
        ("/etc/ssl/checkin/fullchain.pem", str(cert)),
        ("/etc/ssl/checkin/privkey.pem", str(key)),
        ("/var/log/nginx/", f"{logs}/"),
        ("/srv/checkin/app/checkin_pwa/static/", f"{static_dir}/"),
    ])


@contextmanager
def own_database(migrated_db, folder: Path):
    """A database of its own for a module's gunicorn, on the pass's backend (a copy of the
    migrated SQLite file, or a PostgreSQL database made from the migrated template): its URL,
    the database dropped on leaving."""
    server = migrated_db.server
    if server is None:
        yield migrated_db.new_url(folder)
        return
    database = server.create(template=migrated_db.template)
    try:
        yield server.url(database)
    finally:
        server.drop(database)


@contextmanager
def gunicorn_behind_nginx(env: dict, folder: Path, site_for):
    """gunicorn with `env` (its log in `folder`), and nginx in front of it serving the site
    `site_for(prefix, upstream)` renders, given nginx's own folder and gunicorn's address; it
    returns (site, https_port, http_port). Yields (gunicorn, nginx); on leaving both stop
    and nginx's folder goes."""
    gunicorn = Gunicorn(env, folder / "gunicorn.log")
    prefix = private_folder()
    proxy = None
    try:
        site, https_port, http_port = site_for(prefix, f"127.0.0.1:{gunicorn.port}")
        proxy = Nginx(site, https_port, http_port, prefix)
        yield gunicorn, proxy
    finally:
        if proxy:
            proxy.stop()
        gunicorn.stop()
        shutil.rmtree(prefix, ignore_errors=True)


def gunicorn_env(folder: Path, database_url: str, **extra: str) -> dict:
    """The service's environment for a test's gunicorn: that database, its files in `folder`,
    a fresh SECRET_KEY, nginx on loopback trusted, no map tiles."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": str(folder),
        "DATABASE_URL": database_url, "PHOTO_STORAGE_DIR": str(folder / "photos"),
        "EXPORT_DIR": str(folder / "exports"), "SECRET_KEY": secrets.token_hex(32),
        "TRUSTED_PROXIES": "127.0.0.1", "TILE_URL": "", "MALLOC_ARENA_MAX": "2",
        "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2", **extra,
    }


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py wsgi:app` from the checkout, on a port the kernel picks;
    its stderr (error and access log) goes to `log_path`."""

    def __init__(self, env: dict, log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", str(GUNICORN_CONF), "--bind", "127.0.0.1:0", "wsgi:app"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=dies_with_run(),
        )
        found = {}

        def listening():
            match = _LISTENING.search(self.log())
            if match:
                found["port"] = int(match.group(1))
            return bool(found)

        try:
            wait_until(listening, 60, "gunicorn listening", check=self._alive)
        except Exception:
            self.stop()
            raise
        self.port = found["port"]

    def _alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # graceful: requests in flight finish
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


class Nginx:
    """nginx with a main configuration like Debian's /etc/nginx/nginx.conf that includes the
    rendered site, its pid, logs and temporary files in a folder of its own. As root the
    master starts as root and its workers run as www-data, as on a server."""

    def __init__(self, site: str, https_port: int, http_port: int, prefix: Path):
        self.prefix = prefix
        self.https_port, self.http_port = https_port, http_port
        (prefix / "logs").mkdir(exist_ok=True)
        (prefix / "checkin.conf").write_text(site)
        user = f"user {WORKER_USER};\n" if os.geteuid() == 0 else ""
        (prefix / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/logs/error.log warn;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            "    sendfile on;\n    tcp_nopush on;\n    types_hash_max_size 2048;\n"
            f"    include {MIME_TYPES};\n    default_type application/octet-stream;\n"
            f"    client_body_temp_path {prefix}/client_body;\n    proxy_temp_path {prefix}/proxy;\n"
            f"    fastcgi_temp_path {prefix}/fastcgi;\n    uwsgi_temp_path {prefix}/uwsgi;\n"
            f"    scgi_temp_path {prefix}/scgi;\n"
            f"    access_log {prefix}/logs/access.log;\n"
            f"    include {prefix}/checkin.conf;\n"
            "}\n"
        )
        test = subprocess.run([NGINX, "-t", "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                              capture_output=True, text=True)
        if test.returncode != 0:
            raise RuntimeError(f"nginx -t refused the configuration:\n{test.stderr}")
        self._out = open(prefix / "logs" / "stderr.log", "w")
        self.proc = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                                     stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
                                     preexec_fn=dies_with_run())
        try:
            wait_until(lambda: self._accepts(https_port) and self._accepts(http_port), 30,
                       "nginx listening", check=self._alive)
        except Exception:
            self.stop()
            raise

    def _alive(self) -> None:
        if self.proc.poll() is not None:
            raise RuntimeError(f"nginx exited:\n{(self.prefix / 'logs' / 'error.log').read_text(errors='replace')}")

    @staticmethod
    def _accepts(port: int) -> bool:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False

    def error_log(self) -> str:
        """nginx's own error log and the site's (checkin.error.log, where a proxied request's
        errors go)."""
        logs = [self.prefix / "logs" / "error.log", self.prefix / "logs" / "checkin.error.log"]
        return "".join(path.read_text(errors="replace") for path in logs if path.exists())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful shutdown
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._out.close()


def private_folder() -> Path:
    """A temporary folder nginx's workers (www-data when the test is root) can enter; the
    files nginx writes there are its own."""
    folder = Path(tempfile.mkdtemp(prefix="checkin-nginx-"))
    folder.chmod(0o755)
    return folder
