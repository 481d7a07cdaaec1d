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
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

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
