"""Compressed text answers, so a phone on a weak line gets them small with or without a proxy.

Pages, htmx partials and JSON go through Flask-Compress (gzip only, the one form nginx also
makes: a proxy in front sees Content-Encoding already set and leaves the body alone). Its
strong ETags become "<etag>:gzip", so the compressed and plain forms never share a validator,
and it answers 304 after compressing, against the compressed form's ETag.

Static files are not streamed through it (it would compress every request again): the
static route sends a gzip copy made once per file content and kept in memory (`gzipped`),
with the ETag "<content etag>-gzip". Ranges are answered from the plain file.
"""
from __future__ import annotations

import gzip
import threading

from flask import Flask, Request
from flask_compress import Compress

# Only text: images, photos, archives and fonts in woff2 are compressed already.
TEXT_TYPES = (
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript",
    "application/javascript", "application/json", "application/manifest+json",
    "application/problem+json", "image/svg+xml",
)
# Below this a gzip header and the Vary costs more than it saves.
MIN_SIZE = 512
LEVEL = 6

compress = Compress()

_gzipped: dict[str, bytes] = {}
_lock = threading.Lock()


def accepts_gzip(request: Request) -> bool:
    """Whether the client asks for gzip (q=0 is a refusal)."""
    for part in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            quality = params.strip().removeprefix("q=").strip()
            try:
                return not quality or float(quality) > 0
            except ValueError:
                return True
    return False


def worth_compressing(mimetype: str, size: int) -> bool:
    return mimetype in TEXT_TYPES and size >= MIN_SIZE


def gzipped(path: str, etag: str) -> bytes:
    """The gzip form of a static file, made once for each content (`etag`)."""
    key = f"{path}\0{etag}"
    with _lock:
        data = _gzipped.get(key)
    if data is None:
        with open(path, "rb") as handle:
            data = gzip.compress(handle.read(), LEVEL, mtime=0)
        with _lock:
            for old in [k for k in _gzipped if k.startswith(path + "\0")]:
                del _gzipped[old]
            _gzipped[key] = data
    return data


def init_app(app: Flask) -> None:
    """Registered before the other after-request hooks, so it runs after them (last)."""
    app.config.setdefault("COMPRESS_ALGORITHM", ["gzip"])
    app.config.setdefault("COMPRESS_MIMETYPES", list(TEXT_TYPES))
    app.config.setdefault("COMPRESS_MIN_SIZE", MIN_SIZE)
    app.config.setdefault("COMPRESS_LEVEL", LEVEL)
    # Streamed answers (files, exports) are sent as they are, never compressed chunk by chunk
    # without an ETag; static files come compressed from the static route.
    app.config.setdefault("COMPRESS_STREAMS", False)
    compress.init_app(app)
