"""gunicorn's settings for `make run` and for a server (docs/deploy.md); read by
`gunicorn -c gunicorn.conf.py wsgi:app`. Every value can be changed without editing this
file: by the environment variables named below, or by a command-line flag (a flag wins).

Set in the service's environment, not here (they must be there before Python starts):
  MALLOC_ARENA_MAX=2   glibc gives each thread that allocates its own memory arena; with
                       threads per worker that grows a worker's resident memory by tens of
                       MB for nothing. Two arenas cost nothing measurable here.
  PYTHONUNBUFFERED=1   log lines reach the journal as they are written.
"""
import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    """Cores this process may run on (a container's or a CPU-pinned service's share, not the
    machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# Where gunicorn listens. Behind nginx on the same host, loopback only; an app host behind
# a proxy on another host binds its private address (GUNICORN_BIND=10.0.0.21:8000) and that
# proxy's address goes into TRUSTED_PROXIES.
bind = [os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")]

# One worker process per core, each with threads: a request spends much of its time waiting
# on the database, the photo store or a photo's decode (a child process of its own), and the
# threads overlap that waiting. WEB_CONCURRENCY is gunicorn's usual name for the count.
worker_class = "gthread"
workers = _int("WEB_CONCURRENCY", _cores())
threads = _int("GUNICORN_THREADS", 4)
# Idle keep-alive connections wait in the worker's poller, not in a thread. Longer than
# nginx's upstream keepalive_timeout (60 s), so nginx never sends a request on a
# connection gunicorn is closing at that moment.
keepalive = 75

# A worker whose main loop says nothing for this long is killed and replaced. With gthread
# the main loop keeps answering while threads work, so this catches a hung process, not a
# slow request; nginx's proxy_read_timeout bounds requests.
timeout = _int("GUNICORN_TIMEOUT", 60)
# On restart (SIGHUP, systemctl reload, deploys) and stop: requests in flight finish first.
graceful_timeout = 30
# Each worker is replaced after about this many requests (the jitter spreads the restarts,
# so the workers never restart together). Bounds slow memory growth (fragmentation) in a
# process that lives for months.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max(1, max_requests // 10)

# The proxies whose X-Forwarded-Proto gunicorn believes: the same list the app believes for
# X-Forwarded-For and X-Forwarded-Proto (TRUSTED_PROXIES, checkin_pwa.proxies).
forwarded_allow_ips = os.environ.get("TRUSTED_PROXIES", "127.0.0.1,::1").replace(";", ",").replace(" ", "")

# Logs: everything on stderr (the journal under systemd), one JSON object a line
# (checkin_pwa/logs.py). The app writes the access log itself, with the client's address
# after the trusted proxies, the request id (nginx's X-Request-ID) and the signed-in user:
# gunicorn's own access log stays off (it would log every request twice).
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
errorlog = "-"
accesslog = None
from checkin_pwa.logs import GUNICORN_LOGCONFIG  # noqa: E402

logconfig_dict = {**GUNICORN_LOGCONFIG, "loggers": {
    **GUNICORN_LOGCONFIG["loggers"],
    "gunicorn.error": {**GUNICORN_LOGCONFIG["loggers"]["gunicorn.error"], "level": loglevel.upper()},
}}
