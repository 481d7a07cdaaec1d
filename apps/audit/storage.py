"""Where audit archives are kept: a small interface, and a local-directory backend.

A backend stores whole objects under keys such as ``t_acme/00000000000000000001-00000000000000005000.jsonl.gz``.
Every method raises ``StorageError`` on failure, so the archiver can stop cleanly (nothing is deleted from the
table unless the chunk was written and read back intact).

Two backends: a local directory (``NIMBUS_AUDIT_ARCHIVE_DIR``, by default ``.nimbus/audit-archives``), and any
S3 API endpoint through boto3 when ``S3_ENDPOINT_URL`` is set (with ``S3_BUCKET``, ``S3_ACCESS_KEY_ID``,
``S3_SECRET_ACCESS_KEY``, ``S3_REGION``) — MinIO in docker-compose.yml. Verified here only against moto's S3
server run in the tests, not against AWS or MinIO themselves.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from django.conf import settings


class StorageError(Exception):
    """The archive storage could not write, read or delete an object."""


class ArchiveStorage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

    def put_file(self, key: str, path: str | os.PathLike) -> None: ...

    def get(self, key: str) -> bytes: ...

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...


class LocalArchiveStorage:
    """Objects as files under ``root``; a file is written under a temporary name, synced, then renamed in place."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def path(self, key: str) -> Path:
        parts = PurePosixPath(key).parts
        if not parts or key.startswith("/") or any(part in ("..", ".", "") for part in parts):
            raise StorageError(f"Invalid archive key {key!r}.")
        return self.root.joinpath(*parts)

    def put(self, key: str, data: bytes) -> None:
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"Could not write archive object {key!r}: {exc}") from exc

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        """Copy a (possibly large) file in, without reading it into memory; same temporary-name-then-rename."""
        target = self.path(key)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
            try:
                with os.fdopen(fd, "wb") as out, open(path, "rb") as source:
                    shutil.copyfileobj(source, out, 1024 * 1024)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temporary, target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
        except OSError as exc:
            raise StorageError(f"Could not write archive object {key!r}: {exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except OSError as exc:
            raise StorageError(f"Could not read archive object {key!r}: {exc}") from exc

    def open(self, key: str) -> BinaryIO:
        try:
            return self.path(key).open("rb")
        except OSError as exc:
            raise StorageError(f"Could not read archive object {key!r}: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"Could not delete archive object {key!r}: {exc}") from exc


class S3ArchiveStorage:
    """Objects in one bucket of an S3 API endpoint; every client error becomes a ``StorageError``."""

    def __init__(self, *, endpoint_url: str, bucket: str, access_key: str, secret_key: str, region: str):
        import boto3
        from botocore.config import Config

        self.bucket = bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key or None,
            aws_secret_access_key=secret_key or None,
            region_name=region,
            config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=5, read_timeout=30),
        )

    def _call(self, what: str, key: str, call):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return call()
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"Could not {what} archive object {key!r}: {exc}") from exc

    def put(self, key: str, data: bytes) -> None:
        self._call("write", key, lambda: self.client.put_object(Bucket=self.bucket, Key=key, Body=data))

    def put_file(self, key: str, path: str | os.PathLike) -> None:
        # upload_file switches to a multipart upload for large files.
        self._call("write", key, lambda: self.client.upload_file(str(path), self.bucket, key))

    def get(self, key: str) -> bytes:
        return self._call("read", key, lambda: self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def open(self, key: str) -> BinaryIO:
        # The response body streams: a large export is never read into memory whole.
        return self._call("read", key, lambda: self.client.get_object(Bucket=self.bucket, Key=key)["Body"])

    def delete(self, key: str) -> None:
        self._call("delete", key, lambda: self.client.delete_object(Bucket=self.bucket, Key=key))


def get_storage() -> ArchiveStorage:
    """The configured archive storage (read from settings on each call, so tests can point it elsewhere)."""
    if settings.S3_ENDPOINT_URL:
        return S3ArchiveStorage(
            endpoint_url=settings.S3_ENDPOINT_URL,
            bucket=settings.S3_BUCKET,
            access_key=settings.S3_ACCESS_KEY_ID,
            secret_key=settings.S3_SECRET_ACCESS_KEY,
            region=settings.S3_REGION,
        )
    return LocalArchiveStorage(settings.NIMBUS_AUDIT_ARCHIVE_DIR)
