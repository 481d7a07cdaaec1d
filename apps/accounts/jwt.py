"""JWT access and refresh tokens bound to the tenant that issued them (djangorestframework-simplejwt underneath).

User ids repeat across tenant schemas (user 1 exists in every tenant), so
every token names the schema it was issued in (claim ``tenant``) and is
refused, before anything is looked up, on any other tenant's host. The
refresh-token blacklist lives in each schema too.

Three more departures from simplejwt's stock classes, each for a reason:

* The signing key is derived from SECRET_KEY with a purpose label, at run
  time, so SECRET_KEY itself never signs a token (and SIMPLE_JWT needs no key).
* ``iat`` keeps sub-second precision: access tokens issued before
  ``User.tokens_valid_after`` are refused, and a revocation must not also
  refuse a token issued a few milliseconds after it in the same second.
* These classes never write: recording a refresh token as outstanding (by the
  SHA-256 digest of the token, never the token itself) and blacklisting it are
  ``apps.accounts.services``' business.

This module only builds and checks tokens; it reads the blacklist (through
simplejwt's check on decoding a refresh token) and nothing else.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.utils.crypto import salted_hmac
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings

TENANT_CLAIM = "tenant"
KEY_PURPOSE = "nimbus.accounts.jwt.signing-key"


@lru_cache(maxsize=2)
def _backend(secret_key: str) -> TokenBackend:
    key = salted_hmac(KEY_PURPOSE, "HS256", secret=secret_key, algorithm="sha256").hexdigest()
    return TokenBackend(
        api_settings.ALGORITHM,
        key,
        audience=api_settings.AUDIENCE,
        issuer=api_settings.ISSUER,
        leeway=api_settings.LEEWAY,
    )


def token_digest(encoded: str) -> str:
    """What is stored of a refresh token: enough to recognise it, useless to anyone who reads the table."""
    return "sha256:" + hashlib.sha256(encoded.encode()).hexdigest()


class TenantTokenMixin:
    """Tenant claim, derived signing key and sub-second ``iat`` for both token types."""

    payload: dict

    @property
    def token_backend(self) -> TokenBackend:
        return _backend(settings.SECRET_KEY)

    def verify(self) -> None:
        # First, so that a foreign token is refused before it is looked up in this schema's blacklist.
        if self.payload.get(TENANT_CLAIM) != connection.schema_name:
            raise TokenError("Token was issued for another tenant")
        super().verify()

    def set_iat(self, claim: str = "iat", at_time=None) -> None:
        self.payload[claim] = round((at_time or self.current_time).timestamp(), 6)

    @property
    def issued_at(self) -> float:
        return float(self.payload.get("iat", 0))


class AccessToken(TenantTokenMixin, tokens.AccessToken):
    """Short-lived; proves who calls. Checked by ``apps.accounts.api.authentication.JWTAuthentication``."""


class RefreshToken(TenantTokenMixin, tokens.RefreshToken):
    """Long-lived; exchanged once for a new pair. Its decoding refuses it when blacklisted in this schema."""

    access_token_class = AccessToken

    @classmethod
    def for_user(cls, user) -> RefreshToken:
        """A new, unrecorded refresh token for ``user`` of the current schema (simplejwt's would write a row)."""
        token = cls()
        token[api_settings.USER_ID_CLAIM] = str(getattr(user, api_settings.USER_ID_FIELD))
        token[TENANT_CLAIM] = connection.schema_name
        return token
