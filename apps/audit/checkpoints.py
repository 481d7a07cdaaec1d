"""Signed checkpoints of the audit chain: the chain head at some ``seq``, signed with the schema's own key.

The hash chain shows that no sealed event was edited, inserted, reordered or
deleted from the middle; on its own it cannot show that the newest events
were not deleted from the end. A checkpoint can: it records ``(seq, hash)``
of an event signed with HMAC-SHA256, and ``verify_chain`` requires the
latest checkpoint's event to be there with that hash. Without the key (held
by the application, never in the database) nobody can write a checkpoint
that verifies.

The key of a schema is derived from ``SECRET_KEY`` with HKDF-SHA256
(RFC 5869, written out below with ``hmac``, so no extra dependency):

    PRK = HMAC-SHA256(key="nimbus.audit.checkpoint", msg=SECRET_KEY)
    key = HMAC-SHA256(key=PRK, msg="<key id>\\n<schema name>" + 0x01)

and the signature covers ``"<schema name>\\n<seq>\\n<hash>"``. The key id
(``KEY_ID``) names that derivation and is stored with each checkpoint: a
later derivation (another secret, another salt) gets a new id and an entry
in ``DERIVATIONS``, and checkpoints signed under the old id still verify as
long as the old one is kept there.

Checkpoints live in the same database as the events, so someone who can
delete the newest events *and* their checkpoints leaves a chain that
verifies. ``export_line`` / ``read_export`` write and read them as JSON Lines
(``manage.py export_checkpoints``) to be kept outside the database;
``verify_chain(exported=…)`` (``verify_chain --checkpoints FILE``) holds the
chain to such a copy.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .models import AuditCheckpoint

SALT = b"nimbus.audit.checkpoint"
KEY_ID = "hkdf-sha256:secret-key:v1"


def _hkdf_sha256(secret: bytes, *, salt: bytes, info: bytes, length: int = 32) -> bytes:
    prk = hmac.new(salt, secret, hashlib.sha256).digest()
    okm, block, counter = b"", b"", 1
    while len(okm) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        okm, counter = okm + block, counter + 1
    return okm[:length]


def _secret_key_v1(schema_name: str) -> bytes:
    return _hkdf_sha256(settings.SECRET_KEY.encode(), salt=SALT, info=f"{KEY_ID}\n{schema_name}".encode())


# key id -> derivation of a schema's key. Keep an old id here after rotating, to verify what it signed.
DERIVATIONS: dict[str, Callable[[str], bytes]] = {KEY_ID: _secret_key_v1}


def signature(schema_name: str, seq: int, hash_: str, *, key_id: str = KEY_ID) -> str:
    key = DERIVATIONS[key_id](schema_name)
    return hmac.new(key, f"{schema_name}\n{seq}\n{hash_}".encode(), hashlib.sha256).hexdigest()


def is_authentic(checkpoint: AuditCheckpoint, schema_name: str | None = None) -> bool:
    """Whether ``checkpoint`` was signed with the key of ``schema_name`` (the current schema by default)."""
    if checkpoint.key_id not in DERIVATIONS:
        return False
    schema_name = schema_name or connection.schema_name
    expected = signature(schema_name, checkpoint.seq, checkpoint.hash, key_id=checkpoint.key_id)
    return hmac.compare_digest(expected, checkpoint.signature)


def store(seq: int, hash_: str) -> AuditCheckpoint:
    """Sign and store a checkpoint of the current schema's chain at ``seq`` (idempotent per ``seq``)."""
    checkpoint, _ = AuditCheckpoint.objects.get_or_create(
        seq=seq,
        defaults={
            "hash": hash_,
            "signed_at": timezone.now(),
            "signature": signature(connection.schema_name, seq, hash_),
            "key_id": KEY_ID,
        },
    )
    return checkpoint


def latest() -> AuditCheckpoint | None:
    return AuditCheckpoint.objects.order_by("-seq").first()


# --- Copies kept outside the database -----------------------------------------------------------

EXPORT_FIELDS = ("schema", "seq", "hash", "signature", "key_id", "created_at")
_HEX64 = re.compile(r"[0-9a-f]{64}")


class ForeignExport(ValueError):
    """An export holding another schema's checkpoints: the wrong file, not a broken chain."""


@dataclass(frozen=True)
class ExportedCheckpoint:
    """One line of an export: a checkpoint as it was signed, and the schema whose key signed it."""

    schema: str
    seq: int
    hash: str
    signature: str
    key_id: str
    created_at: str  # when it was signed (the row's ``signed_at``), UTC ISO 8601


def export_line(checkpoint: AuditCheckpoint, schema_name: str) -> str:
    """One JSON Lines record of ``checkpoint`` (no newline): everything needed to verify it without the database."""
    return json.dumps(
        {
            "schema": schema_name,
            "seq": checkpoint.seq,
            "hash": checkpoint.hash,
            "signature": checkpoint.signature,
            "key_id": checkpoint.key_id,
            "created_at": checkpoint.signed_at.astimezone(UTC).isoformat(),
        },
        sort_keys=True,
    )


def read_export(lines: Iterable[str]) -> list[ExportedCheckpoint]:
    """Parse an export; a line that is not a checkpoint raises ``ValueError`` naming the line and what is wrong."""
    entries = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            raise ValueError(f"line {number} is not JSON") from None
        if not isinstance(record, dict):
            raise ValueError(f"line {number} is not a JSON object")
        missing = [name for name in EXPORT_FIELDS if name not in record]
        if missing:
            raise ValueError(f"line {number} lacks {', '.join(missing)}")
        seq = record["seq"]
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
            raise ValueError(f"line {number}: seq must be a whole number from 1")
        for name in ("hash", "signature"):
            if not isinstance(record[name], str) or not _HEX64.fullmatch(record[name]):
                raise ValueError(f"line {number}: {name} must be 64 lower-case hex digits")
        for name in ("schema", "key_id", "created_at"):
            if not isinstance(record[name], str) or not record[name]:
                raise ValueError(f"line {number}: {name} must be a non-empty string")
        entries.append(ExportedCheckpoint(**{name: record[name] for name in EXPORT_FIELDS}))
    return entries
