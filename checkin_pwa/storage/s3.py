"""PhotoStore on an S3-compatible object store (PHOTO_STORE=s3): AWS S3, MinIO, Alibaba
Cloud OSS, Tencent COS (docs/storage.md). boto3 is an optional extra (requirements-s3.txt).

Write-once: every put is conditional (If-None-Match: *), so a key that is already there
answers 412 and is never overwritten. A server that does not implement conditional puts
(501 NotImplemented) is remembered, and from then on a put first asks whether the key
exists (a HEAD) and writes only when it does not: keys are 128 random bits or the file's
own SHA-256, so the moment between the two cannot overwrite one file with another.

Files are answered through the app by default (streamed from the store: the phone needs to
reach only the app, and the page's CSP stays 'self'); with S3_PRESIGN_SECONDS > 0 the app
answers with a redirect to a presigned URL valid that many seconds, for stores the phones
can reach themselves (the store's origin is then allowed in img-src).

Every failure to reach the store, or an answer of 5xx, a refused signature or a missing
bucket, is StoreUnavailable (503 for the request); a missing key is FileNotFoundError.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from typing import Iterator, Optional
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from flask import Response, redirect, request
from werkzeug.http import is_resource_modified

from . import InvalidKey, PhotoStore, StoreUnavailable, check_key

log = logging.getLogger(__name__)

_CHUNK = 64 * 1024
_MISSING = {"404", "NoSuchKey", "NotFound"}
_EXISTS = {"412", "PreconditionFailed"}
_NOT_IMPLEMENTED = {"501", "NotImplemented"}


class NotImplementedByStore(StoreUnavailable):
    """The store answered 501: it does not implement what the request asked for."""


_SESSION_LOCK = threading.Lock()
_SESSIONS: list = []


def _session():
    """One boto3 session per process: its clients share the parsed service model."""
    if not _SESSIONS:
        _SESSIONS.append(boto3.session.Session())
    return _SESSIONS[0]


class S3PhotoStore(PhotoStore):
    def __init__(self, bucket: str, *, endpoint_url: Optional[str] = None, region: Optional[str] = None,
                 access_key_id: Optional[str] = None, secret_access_key: Optional[str] = None,
                 addressing_style: str = "path", presign_seconds: int = 0):
        if not bucket:
            raise RuntimeError("PHOTO_STORE=s3 needs S3_BUCKET (the bucket's name)")
        if addressing_style not in ("path", "virtual"):
            raise RuntimeError(f"S3_ADDRESSING_STYLE={addressing_style!r}: use 'path' or 'virtual'")
        self.bucket = bucket
        self.presign_seconds = max(0, int(presign_seconds))
        self.conditional_put = True
        self._origin: Optional[str] = None
        config = Config(
            region_name=region or "us-east-1",
            signature_version="s3v4",
            s3={"addressing_style": addressing_style},
            # One retry, short timeouts: an upload waits seconds, not minutes, for a store
            # that is down, and the phone's outbox sends it again later.
            retries={"mode": "standard", "total_max_attempts": 2},
            connect_timeout=3,
            read_timeout=20,
            max_pool_connections=20,
            # S3-compatible stores (OSS, COS, older MinIO) refuse or mangle the CRC
            # checksums that botocore adds by default since 1.36: only where required.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        with _SESSION_LOCK:  # a client is thread-safe once made; making one is not
            self._client = _session().client(
                "s3", endpoint_url=endpoint_url or None, aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None, config=config)

    @classmethod
    def from_config(cls, config) -> "S3PhotoStore":
        return cls(
            config.get("S3_BUCKET") or "",
            endpoint_url=config.get("S3_ENDPOINT_URL"),
            region=config.get("S3_REGION"),
            access_key_id=config.get("S3_ACCESS_KEY_ID"),
            secret_access_key=config.get("S3_SECRET_ACCESS_KEY"),
            addressing_style=config.get("S3_ADDRESSING_STYLE") or "path",
            presign_seconds=int(config.get("S3_PRESIGN_SECONDS") or 0),
        )

    @contextlib.contextmanager
    def _calls(self, what: str):
        """Store errors as the interface names them."""
        try:
            yield
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            status = str(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
            if code in _MISSING or (status == "404" and code != "NoSuchBucket"):
                raise FileNotFoundError(what) from error
            if code in _EXISTS or status == "412":
                raise FileExistsError(what) from error
            if code in _NOT_IMPLEMENTED or status in _NOT_IMPLEMENTED:
                raise NotImplementedByStore(f"object store s3://{self.bucket}: {what}: {error}") from error
            raise StoreUnavailable(f"object store s3://{self.bucket}: {what}: {code or status} {error}") from error
        except BotoCoreError as error:  # unreachable, timed out, connection dropped, no credentials
            raise StoreUnavailable(f"object store s3://{self.bucket}: {what}: {error}") from error

    def save(self, key: str, data: bytes) -> None:
        """One PUT: S3 stores an object whole or not at all, so nothing is left half written.
        FileExistsError when the key is already there."""
        check_key(key)
        if self.conditional_put:
            try:
                with self._calls(key):
                    self._client.put_object(Bucket=self.bucket, Key=key, Body=data, IfNoneMatch="*")
                return
            except NotImplementedByStore:
                log.warning("s3://%s does not implement conditional puts (If-None-Match): "
                            "writing after a HEAD instead (docs/storage.md)", self.bucket)
                self.conditional_put = False
        if self.exists(key):
            raise FileExistsError(key)
        with self._calls(key):
            self._client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def read(self, key: str) -> bytes:
        with self._calls(check_key(key)):
            answer = self._client.get_object(Bucket=self.bucket, Key=key)
            with contextlib.closing(answer["Body"]) as body:
                return body.read()

    def delete(self, key: str) -> None:
        with self._calls(check_key(key)):
            self._client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        try:
            with self._calls(check_key(key)):
                self._client.head_object(Bucket=self.bucket, Key=key)
        except FileNotFoundError:
            return False
        return True

    def keys(self) -> Iterator[tuple[str, dt.datetime]]:
        """Every file of ours in the bucket. A PUT leaves no temporaries behind (an object is
        stored whole or not at all), and objects that are not our keys (someone else's in a
        shared bucket) are not listed, so the sweep never touches them."""
        with self._calls("list"):
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
                for item in page.get("Contents", ()):
                    try:
                        check_key(item["Key"])
                    except InvalidKey:
                        continue
                    modified = item["LastModified"].astimezone(dt.timezone.utc).replace(tzinfo=None)
                    yield item["Key"], modified

    def ping(self) -> None:
        """The bucket answers (for /readyz): one HEAD, no listing."""
        try:
            with self._calls("bucket"):
                self._client.head_bucket(Bucket=self.bucket)
        except FileNotFoundError:
            raise StoreUnavailable(f"object store: no bucket {self.bucket!r}") from None

    def _presigned_url(self, key: str, mimetype: str, disposition: Optional[str]) -> str:
        params = {"Bucket": self.bucket, "Key": key, "ResponseContentType": mimetype,
                  "ResponseCacheControl": "private, no-store"}
        if disposition is not None:
            params["ResponseContentDisposition"] = disposition
        with self._calls(key):
            return self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=self.presign_seconds)

    def image_origin(self) -> Optional[str]:
        if not self.presign_seconds:
            return None
        if self._origin is None:  # where a presigned URL points (path or virtual-host style)
            parts = urlsplit(self._presigned_url(f"notices/{'0' * 64}", "image/jpeg", None))
            self._origin = f"{parts.scheme}://{parts.netloc}"
        return self._origin

    def response(self, key: str, *, mimetype: str, etag: str, last_modified: Optional[dt.datetime] = None,
                 disposition: Optional[str] = None) -> Response:
        check_key(key)
        # The ETag is the caller's (a key names one immutable file): a current copy costs
        # the store nothing.
        if not is_resource_modified(request.environ, etag=etag, last_modified=last_modified):
            response = Response(status=304)
        elif self.presign_seconds:
            return redirect(self._presigned_url(key, mimetype, disposition), code=302)
        else:
            with self._calls(key):
                answer = self._client.get_object(Bucket=self.bucket, Key=key)
            body = answer["Body"]
            response = Response(_chunks(body), mimetype=mimetype, direct_passthrough=True)
            response.content_length = answer["ContentLength"]
            response.call_on_close(body.close)
            if disposition is not None:
                response.headers["Content-Disposition"] = disposition
        response.set_etag(etag)
        if last_modified is not None:
            response.last_modified = last_modified
        return response


def _chunks(body) -> Iterator[bytes]:
    yield from body.iter_chunks(_CHUNK)
