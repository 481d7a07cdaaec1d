"""Encryption at rest for secrets kept in the database (an IdP's client secret, a SAML private key).

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) through a
``MultiFernet``, so keys rotate without downtime:

* ``NIMBUS_ENCRYPTION_KEYS`` lists Fernet keys (comma-separated in the
  environment). The first encrypts; every one of them decrypts. To rotate,
  put a new key first and keep the old ones after it; a row is re-encrypted
  with the first key whenever it is saved (``rotate`` does it for one value);
  drop an old key only once nothing written with it is left.
* Unset, one key is derived from ``SECRET_KEY`` with HKDF-SHA256. That is the
  development default: secrets then change with ``SECRET_KEY``, so production
  names its own keys.

``EncryptedTextField`` stores the token and gives Python the plain text. The
plain text must never be logged, rendered or sent out by the API: forms show
it as an empty password input, serializers make it write-only.

Why not a library: django-fernet-encrypted-fields (maintained) derives its
keys from ``SECRET_KEY`` plus salts, so keys could not be given directly or
outlive a ``SECRET_KEY`` change; django-cryptography has had no release
since 2022. The helper below is small enough to own.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

# Names what the derived key is for, so the same SECRET_KEY never yields the same bytes for another purpose.
_HKDF_INFO = b"nimbus:encryption-at-rest:v1"


class DecryptionError(Exception):
    """A stored value none of the configured keys can open (a key was dropped too early, or the value was altered)."""


def generate_key() -> str:
    """A new random key for ``NIMBUS_ENCRYPTION_KEYS``."""
    return Fernet.generate_key().decode()


def derived_key(secret_key: str) -> bytes:
    """The development key: HKDF-SHA256 of ``SECRET_KEY``, as a Fernet key."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret_key.encode())
    return base64.urlsafe_b64encode(raw)


def _configured() -> tuple[tuple[str, ...], str]:
    keys = getattr(settings, "NIMBUS_ENCRYPTION_KEYS", None) or ()
    if isinstance(keys, str):
        keys = keys.split(",")
    return tuple(k.strip() for k in keys if k and k.strip()), settings.SECRET_KEY


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        if not secret_key:
            raise ImproperlyConfigured("Set NIMBUS_ENCRYPTION_KEYS (or at least SECRET_KEY) to encrypt secrets.")
        return MultiFernet([Fernet(derived_key(secret_key))])
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key.encode()))
        except ValueError:
            raise ImproperlyConfigured(
                f"NIMBUS_ENCRYPTION_KEYS: key {position} is not a Fernet key (32 url-safe base64-encoded bytes); "
                "make one with `python -c 'from apps.core.crypto import generate_key; print(generate_key())'`."
            ) from None
    return MultiFernet(fernets)


def fernet() -> MultiFernet:
    """The MultiFernet of the current settings (cached per key set, so overriding settings in tests just works)."""
    return _fernet_for(*_configured())


def encrypt(plain: str) -> str:
    return fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with any key in NIMBUS_ENCRYPTION_KEYS; "
            "restore the key it was written with (keep old keys after the new one while rotating)."
        ) from None


def rotate(token: str) -> str:
    """The same secret, re-encrypted with the first key."""
    try:
        return fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError(
            "A stored secret cannot be decrypted with any configured key, so it cannot be rotated."
        ) from None


class EncryptedTextField(models.TextField):
    """Text kept encrypted in the database and plain in Python; the empty string stays empty (nothing to hide).

    Values cannot be searched or compared in SQL (each encryption differs). A
    value none of the keys opens raises ``DecryptionError`` when the row is read.
    """

    description = "Text encrypted at rest (Fernet)"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
