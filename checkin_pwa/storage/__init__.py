"""Where photo files live (CTFd style: storage behind an interface chosen by config).

The service layer only ever talks to a PhotoStore. A key is made by the store from
random bytes (never from a file name a phone sent) and names one immutable file:
a file is written once and never rewritten, so a key is also a stable ETag.
"""
from __future__ import annotations

import abc
import datetime as dt
import re
import secrets
from pathlib import Path
from typing import Iterator, Optional

from flask import Flask

# kind/ab/cd/<32 hex>.<ext>: the kind keeps evidence apart from derived copies on disk.
KINDS = ("evidence", "display", "thumb")
EXTENSIONS = ("jpg", "png", "webp", "heic")
KEY_PATTERN = re.compile(r"^(evidence|display|thumb)/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}\.(jpg|png|webp|heic)$")
# Notice attachments (R14) share the store, named by their content: the same file attached
# twice is stored once, and a key can never be a path a sender chose.
NOTICE_KEY_PATTERN = re.compile(r"^notices/[0-9a-f]{64}$")


class InvalidKey(ValueError):
    """A key the store did not make (a path trick, or a typo)."""


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


def check_key(key: str) -> str:
    if not isinstance(key, str) or not (KEY_PATTERN.match(key) or NOTICE_KEY_PATTERN.match(key)
                                        or AVATAR_KEY_PATTERN.match(key)):
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

    def local_path(self, key: str) -> Optional[Path]:
        """A path on this machine for send_file, if the store has one (else use read)."""
        return None

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

    def delete_leftover(self, key: str) -> None:
        """Remove a leftover that `keys` listed but that is not a valid key."""

    def ping(self) -> None:
        """Raise unless the store answers (for /readyz): by default, list one file."""
        next(iter(self.keys()), None)


def init_photo_store(app: Flask) -> PhotoStore:
    """The store named by PHOTO_STORE, as app.extensions["photo_store"]."""
    kind = app.config.get("PHOTO_STORE", "filesystem")
    if kind != "filesystem":
        raise RuntimeError(f"PHOTO_STORE={kind!r}: only 'filesystem' is available")
    from .filesystem import FilesystemPhotoStore

    root = app.config.get("PHOTO_STORAGE_DIR") or str(Path(app.instance_path) / "photos")
    store = FilesystemPhotoStore(root)
    app.extensions["photo_store"] = store
    return store
