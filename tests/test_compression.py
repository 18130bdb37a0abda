"""Text answers leave the app in gzip when the client asks for it (in Brotli when it takes
that, as browsers do), and as they are when it does not: pages, the worker script, the manifest and static files, each with
`Vary: Accept-Encoding` and an ETag of its own per form, so a cache (the browser's, the
worker's, a proxy's) never answers one form with the other. Images and tiny answers are
never compressed."""
from __future__ import annotations

import gzip

import pytest

from . import factories as f
from .helpers import log_in

GZIP = {"Accept-Encoding": "gzip, deflate"}
BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}
PLAIN = {"Accept-Encoding": "identity"}

pytestmark = pytest.mark.usefixtures("app_context")


def both(client, path):
    return client.get(path, headers=GZIP), client.get(path, headers=PLAIN)


def assert_gzip_pair(zipped, plain):
    assert zipped.status_code == plain.status_code == 200
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    for answer in (zipped, plain):
        assert "accept-encoding" in answer.headers.get("Vary", "").lower()
    assert gzip.decompress(zipped.data) == plain.data
    assert len(zipped.data) < len(plain.data) / 2
    assert int(zipped.headers["Content-Length"]) == len(zipped.data)


def test_login_and_today_pages_are_gzipped_only_when_asked(app, client):
    assert_gzip_pair(*both(client, "/login"))
    auditor = f.auditor()
    f.plan([auditor])
    app.extensions["sqlalchemy"].session.commit()
    log_in(client, auditor)
    zipped, plain = both(client, "/")
    assert zipped.status_code == 200 and zipped.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert b"<html" in gzip.decompress(zipped.data) and plain.data.startswith(b"<!doctype html>")


@pytest.mark.parametrize("path", ["/static/vendor/htmx-2.0.11.min.js", "/static/css/app.css",
                                  "/service-worker.js", "/manifest.json"])
def test_text_files_are_gzipped_with_their_own_etag_and_revalidate_in_each_form(client, path):
    zipped, plain = both(client, path)
    assert_gzip_pair(zipped, plain)
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    again = client.get(path, headers={**GZIP, "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304 and again.headers["ETag"] == zipped.headers["ETag"] and not again.data
    again = client.get(path, headers={**PLAIN, "If-None-Match": plain.headers["ETag"]})
    assert again.status_code == 304 and not again.data
    # The plain form's validator never gets the gzip bytes a 304 (and the reverse).
    crossed = client.get(path, headers={**PLAIN, "If-None-Match": zipped.headers["ETag"]})
    assert crossed.status_code == 200 and crossed.data == plain.data


def test_images_tiny_answers_and_ranges_are_sent_as_they_are(client):
    for path in ("/static/icons/icon-192.png", "/static/vendor/leaflet-1.9.4/images/marker-icon.png"):
        answer = client.get(path, headers=GZIP)
        assert answer.status_code == 200 and "Content-Encoding" not in answer.headers
    tiny = client.get("/healthz", headers=GZIP)
    assert len(tiny.data) < 512 and "Content-Encoding" not in tiny.headers
    part = client.get("/static/css/app.css", headers={**GZIP, "Range": "bytes=0-99"})
    assert part.status_code == 206 and "Content-Encoding" not in part.headers and len(part.data) == 100


@pytest.mark.parametrize("path", ["/login", "/static/js/photos.js", "/static/vendor/libheif-1.23.2/libheif.wasm"])
def test_a_browser_that_takes_brotli_gets_brotli_with_its_own_etag(client, path):
    import brotli

    smaller, zipped, plain = (client.get(path, headers=h) for h in (BROWSER, GZIP, PLAIN))
    assert smaller.headers["Content-Encoding"] == "br" and "accept-encoding" in smaller.headers["Vary"].lower()
    assert brotli.decompress(smaller.data) == plain.data
    assert len(smaller.data) < len(zipped.data) < len(plain.data)
    if "ETag" in plain.headers:
        assert len({smaller.headers["ETag"], zipped.headers["ETag"], plain.headers["ETag"]}) == 3
