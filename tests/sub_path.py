"""The app mounted under /checkin/ the ways an intranet does it, as WSGI wrappers standing
in for the proxy or server in front, and the links a page offers.

Outside /checkin/ the "site" answers 404 itself, as an intranet whose other paths belong to
other applications would: a link, redirect or script URL that escapes the prefix fails."""
from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import urlsplit

from werkzeug.middleware.dispatcher import DispatcherMiddleware

PREFIX = "/checkin"


def elsewhere(environ, start_response):
    """The rest of the site: not this app."""
    start_response("404 Not Found", [("Content-Type", "text/plain")])
    return [b"not under /checkin/: another application's path"]


class Proxy:
    """A reverse proxy (127.0.0.1, trusted by default) serving the app at /checkin/: it strips
    the prefix or passes the path as it came, and says X-Forwarded-Prefix or not.
    strip + header is nginx's `location /checkin/ { proxy_pass http://app/;
    proxy_set_header X-Forwarded-Prefix /checkin; }`."""

    def __init__(self, app, *, strip: bool, header: bool):
        self.app, self.strip, self.header = app, strip, header

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(PREFIX + "/"):
            return elsewhere(environ, start_response)
        if self.strip:
            environ["PATH_INFO"] = path[len(PREFIX):]
        if self.header:
            environ["HTTP_X_FORWARDED_PREFIX"] = PREFIX
        return self.app(environ, start_response)


# name: (config for create_app, the wrapper around app.wsgi_app)
SHAPES = {
    "proxy-strips-says-prefix": ({}, lambda app: Proxy(app, strip=True, header=True)),
    "proxy-passes-says-prefix": ({}, lambda app: Proxy(app, strip=False, header=True)),
    "application-root-proxy-strips": ({"APPLICATION_ROOT": PREFIX}, lambda app: Proxy(app, strip=True, header=False)),
    "application-root-path-as-is": ({"APPLICATION_ROOT": PREFIX}, lambda app: Proxy(app, strip=False, header=False)),
    # gunicorn with SCRIPT_NAME=/checkin in its environment: the server mounts the app there.
    "server-script-name": ({}, lambda app: DispatcherMiddleware(elsewhere, {PREFIX: app})),
}


def mount(app, shape: str):
    app.wsgi_app = SHAPES[shape][1](app.wsgi_app)
    return app


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster",
                  "hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete"}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                self.found.append((tag, name, value))
            elif name.startswith("data-") and value.startswith("/"):
                self.found.append((tag, name, value))
            elif name.startswith("data-") and value.startswith('["'):
                try:
                    listed = json.loads(value)
                except ValueError:
                    continue
                self.found.extend((tag, name, item) for item in listed if isinstance(item, str))


def links(html: str) -> list[tuple[str, str, str]]:
    """(tag, attribute, URL) for every URL a page offers: links, sources, form actions, htmx
    attributes, and data-* attributes holding a path or a list of paths."""
    parser = _Links()
    parser.feed(html)
    return parser.found


def escapes(url: str, host: str = "localhost") -> bool:
    """A URL of ours that leads outside the prefix (or is relative, which a page moved by the
    worker's offline copy would read against the wrong base)."""
    if url.startswith(("#", "data:", "blob:", "tel:", "mailto:", "javascript:")) or url == "":
        return False
    parts = urlsplit(url)
    if parts.scheme in ("http", "https"):
        if parts.hostname not in (host, "127.0.0.1"):
            return False  # another site (map attribution, say)
        path = parts.path
    elif url.startswith("?"):
        return False  # this page with another query
    else:
        path = parts.path
    return not (path == PREFIX or path.startswith(PREFIX + "/"))
