"""Where photo files live (CTFd style: storage behind an interface chosen by config).

The service layer only ever talks to a PhotoStore. A key is made by the store from
random bytes (never from a file name a phone sent) and names one immutable file:
a file is written once and never rewritten, so a key is also a stable ETag.
"""
from __future__ import annotations

import abc
import datetime as dt
import errno
import re
import secrets
from pathlib import Path
from typing import Iterator, Optional

from flask import Flask, Response

# kind/ab/cd/<32 hex>.<ext>: the kind keeps evidence apart from derived copies on disk.
KINDS = ("evidence", "display", "thumb")
EXTENSIONS = ("jpg", "png", "webp", "heic")
KEY_PATTERN = re.compile(r"^(evidence|display|thumb)/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\.(jpg|png|webp|heic)$")
# Notice attachments (R14) share the store, named by their content: the same file attached
# twice is stored once, and a key can never be a path a sender chose.
NOTICE_KEY_PATTERN = re.compile(r"^notices/[0-9a-f]{64}$")


class InvalidKey(ValueError):
    """A key the store did not make (a path trick, or a typo)."""


class StoreUnavailable(OSError):
    """The store cannot be reached or refused to work (an object store down, answering 5xx,
    or refusing our keys). An OSError with EIO, so the web layer answers 503 with
    Retry-After like a full disk: nothing was stored, and a phone's outbox sends it again."""

    def __init__(self, message: str):
        super().__init__(errno.EIO, message)


def new_key(kind: str, extension: str) -> str:
    """A fresh random key; 128 bits, so it cannot be guessed or collide."""
    if kind not in KINDS or extension not in EXTENSIONS:
        raise InvalidKey(f"{kind}/{extension}")
    token = secrets.token_hex(16)
    return f"{kind}/{token[:2]}/{token[2:4]}/{token}.{extension}"


def notice_key(sha256_hex: str) -> str:
    """The key of a notice attachment: its SHA-256 under notices/."""
    return check_key(f"notices/{sha256_hex}")


# R1: auditors' avatars (square JPEGs re-encoded by services.accounts), a fresh key each time.
AVATAR_KEY_PATTERN = re.compile(r"^avatars/[0-9a-f]{2}/[0-9a-f]{32}\.jpg$")


def new_avatar_key() -> str:
    token = secrets.token_hex(16)
    return f"avatars/{token[:2]}/{token}.jpg"


# Finished XLSX exports (services.exports), so every app host can send one; a fresh key each.
EXPORT_KEY_PATTERN = re.compile(r"^exports/[0-9a-f]{32}\.xlsx$")


def new_export_key() -> str:
    return f"exports/{secrets.token_hex(16)}.xlsx"


def check_key(key: str) -> str:
    if not isinstance(key, str) or not (KEY_PATTERN.match(key) or NOTICE_KEY_PATTERN.match(key)
                                        or AVATAR_KEY_PATTERN.match(key) or EXPORT_KEY_PATTERN.match(key)):
        raise InvalidKey(repr(key))
    return key


class PhotoStore(abc.ABC):
    """Write-once files addressed by keys from `new_key`."""

    @abc.abstractmethod
    def save(self, key: str, data: bytes) -> None:
        """Write the whole file atomically: after a crash it is there in full or not at all."""

    @abc.abstractmethod
    def read(self, key: str) -> bytes:
        """The file's bytes; FileNotFoundError when absent."""

    @abc.abstractmethod
    def response(self, key: str, *, mimetype: str, etag: str, last_modified: Optional[dt.datetime] = None,
                 disposition: Optional[str] = None) -> Response:
        """The file as the answer to the current request: 200 with its bytes under `mimetype`
        (and `disposition` as Content-Disposition when given), or 304 when the client's copy
        is current (If-None-Match on `etag`, If-Modified-Since on `last_modified`); an object
        store may answer with a redirect to a short-lived URL of its own instead
        (S3_PRESIGN_SECONDS). FileNotFoundError when the file is absent. The caller adds
        its cache and nosniff headers."""

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the file; no error when it is already gone."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def keys(self) -> Iterator[tuple[str, dt.datetime]]:
        """Every stored file as (key, last modified, naive UTC), for orphan sweeps.
        Left-over temporary files of interrupted writes are listed too (their key is
        not a valid one: `delete_leftover` removes them)."""

    def delete_leftover(self, key: str) -> bool:
        """Remove a leftover that `keys` listed but that is not a valid key; True when it
        was one of ours and is gone."""
        return False

    def image_origin(self) -> Optional[str]:
        """An origin other than the app's that pages load images from (a presigning object
        store), for the Content-Security-Policy's img-src; None when files come from the app."""
        return None

    def ping(self) -> None:
        """Raise unless the store answers (for /readyz): by default, list one file."""
        next(iter(self.keys()), None)


def init_photo_store(app: Flask) -> PhotoStore:
    """The store named by PHOTO_STORE, as app.extensions["photo_store"]."""
    kind = app.config.get("PHOTO_STORE", "filesystem")
    if kind == "s3":
        try:
            from .s3 import S3PhotoStore
        except ImportError as error:
            raise RuntimeError(f"PHOTO_STORE=s3 needs boto3: pip install -r requirements-s3.txt ({error})") from error

        store: PhotoStore = S3PhotoStore.from_config(app.config)
    elif kind == "filesystem":
        from .filesystem import FilesystemPhotoStore

        root = app.config.get("PHOTO_STORAGE_DIR") or str(Path(app.instance_path) / "photos")
        store = FilesystemPhotoStore(root)
    else:
        raise RuntimeError(f"PHOTO_STORE={kind!r}: use 'filesystem' or 's3'")
    app.extensions["photo_store"] = store
    return store
