"""The default PhotoStore: files under PHOTO_STORAGE_DIR (default <instance>/photos),
outside static/, so nothing is served except through the routes that check the team."""
from __future__ import annotations

import datetime as dt
import errno
import os
import secrets
from pathlib import Path
from typing import Iterator, Optional

from flask import Response, send_file

from . import PhotoStore, check_key

_TEMP_MARK = ".tmp-"
_NO_HARD_LINKS = {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK}


def _publish(temp: Path, path: Path) -> None:
    """Give the written file its key's name, never replacing a file already there
    (FileExistsError): a hard link is made or fails as one step. On a filesystem without
    hard links, a check and then a rename (keys are random or the content's hash, so the
    moment between the two cannot swap one file for another)."""
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in _NO_HARD_LINKS:
            raise
        if path.exists():
            raise FileExistsError(errno.EEXIST, "already stored", str(path)) from None
        os.replace(temp, path)


class FilesystemPhotoStore(PhotoStore):
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def save(self, key: str, data: bytes) -> None:
        path = self._path(key)
        for folder in reversed(path.relative_to(self.root).parents[:-1]):  # each level owner-only
            (self.root / folder).mkdir(exist_ok=True, mode=0o700)
        temp = path.with_name(f"{path.name}{_TEMP_MARK}{secrets.token_hex(4)}")
        # O_EXCL: a key is written once; never follow or overwrite anything already there.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            _publish(temp, path)
        finally:
            temp.unlink(missing_ok=True)
        # The rename itself is durable only once the directory entry is on disk.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def ping(self) -> None:
        """The folder is there and this process may write in it (a lost mount, a full
        or read-only disk shows at the next upload otherwise)."""
        if not self.root.is_dir():
            raise FileNotFoundError(f"{self.root} is not a folder")
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise PermissionError(f"{self.root} is not writable")
        os.statvfs(self.root)

    def read(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def local_path(self, key: str) -> Path:
        return self._path(key)

    def response(self, key: str, *, mimetype: str, etag: str, last_modified: Optional[dt.datetime] = None,
                 disposition: Optional[str] = None) -> Response:
        # An open file, not a path: no Content-Disposition with the stored name.
        source = open(self._path(key), "rb")
        response = send_file(source, mimetype=mimetype, etag=etag, last_modified=last_modified, conditional=True)
        if disposition is not None:
            response.headers["Content-Disposition"] = disposition
        return response

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def keys(self) -> Iterator[tuple[str, dt.datetime]]:
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(dirpath) / name
                try:
                    mtime = path.stat().st_mtime
                except FileNotFoundError:  # deleted meanwhile
                    continue
                key = path.relative_to(self.root).as_posix()
                yield key, dt.datetime.fromtimestamp(mtime, dt.timezone.utc).replace(tzinfo=None)

    def delete_leftover(self, key: str) -> bool:
        """Only temporaries of interrupted writes: anything else is not ours to remove."""
        path = (self.root / key).resolve()
        if path.parent.is_relative_to(self.root) and _TEMP_MARK in path.name:
            path.unlink(missing_ok=True)
            return True
        return False
