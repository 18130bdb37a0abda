"""Compressed text answers, so a phone on a weak line gets them small with or without a proxy.

Pages, htmx partials and JSON go through Flask-Compress: Brotli when the client takes it
(every current browser does, and it is a fifth smaller than gzip on our scripts and pages),
else gzip; a proxy in front (nginx gzips too) sees Content-Encoding set and leaves the body
alone. Its strong ETags become "<etag>:br" or "<etag>:gzip", so the forms never share a
validator, and it answers 304 after compressing, against the compressed form's ETag.

Static files are not streamed through it (it would compress every request again): the
static route sends a copy compressed once per file content at the highest level and kept in
memory (`compressed`), with the ETag "<content etag>-br" or "-gzip". Ranges are answered
from the plain file.
"""
from __future__ import annotations

import gzip
import threading

import brotli
from flask import Flask, Request
from flask_compress import Compress

# Text and WebAssembly: images, photos, archives and woff2 fonts are compressed already.
TEXT_TYPES = (
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript",
    "application/javascript", "application/json", "application/manifest+json",
    "application/problem+json", "image/svg+xml", "application/wasm",
)
# Below this a gzip header and the Vary costs more than it saves.
MIN_SIZE = 512
LEVEL = 6  # gzip's, for answers made per request

compress = Compress()

_compressed: dict[str, bytes] = {}
_lock = threading.Lock()


# In the order chosen when the client takes both.
ENCODINGS = ("br", "gzip")


def encoding_for(request: Request) -> str | None:
    """The encoding to send: the first of ENCODINGS the client accepts (q=0 is a refusal)."""
    accepted = set()
    for part in request.headers.get("Accept-Encoding", "").split(","):
        name, _, params = part.strip().partition(";")
        quality = params.strip().removeprefix("q=").strip()
        try:
            refused = bool(quality) and float(quality) <= 0
        except ValueError:
            refused = False
        if not refused:
            accepted.add(name.strip().lower())
    return next((name for name in ENCODINGS if name in accepted or "*" in accepted), None)


def worth_compressing(mimetype: str, size: int) -> bool:
    return mimetype in TEXT_TYPES and size >= MIN_SIZE


def compressed(path: str, etag: str, encoding: str) -> bytes:
    """A static file in `encoding`, made once for each content (`etag`)."""
    key = f"{path}\0{etag}\0{encoding}"
    with _lock:
        data = _compressed.get(key)
    if data is None:
        with open(path, "rb") as handle:
            plain = handle.read()
        # Brotli's top level takes seconds on the 1.4 MB HEIC decoder; one lower, a fraction.
        quality = 11 if len(plain) < 1 << 18 else 9
        data = brotli.compress(plain, quality=quality) if encoding == "br" else gzip.compress(plain, 9, mtime=0)
        with _lock:
            for old in [k for k in _compressed if k.startswith(path + "\0") and not k.startswith(path + "\0" + etag)]:
                del _compressed[old]
            _compressed[key] = data
    return data


def init_app(app: Flask) -> None:
    """Registered before the other after-request hooks, so it runs after them (last)."""
    app.config.setdefault("COMPRESS_ALGORITHM", list(ENCODINGS))
    app.config.setdefault("COMPRESS_MIMETYPES", list(TEXT_TYPES))
    app.config.setdefault("COMPRESS_MIN_SIZE", MIN_SIZE)
    app.config.setdefault("COMPRESS_LEVEL", LEVEL)
    app.config.setdefault("COMPRESS_BR_LEVEL", 5)
    # Streamed answers (files, exports) are sent as they are, never compressed chunk by chunk
    # without an ETag; static files come compressed from the static route.
    app.config.setdefault("COMPRESS_STREAMS", False)
    compress.init_app(app)
