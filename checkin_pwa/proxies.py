"""Who the client is behind reverse proxies we trust (TRUSTED_PROXIES).

Behind nginx or a load balancer every request comes from the proxy's address. A proxy
appends the address it got the request from to `X-Forwarded-For` and says the scheme the
client used in `X-Forwarded-Proto`. Anyone can send those headers, so they are read only
when the peer is a trusted proxy, and `X-Forwarded-For` is read from the right: the first
address that is not itself a trusted proxy is the client (whatever a client wrote to the
left of it is ignored). From any other peer both headers are ignored.
"""
from __future__ import annotations

import ipaddress
from typing import Iterable

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
    """WSGI middleware: REMOTE_ADDR and wsgi.url_scheme as the client sees them, from the
    forwarded headers of trusted proxies only."""

    def __init__(self, app, trusted: tuple[Network, ...]):
        self.app = app
        self.trusted = trusted

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
        return self.app(environ, start_response)
