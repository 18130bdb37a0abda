"""Validators of the static files the app serves: an ETag made from the bytes, and no
Last-Modified; text files compressed for a client that asks for it (compression.py).

Werkzeug's default ETag and Last-Modified come from the file's modification time, which
differs between hosts (each deploy writes its own copy of the same files): behind a load
balancer, a revalidation answered by another host would download an unchanged file again,
and a 304 by date could keep a changed one. By content, every host gives the same answer.
A file's hash is kept per (size, modification time), so it is read once per process after
it changes.

Every URL the app writes for a static file carries the start of that hash (`?v=…`), and
an answer to a URL whose version is the file's own is kept for a year without asking again
(`immutable`): a page, and the service worker filling its cache after it, get the file once;
a changed file has a new URL. A URL without a version, or with another file's, is answered
as before (`no-cache`, revalidated by its ETag).
"""
from __future__ import annotations

import hashlib
import os
import threading

from flask import Flask, request
from flask import send_from_directory
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

from . import compression

_hashes: dict[str, tuple[tuple[int, int], str]] = {}
_lock = threading.Lock()


def content_etag(path: str) -> str:
    info = os.stat(path)
    stamp = (info.st_size, info.st_mtime_ns)
    with _lock:
        known = _hashes.get(path)
    if known and known[0] == stamp:
        return known[1]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    etag = digest.hexdigest()[:32]
    with _lock:
        _hashes[path] = (stamp, etag)
    return etag


VERSION_CHARS = 12
IMMUTABLE = "public, max-age=31536000, immutable"


def version(directory: str, filename: str) -> str | None:
    """The version a URL of this static file carries: the start of its content hash."""
    path = safe_join(directory, filename)
    if path is None or not os.path.isfile(path):
        return None
    return content_etag(path)[:VERSION_CHARS]


def send_by_content(directory: str, filename: str, **options):
    """send_from_directory with the content's ETag and no Last-Modified; 404 as it does."""
    path = safe_join(directory, filename)
    if path is None or not os.path.isfile(path):
        raise NotFound()
    etag = content_etag(path)
    response = send_from_directory(directory, filename, etag=etag, conditional=False, **options)
    response.headers.pop("Last-Modified", None)
    encoding = compression.encoding_for(request)
    if (encoding and "Range" not in request.headers
            and compression.worth_compressing(response.mimetype, response.content_length or 0)):
        # The compressed copy, with an ETag of its own (the plain file's names other bytes).
        response.close()
        response.direct_passthrough = False
        response.set_data(compression.compressed(path, etag, encoding))
        response.headers["Content-Encoding"] = encoding
        response.set_etag(f"{etag}-{encoding}")
        response.vary.add("Accept-Encoding")
        return response.make_conditional(request)
    return response.make_conditional(request, accept_ranges=True, complete_length=response.content_length)


def init_app(app: Flask) -> None:
    """The static route answers with content validators (same cache headers as before)."""
    def static(filename: str):
        response = send_by_content(app.static_folder, filename, max_age=app.get_send_file_max_age(filename))
        asked = request.args.get("v")
        if asked and asked == version(app.static_folder, filename):
            response.headers["Cache-Control"] = IMMUTABLE
        # A file, not a document: no Content-Disposition for the browser to read.
        response.headers.pop("Content-Disposition", None)
        return response

    app.view_functions["static"] = static

    @app.url_defaults
    def versioned(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "v" not in values and values.get("filename"):
            found = version(app.static_folder, values["filename"])
            if found:
                values["v"] = found
