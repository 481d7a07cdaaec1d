"""OIDC pieces of the configuration: the discovery document, fetched through the outbound guard and checked."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from apps.core import outbound

DISCOVERY_PATH = "/.well-known/openid-configuration"
ENDPOINTS = ("authorization_endpoint", "token_endpoint", "jwks_uri")
MAX_DISCOVERY_BYTES = 256_000


def secure_url_problem(url: str) -> str | None:
    """Why ``url`` may not name an IdP endpoint (None if it may): https, or http only to an allow-listed host."""
    parts = urlsplit(url)
    if not parts.hostname or parts.scheme not in ("https", "http"):
        return f"'{url}' is not an https URL."
    if parts.scheme == "http" and not outbound.host_allowed(parts.hostname):
        return f"'{url}' must use https (plain http is accepted only for hosts in NIMBUS_OUTBOUND_ALLOW)."
    return None


def issuer_problem(issuer: str) -> str | None:
    """Why ``issuer`` is not an acceptable issuer identifier (OpenID Connect Discovery: https, no query or fragment)."""
    parts = urlsplit(issuer)
    if parts.query or parts.fragment:
        return f"'{issuer}' must not have a query or fragment."
    return secure_url_problem(issuer)


def discover(issuer: str) -> dict:
    """The issuer's discovery document, checked: same issuer, the endpoints Nimbus needs, each an acceptable URL."""
    url = issuer.rstrip("/") + DISCOVERY_PATH
    try:
        fetched = outbound.fetch(url, max_bytes=MAX_DISCOVERY_BYTES, accept="application/json")
    except outbound.OutboundRefused as refused:
        raise ValidationError({"issuer": f"Discovery failed: {refused}"}) from None
    try:
        document = json.loads(fetched.content)
    except ValueError:
        raise ValidationError({"issuer": f"{url} did not answer with a JSON discovery document."}) from None
    if not isinstance(document, dict):
        raise ValidationError({"issuer": f"{url} did not answer with a JSON object."})
    if document.get("issuer") != issuer:
        raise ValidationError(
            {
                "issuer": f"The discovery document names the issuer '{document.get('issuer')}', not '{issuer}'; "
                "enter the issuer exactly as the IdP states it (a trailing slash counts)."
            }
        )
    found = {}
    for name in (*ENDPOINTS, "userinfo_endpoint"):
        value = document.get(name)
        if value in (None, "") and name == "userinfo_endpoint":
            found[name] = ""
            continue
        if not isinstance(value, str) or not value:
            raise ValidationError({"issuer": f"The discovery document has no {name}."})
        problem = secure_url_problem(value)
        if problem:
            raise ValidationError({"issuer": f"The discovery document's {name}: {problem}"})
        found[name] = value
    return found
