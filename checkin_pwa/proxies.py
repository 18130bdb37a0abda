"""Who the client is behind reverse proxies we trust (TRUSTED_PROXIES).

Behind nginx or a load balancer every request comes from the proxy's address. A proxy
appends the address it got the request from to `X-Forwarded-For` and says the scheme the
client used in `X-Forwarded-Proto`. Anyone can send those headers, so they are read only
when the peer is a trusted proxy, and `X-Forwarded-For` is read from the right: the first
address that is not itself a trusted proxy is the client (whatever a client wrote to the
left of it is ignored). From any other peer both headers are ignored.

Mounted under a sub-path (an intranet serving the app at `/checkin/`), the path the app is
mounted at becomes the request's SCRIPT_NAME, so every URL the app writes (links, redirects,
the session cookie's path, the worker's scope) carries it. It comes from a trusted proxy's
`X-Forwarded-Prefix`, else from APPLICATION_ROOT (gunicorn mounted there without a proxy, or a
proxy that sends no such header). The proxy may strip the prefix from the path or pass it on:
a path that starts with the prefix loses it.
"""
from __future__ import annotations

import ipaddress
import re
from typing import Iterable

from werkzeug.wsgi import ClosingIterator

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(setting: str | Iterable[str] | None) -> tuple[Network, ...]:
    """`"127.0.0.1, 10.0.0.0/8, ::1"` (or a list of such) as networks; a bad entry raises
    ValueError naming it, so a typo stops the server at start, not at the first login."""
    if not setting:
        return ()
    items = setting.replace(";", ",").split(",") if isinstance(setting, str) else list(setting)
    networks = []
    for item in (entry.strip() for entry in items):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
    return tuple(networks)


# A prefix is path segments of plain characters: nothing a browser or a header would read
# otherwise (quotes, spaces, `//`, `..`, percent signs).
_PREFIX = re.compile(r"(?:/[A-Za-z0-9_~-][A-Za-z0-9._~-]*)*")


def parse_prefix(text: str | None) -> str | None:
    """`"/checkin/"` as `"/checkin"`, `"/"` or `""` as `""` (the root); None when it is not a
    plain path."""
    text = (text or "").strip().rstrip("/")
    if text and not text.startswith("/"):
        return None
    return text if _PREFIX.fullmatch(text) else None


def application_root(setting: str | None) -> str:
    """APPLICATION_ROOT as a prefix; a bad one raises ValueError naming it (at start)."""
    prefix = parse_prefix(setting)
    if prefix is None:
        raise ValueError(f"APPLICATION_ROOT: {setting!r} is not a path such as /checkin")
    return prefix


def _address(text: str):
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.5:51234"
        text = text.split(":", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def client_address(peer: str | None, forwarded_for: str, trusted: tuple[Network, ...]) -> str | None:
    """The client's address: `peer` itself unless `peer` is a trusted proxy; then the
    rightmost untrusted hop of `forwarded_for` (all hops trusted: the leftmost)."""
    peer_ip = _address(peer or "")
    if peer_ip is None or not _is_trusted(peer_ip, trusted):
        return peer
    client = peer_ip
    for hop in reversed(forwarded_for.split(",")):
        hop_ip = _address(hop)
        if hop_ip is None:
            break  # not written by a proxy: stop at the last hop that was
        client = hop_ip
        if not _is_trusted(hop_ip, trusted):
            break
    return str(client)


def _is_trusted(address, trusted: tuple[Network, ...]) -> bool:
    return any(address.version == network.version and address in network for network in trusted)


class TrustedProxies:
    """WSGI middleware: REMOTE_ADDR, wsgi.url_scheme and SCRIPT_NAME as the client sees them,
    from the forwarded headers of trusted proxies only (and the configured root)."""

    def __init__(self, app, trusted: tuple[Network, ...], root: str = ""):
        self.app = app
        self.trusted = trusted
        self.root = root

    def __call__(self, environ, start_response):
        peer = environ.get("REMOTE_ADDR")
        peer_ip = _address(peer or "")
        if self.trusted and peer_ip is not None and _is_trusted(peer_ip, self.trusted):
            environ["checkin_pwa.proxy"] = peer
            environ["REMOTE_ADDR"] = client_address(peer, environ.get("HTTP_X_FORWARDED_FOR", ""), self.trusted)
            # The nearest proxy's word (the rightmost value) on the scheme the client used.
            proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1].strip().lower()
            if proto in ("http", "https"):
                environ["wsgi.url_scheme"] = proto
            forwarded = environ.get("HTTP_X_FORWARDED_PREFIX")
            if forwarded is not None:
                prefix = parse_prefix(forwarded.split(",")[-1])
                if prefix is not None:
                    return self.app(_mounted(environ, prefix), start_response)
        return self.app(_mounted(environ, self.root), start_response)


def _mounted(environ: dict, prefix: str) -> dict:
    """The request as one to the app mounted at `prefix` (`""`: as it came)."""
    if not prefix or environ.get("SCRIPT_NAME", "").rstrip("/") == prefix:
        return environ  # at the root, or the server mounted it there already
    path = environ.get("PATH_INFO", "")
    if path == prefix or path.startswith(prefix + "/"):
        path = path[len(prefix):] or "/"
    environ["SCRIPT_NAME"] = prefix
    environ["PATH_INFO"] = path
    return environ


# Werkzeug refuses a body over MAX_CONTENT_LENGTH (413) before reading it, and gunicorn may then
# close the connection with the body still unread: a proxy still sending it to us gets a reset
# and answers its own 502 instead of our refusal (seen behind nginx, under load). No library
# does this for a WSGI app, so once the refusal has been sent (the answer's close(), which the
# server calls after writing it) the rest of the body is read and dropped, up to a bound. The
# client has its answer first: one that never sends the rest is not kept waiting for it.
DRAIN_MAX_BYTES = 64 * 1024 * 1024  # above nginx's largest client_max_body_size (42m)
_CHUNK = 64 * 1024


class ReadRefusedBodies:
    """WSGI middleware: after an answer of 413 has been sent, read what is left of the
    request's body (when its Content-Length is at most `limit`) so the connection ends cleanly."""

    def __init__(self, app, limit: int = DRAIN_MAX_BYTES):
        self.app, self.limit = app, limit

    def __call__(self, environ, start_response):
        statuses = []

        def start(status, headers, exc_info=None):
            statuses.append(status)
            return start_response(status, headers, exc_info)

        answer = self.app(environ, start)
        if statuses and statuses[-1].startswith("413"):
            # Werkzeug's ClosingIterator closes the answer, then drops the body.
            return ClosingIterator(answer, lambda: _drop_body_quietly(environ, self.limit))
        return answer


def _drop_body_quietly(environ, limit: int) -> None:
    try:
        drop_body(environ, limit)
    except OSError:  # the client went away: nothing left to read
        pass


def drop_body(environ, limit: int) -> int:
    """Read and drop up to Content-Length bytes of the request's input (nothing when it is
    missing, bad or above `limit`); the bytes read."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0
    if not 0 < length <= limit:
        return 0
    stream, read = environ["wsgi.input"], 0
    while read < length:
        chunk = stream.read(min(_CHUNK, length - read))
        if not chunk:
            break
        read += len(chunk)
    return read
