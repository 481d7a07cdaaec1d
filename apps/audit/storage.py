"""Where audit archives are kept: a small interface, and a local-directory backend.

A backend stores whole objects under keys such as ``t_acme/00000000000000000001-00000000000000005000.jsonl.gz``.
Every method raises ``StorageError`` on failure, so the archiver can stop cleanly (nothing is deleted from the
table unless the chunk was written and read back intact).

Only the local backend exists for now (``NIMBUS_AUDIT_ARCHIVE_DIR``, by default ``.nimbus/audit-archives``): boto3
is not a dependency of Nimbus yet, so the ``S3_*`` settings are still not read. An S3 backend implements the same
four methods (``put`` / ``get`` / ``open`` / ``delete``) and is chosen in ``get_storage``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from django.conf import settings


class StorageError(Exception):
    """The archive storage could not write, read or delete an object."""


class ArchiveStorage(Protocol):
    def put(self, key: str, data: bytes) -> None: ...

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


def get_storage() -> ArchiveStorage:
    """The configured archive storage (read from settings on each call, so tests can point it elsewhere)."""
    return LocalArchiveStorage(settings.NIMBUS_AUDIT_ARCHIVE_DIR)
