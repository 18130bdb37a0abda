"""R1 login under attack: who is counted (addresses behind proxies), where the counts live
(one count for every worker), and that nobody can keep the real auditor out.

CSRF stays on: every POST carries the token a browser would have read from the page.
"""
from __future__ import annotations

import pytest

from checkin_pwa.extensions import db, limiter

from . import factories
from .conftest import make_app
from .factories import PASSWORD
from .helpers import FreshContextClient, csrf_token

THROTTLED = "失败次数过多"


@pytest.fixture(autouse=True)
def one_app_context_per_request(app):
    app.test_client_class = FreshContextClient


def make_auditor(**kwargs):
    person = factories.auditor(**kwargs)
    db.session.commit()
    return person


def post_login(client, phone, password, **kwargs):
    token = csrf_token(client, "/login")
    return client.post("/login", data={"phone": phone, "password": password, "csrf_token": token}, **kwargs)


def client_at(app, peer: str, forwarded_for: str | None = None):
    """A phone whose requests reach the app from `peer`, with X-Forwarded-For if given."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


# --- addresses behind a reverse proxy ------------------------------------------------

@pytest.fixture
def proxied_app(tmp_path, migrated_db):
    """The app behind one reverse proxy at 10.0.0.2 (TRUSTED_PROXIES)."""
    folder = tmp_path / "proxied"
    folder.mkdir()
    app = make_app(folder, migrated_db, TRUSTED_PROXIES="10.0.0.2")
    app.test_client_class = FreshContextClient
    limiter.reset()
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_r1_two_clients_behind_one_trusted_proxy_are_counted_apart(proxied_app):
    person = make_auditor()
    typist = client_at(proxied_app, "10.0.0.2", "203.0.113.5")
    for n in range(30):
        assert post_login(typist, f"137{n:08d}", "Wrong#pass1").status_code == 422
    assert post_login(typist, person.phone, PASSWORD).status_code == 429, "that address is throttled"

    colleague = client_at(proxied_app, "10.0.0.2", "203.0.113.6")
    assert post_login(colleague, person.phone, PASSWORD).status_code == 303, \
        "another address behind the same proxy is not"


def test_r1_forwarded_headers_from_an_untrusted_peer_are_ignored(proxied_app):
    person = make_auditor()
    # A client that is no proxy of ours claims a new address on every try.
    for n in range(30):
        liar = client_at(proxied_app, "198.51.100.7", f"203.0.113.{n + 1}")
        assert post_login(liar, f"137{n:08d}", "Wrong#pass1").status_code == 422
    liar = client_at(proxied_app, "198.51.100.7", "203.0.113.200")
    assert post_login(liar, person.phone, PASSWORD).status_code == 429, "counted by its real address"


def test_r1_a_client_cannot_hide_behind_the_proxy_by_writing_the_header_itself(proxied_app):
    # The proxy appends the address it saw; whatever the client wrote on the left is not read.
    person = make_auditor()
    for n in range(30):
        sly = client_at(proxied_app, "10.0.0.2", f"192.0.2.{n + 1}, 203.0.113.9")
        assert post_login(sly, f"137{n:08d}", "Wrong#pass1").status_code == 422
    sly = client_at(proxied_app, "10.0.0.2", "192.0.2.99, 203.0.113.9")
    assert post_login(sly, person.phone, PASSWORD).status_code == 429


def test_trusted_proxies_give_the_client_address_and_scheme():
    from checkin_pwa.proxies import TrustedProxies, parse_networks

    seen = {}

    def app(environ, start_response):
        seen.update(addr=environ["REMOTE_ADDR"], scheme=environ["wsgi.url_scheme"])
        start_response("204 No Content", [])
        return [b""]

    wrapped = TrustedProxies(app, parse_networks("10.0.0.0/8, ::1"))

    def call(peer, **headers):
        environ = {"REMOTE_ADDR": peer, "wsgi.url_scheme": "http"}
        environ.update({"HTTP_" + name.upper(): value for name, value in headers.items()})
        wrapped(environ, lambda status, headers: None)
        return seen["addr"], seen["scheme"]

    assert call("10.1.1.1", x_forwarded_for="203.0.113.5", x_forwarded_proto="https") == ("203.0.113.5", "https")
    # two proxies of ours in a row: the first untrusted hop from the right
    assert call("10.1.1.1", x_forwarded_for="198.51.100.1, 203.0.113.5, 10.2.2.2") == ("203.0.113.5", "http")
    assert call("::1", x_forwarded_for="2001:db8::7") == ("2001:db8::7", "http")
    # not a proxy of ours: nothing it says is believed
    assert call("198.51.100.9", x_forwarded_for="203.0.113.5", x_forwarded_proto="https") == ("198.51.100.9", "http")
    # a proxy of ours that sends no header, or garbage
    assert call("10.1.1.1") == ("10.1.1.1", "http")
    assert call("10.1.1.1", x_forwarded_for="<script>", x_forwarded_proto="gopher") == ("10.1.1.1", "http")


def test_a_typo_in_trusted_proxies_stops_the_server_at_start(tmp_path, migrated_db):
    with pytest.raises(ValueError, match="10.0.0.300"):
        make_app(tmp_path, migrated_db, TRUSTED_PROXIES="10.0.0.1, 10.0.0.300")
