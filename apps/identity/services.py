"""Writes of identity: add, change, enable, disable, make default and delete identity providers; SSO-only.

Every change is validated here (issuer discovery and SAML metadata are
fetched through ``apps.core.outbound`` and checked), written in one
transaction and recorded as ``identity:provider:create|update|delete`` (or
``identity:settings:update``); SCIM tokens are created and revoked here
(``identity:scim_token:create|revoke``, never with the token). Events name the fields that changed; secrets
appear only as "(changed)", never their value. The slug is fixed at creation:
the SP metadata and ACS URLs contain it, and IdPs keep them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import connection, transaction
from django.utils import timezone

from apps.access import services as access_services
from apps.audit.models import Outcome
from apps.audit.recorder import SYSTEM, record
from apps.core import outbound

from . import oidc, saml
from .models import (
    DEFAULT_SCOPES,
    ClaimMapping,
    IdentityProvider,
    IdentitySettings,
    MappingOperator,
    ProviderKind,
    ScimToken,
)

KIND = "identity:provider"
SECRET_FIELDS = {"client_secret", "sp_private_key"}
# Fields an event shows old and new values of; others (cached endpoints, certificates) are named only.
SHOWN_FIELDS = {"name", "enabled", "is_default", "link_by_email", "issuer", "client_id", "scopes", "metadata_url"}
SCOPE_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")  # RFC 6749 scope-token characters
MAX_METADATA_BYTES = saml.MAX_METADATA_BYTES


def _audit(action: str, actor, provider: IdentityProvider, changes: dict | None = None) -> None:
    record(
        action,
        actor=actor,
        resource_type=KIND,
        resource_id=provider.pk,
        resource_display=provider.name,
        changes=changes or {},
        metadata={"kind": provider.kind, "slug": provider.slug},
    )


def _diff(before: dict, after: IdentityProvider) -> dict:
    changes = {}
    for field, old in before.items():
        new = getattr(after, field)
        if old == new:
            continue
        if field in SECRET_FIELDS:
            changes[field] = "(changed)"
        elif field in SHOWN_FIELDS:
            changes[field] = [old, new]
        else:
            changes[field] = "(updated)"
    return changes


def _snapshot(provider: IdentityProvider) -> dict:
    return {
        f.attname: getattr(provider, f.attname) for f in provider._meta.concrete_fields if f.attname != "updated_at"
    }


def _checked_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Give the provider a name people will recognise on the sign-in page."})
    if len(name) > 100:
        raise ValidationError({"name": "Keep the name to 100 characters or fewer."})
    return name


def _checked_slug(slug: str) -> str:
    slug = (slug or "").strip().lower()
    try:
        validate_slug(slug)
    except ValidationError:
        raise ValidationError(
            {"slug": "Use letters, digits, hyphens and underscores only (it appears in URLs)."}
        ) from None
    if len(slug) > 50:
        raise ValidationError({"slug": "Keep the slug to 50 characters or fewer."})
    if IdentityProvider.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": f"A provider with the slug '{slug}' exists already; choose another."})
    return slug


def _checked_scopes(scopes: str) -> str:
    tokens = (scopes or "").split()
    if not tokens:
        return DEFAULT_SCOPES
    if "openid" not in tokens:
        raise ValidationError({"scopes": "The scopes must include 'openid' (OpenID Connect needs it)."})
    bad = [t for t in tokens if not SCOPE_TOKEN.match(t)]
    if bad:
        raise ValidationError({"scopes": f"Not valid scope names: {', '.join(bad)}."})
    return " ".join(dict.fromkeys(tokens))


def _apply_discovery(provider: IdentityProvider, issuer: str) -> None:
    issuer = (issuer or "").strip()
    if not issuer:
        raise ValidationError({"issuer": "Enter the issuer URL of the OpenID provider."})
    problem = oidc.issuer_problem(issuer)
    if problem:
        raise ValidationError({"issuer": problem})
    found = oidc.discover(issuer)
    provider.issuer = issuer
    for name, value in found.items():
        setattr(provider, name, value)
    provider.discovery_fetched_at = timezone.now()


def _apply_metadata(provider: IdentityProvider, *, metadata_url: str, metadata_xml: str) -> None:
    metadata_url, metadata_xml = (metadata_url or "").strip(), (metadata_xml or "").strip()
    if bool(metadata_url) == bool(metadata_xml):
        raise ValidationError({"metadata": "Give the IdP metadata either by URL or as uploaded XML (one of the two)."})
    if metadata_url:
        problem = oidc.secure_url_problem(metadata_url)
        if problem:
            raise ValidationError({"metadata_url": problem})
        try:
            fetched = outbound.fetch(metadata_url, max_bytes=MAX_METADATA_BYTES, accept="application/samlmetadata+xml")
        except outbound.OutboundRefused as refused:
            raise ValidationError({"metadata_url": f"Fetching the metadata failed: {refused}"}) from None
        metadata_xml = fetched.content.decode("utf-8", errors="replace")
    parsed = saml.parse_idp_metadata(metadata_xml)
    provider.metadata_url = metadata_url
    provider.metadata_xml = metadata_xml
    provider.idp_entity_id = parsed.entity_id
    provider.idp_sso_url = parsed.sso_url
    provider.idp_signing_certificate = parsed.signing_certificate
    provider.idp_slo_url = parsed.slo_url
    provider.metadata_fetched_at = timezone.now()


def _save_new(provider: IdentityProvider, actor, *, is_default: bool) -> IdentityProvider:
    with transaction.atomic():
        if is_default:
            if not provider.enabled:
                raise ValidationError({"is_default": "Only an enabled provider can be the default."})
            IdentityProvider.objects.filter(is_default=True).update(is_default=False)
            provider.is_default = True
        provider.save(force_insert=True)
        _audit(
            "identity:provider:create",
            actor,
            provider,
            {f: getattr(provider, f) for f in sorted(SHOWN_FIELDS) if getattr(provider, f) not in ("", None)},
        )
    return provider


def provider_create_oidc(
    *,
    actor=None,
    name: str,
    slug: str,
    issuer: str,
    client_id: str,
    client_secret: str,
    scopes: str = DEFAULT_SCOPES,
    enabled: bool = True,
    is_default: bool = False,
    link_by_email: bool = False,
) -> IdentityProvider:
    """Add an OpenID Connect provider; its discovery document is fetched and checked now (issuer must match)."""
    provider = IdentityProvider(
        kind=ProviderKind.OIDC,
        name=_checked_name(name),
        slug=_checked_slug(slug),
        enabled=bool(enabled),
        link_by_email=bool(link_by_email),
        scopes=_checked_scopes(scopes),
    )
    provider.client_id = (client_id or "").strip()
    if not provider.client_id:
        raise ValidationError({"client_id": "Enter the client id the OpenID provider gave Nimbus."})
    if not client_secret:
        raise ValidationError({"client_secret": "Enter the client secret the OpenID provider gave Nimbus."})
    provider.client_secret = client_secret
    _apply_discovery(provider, issuer)
    return _save_new(provider, actor, is_default=is_default)


def provider_create_saml(
    *,
    actor=None,
    name: str,
    slug: str,
    metadata_url: str = "",
    metadata_xml: str = "",
    enabled: bool = True,
    is_default: bool = False,
    link_by_email: bool = False,
) -> IdentityProvider:
    """Add a SAML 2.0 provider from its metadata (URL or XML); Nimbus makes the SP key pair and certificate."""
    provider = IdentityProvider(
        kind=ProviderKind.SAML,
        name=_checked_name(name),
        slug=_checked_slug(slug),
        enabled=bool(enabled),
        link_by_email=bool(link_by_email),
        scopes="",
    )
    _apply_metadata(provider, metadata_url=metadata_url, metadata_xml=metadata_xml)
    provider.sp_private_key, provider.sp_certificate = saml.generate_sp_key_pair(
        f"Nimbus SP {connection.schema_name}/{provider.slug}"
    )
    return _save_new(provider, actor, is_default=is_default)


def provider_update(
    *,
    actor=None,
    provider: IdentityProvider,
    name: str | None = None,
    link_by_email: bool | None = None,
    issuer: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    scopes: str | None = None,
    metadata_url: str | None = None,
    metadata_xml: str | None = None,
    refresh: bool = False,
) -> IdentityProvider:
    """Change a provider. ``None`` (or an empty client secret) keeps a value; OIDC fields only on OIDC providers.

    A new issuer, or ``refresh``, fetches discovery again; new metadata (or
    ``refresh`` of a URL) reads the IdP metadata again.
    """
    is_oidc = provider.kind == ProviderKind.OIDC
    given_oidc = [n for n, v in (("issuer", issuer), ("client_id", client_id), ("scopes", scopes)) if v is not None]
    given_saml = [n for n, v in (("metadata_url", metadata_url), ("metadata_xml", metadata_xml)) if v is not None]
    wrong = given_saml if is_oidc else [*given_oidc, *(["client_secret"] if client_secret else [])]
    if wrong:
        raise ValidationError({field: f"A {provider.get_kind_display()} provider has no {field}." for field in wrong})
    with transaction.atomic():
        provider = IdentityProvider.objects.select_for_update().get(pk=provider.pk)
        before = _snapshot(provider)
        if name is not None:
            provider.name = _checked_name(name)
        if link_by_email is not None:
            provider.link_by_email = bool(link_by_email)
        if is_oidc:
            if client_id is not None:
                if not client_id.strip():
                    raise ValidationError({"client_id": "The client id cannot be empty."})
                provider.client_id = client_id.strip()
            if client_secret:
                provider.client_secret = client_secret
            if scopes is not None:
                provider.scopes = _checked_scopes(scopes)
            if (issuer is not None and issuer.strip() != provider.issuer) or refresh:
                _apply_discovery(provider, provider.issuer if issuer is None else issuer)
        elif given_saml or refresh:
            url = provider.metadata_url if metadata_url is None else metadata_url
            xml = metadata_xml if metadata_xml is not None else ("" if url else provider.metadata_xml)
            if metadata_xml and metadata_xml.strip() and metadata_url is None:
                url = ""  # uploading XML replaces a metadata URL
            _apply_metadata(provider, metadata_url=url, metadata_xml=xml)
        changes = _diff(before, provider)
        if changes:
            provider.save()
            _audit("identity:provider:update", actor, provider, changes)
    return provider


def _require_not_last_for_sso_only(provider: IdentityProvider, verb: str) -> None:
    settings_row = IdentitySettings.objects.filter(pk=1).first()
    if settings_row and settings_row.sso_only:
        others = IdentityProvider.objects.filter(enabled=True).exclude(pk=provider.pk)
        if not others.exists():
            raise ValidationError(
                f"'{provider.name}' is the last enabled provider and sign-in is SSO-only: "
                f"turn SSO-only off before you {verb} it."
            )


def provider_enable(*, actor=None, provider: IdentityProvider) -> IdentityProvider:
    return _set_flags(actor, provider, enabled=True)


def provider_disable(*, actor=None, provider: IdentityProvider) -> IdentityProvider:
    """Disable a provider; a default provider stops being the default."""
    _require_not_last_for_sso_only(provider, "disable")
    return _set_flags(actor, provider, enabled=False, is_default=False)


def provider_set_default(*, actor=None, provider: IdentityProvider, is_default: bool = True) -> IdentityProvider:
    """Make ``provider`` the tenant's default (the only one), or stop it being the default."""
    if is_default and not provider.enabled:
        raise ValidationError("Only an enabled provider can be the default: enable it first.")
    return _set_flags(actor, provider, is_default=is_default)


def _set_flags(actor, provider: IdentityProvider, **flags) -> IdentityProvider:
    with transaction.atomic():
        if flags.get("is_default"):
            IdentityProvider.objects.filter(is_default=True).exclude(pk=provider.pk).update(is_default=False)
        provider = IdentityProvider.objects.select_for_update().get(pk=provider.pk)
        before = _snapshot(provider)
        for field, value in flags.items():
            setattr(provider, field, value)
        changes = _diff(before, provider)
        if changes:
            provider.save()
            _audit("identity:provider:update", actor, provider, changes)
    return provider


def provider_delete(*, actor=None, provider: IdentityProvider) -> None:
    _require_not_last_for_sso_only(provider, "delete")
    with transaction.atomic():
        _audit("identity:provider:delete", actor, provider, {"name": provider.name, "kind": provider.kind})
        provider.delete()


def providers_refresh() -> dict[str, int]:
    """Read again every enabled provider's discovery document or metadata URL (the schedule's daily work).

    A document that changed (new endpoints, a rolled-over signing certificate) updates the provider; one
    that cannot be read or no longer checks out leaves the provider as it was and is recorded as
    ``identity:provider:refresh`` with outcome ``error`` and the reason, for the tenant's admins to see.
    Uploaded metadata has nowhere to be read again from and is left alone.
    """
    counts = {"refreshed": 0, "failed": 0}
    providers = IdentityProvider.objects.filter(enabled=True).exclude(kind=ProviderKind.SAML, metadata_url="")
    for provider in providers.order_by("pk"):
        try:
            provider_update(actor=SYSTEM, provider=provider, refresh=True)
        except ValidationError as error:
            counts["failed"] += 1
            record(
                "identity:provider:refresh",
                actor=SYSTEM,
                resource_type=KIND,
                resource_id=provider.pk,
                resource_display=provider.name,
                outcome=Outcome.ERROR,
                metadata={"slug": provider.slug, "reason": "; ".join(error.messages)[:500]},
            )
        else:
            counts["refreshed"] += 1
    return counts


# --- Claim and attribute mappings ------------------------------------------------------------------------

MAPPING_CLAIM = re.compile(r"^[A-Za-z0-9_.:/#\-]{1,200}$")  # OIDC claim names and SAML attribute names (URIs)


def mapping_create(
    *, actor=None, provider: IdentityProvider, claim: str, operator: str, value: str = "", group=None, role=None
) -> ClaimMapping:
    """A rule granting ``group`` or ``role`` when ``claim`` matches; its author must be able to grant that now.

    The rule hands the target out at every later sign-in without asking anyone, so it is refused to
    an author who could not give it by hand (``access.services.require_may_hand_out``).
    """
    errors: dict[str, list[str]] = {}
    claim = (claim or "").strip()
    value = (value or "").strip()
    if not MAPPING_CLAIM.match(claim):
        errors["claim"] = ["Name a claim or attribute: letters, digits and _ . : / # - (at most 200)."]
    if operator not in MappingOperator.values:
        errors["operator"] = [f"Choose one of: {', '.join(MappingOperator.values)}."]
    elif operator != MappingOperator.IS_PRESENT and not value:
        errors["value"] = ["Give the value to look for."]
    elif operator == MappingOperator.IS_PRESENT:
        value = ""
    if len(value) > 500:
        errors["value"] = ["At most 500 characters."]
    if (group is None) == (role is None):
        errors["target"] = ["Grant exactly one group or one role."]
    if errors:
        raise ValidationError(errors)
    if ClaimMapping.objects.filter(
        provider=provider, claim=claim, operator=operator, value=value, group=group, role=role
    ).exists():
        raise ValidationError({"claim": ["That rule exists already."]})
    access_services.require_may_hand_out(actor, role=role, group=group)
    with transaction.atomic():
        mapping = ClaimMapping.objects.create(
            provider=provider, claim=claim, operator=operator, value=value, group=group, role=role
        )
        _audit_mapping("identity:provider:update", actor, mapping, "mapping_added")
    return mapping


def mapping_delete(*, actor=None, mapping: ClaimMapping) -> None:
    """Remove a rule; what it granted is taken back at each person's next sign-in through the provider."""
    with transaction.atomic():
        _audit_mapping("identity:provider:update", actor, mapping, "mapping_removed")
        mapping.delete()


def _audit_mapping(action: str, actor, mapping: ClaimMapping, what: str) -> None:
    provider = mapping.provider
    record(
        action,
        actor=actor,
        resource_type=KIND,
        resource_id=provider.pk,
        resource_display=provider.name,
        metadata={what: str(mapping)},
    )


def settings_update(*, actor=None, sso_only: bool) -> IdentitySettings:
    """Turn SSO-only sign-in on or off; on needs at least one enabled provider (tenant admins keep a break-glass)."""
    with transaction.atomic():
        row, _ = IdentitySettings.objects.select_for_update().get_or_create(pk=1)
        if sso_only and not IdentityProvider.objects.filter(enabled=True).exists():
            raise ValidationError({"sso_only": "Add and enable an identity provider before making sign-in SSO-only."})
        if row.sso_only != bool(sso_only):
            record(
                "identity:settings:update",
                actor=actor,
                resource_type="identity:settings",
                resource_id=1,
                resource_display="Identity settings",
                changes={"sso_only": [row.sso_only, bool(sso_only)]},
            )
            row.sso_only = bool(sso_only)
            row.save()
    return row


# --- SCIM tokens ----------------------------------------------------------------------------
# The bearer tokens the tenant's IdP presents to its SCIM endpoints. Built like personal API tokens
# (apps.accounts): the plaintext exists only in create's return value; the row keeps its prefix (to find
# and name it) and the SHA-256 digest of its secret. Rows live in the tenant's schema, so authenticate
# only ever sees the current tenant's tokens.

SCIM_TOKEN_PREFIX = "scim_"  # noqa: S105 - a label, not a secret
SCIM_PREFIX_FORMAT = re.compile(r"[0-9a-f]{12}")  # secrets.token_hex(6), below
MAX_SCIM_TOKEN_DAYS = 730
# Every SCIM request would otherwise write the row; once a minute says enough about when it was used.
LAST_USED_RESOLUTION = timedelta(minutes=1)
SCIM_KIND = "identity:scim_token"


def _scim_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _audit_scim_token(action: str, actor, token: ScimToken) -> None:
    # The prefix only: it names the token and is useless without the secret.
    record(
        action,
        actor=actor,
        resource_type=SCIM_KIND,
        resource_id=token.pk,
        resource_display=f"{token.name} ({SCIM_TOKEN_PREFIX}{token.prefix}…)",
        metadata={"expires_at": token.expires_at.isoformat() if token.expires_at else None},
    )


def scim_token_create(*, actor=None, name: str, expires_in_days: int | None = None) -> tuple[ScimToken, str]:
    """Create a SCIM token; return it and its plaintext, which is never stored nor shown again."""
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationError({"name": "Give the token a name of 1 to 100 characters (e.g. the IdP it is for)."})
    if expires_in_days is not None and not 1 <= expires_in_days <= MAX_SCIM_TOKEN_DAYS:
        raise ValidationError(
            {"expires_in_days": f"A SCIM token expires after 1 to {MAX_SCIM_TOKEN_DAYS} days, or never (leave empty)."}
        )
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    created_by = actor if getattr(actor, "pk", None) and not getattr(actor, "is_anonymous", False) else None
    with transaction.atomic():
        token = ScimToken.objects.create(
            name=name, prefix=prefix, digest=_scim_digest(secret), expires_at=expires_at, created_by=created_by
        )
        _audit_scim_token("identity:scim_token:create", actor, token)
    return token, f"{SCIM_TOKEN_PREFIX}{prefix}_{secret}"


def scim_token_revoke(*, actor=None, token: ScimToken) -> ScimToken:
    """Revoke ``token`` at once (the next SCIM request with it is refused); revoking twice changes nothing."""
    if token.revoked_at is None:
        with transaction.atomic():
            token.revoked_at = timezone.now()
            token.save(update_fields=["revoked_at"])
            _audit_scim_token("identity:scim_token:revoke", actor, token)
    return token


def authenticate_scim_token(raw: str) -> ScimToken | None:
    """The current schema's usable token ``raw`` is, or None for any malformed, unknown, revoked or expired one."""
    raw = (raw or "").strip()
    if not raw.startswith(SCIM_TOKEN_PREFIX):
        return None
    prefix, _, secret = raw.removeprefix(SCIM_TOKEN_PREFIX).partition("_")
    if not SCIM_PREFIX_FORMAT.fullmatch(prefix) or not secret:
        return None
    token = ScimToken.objects.filter(prefix=prefix).first()
    now = timezone.now()
    # compare_digest: how long the comparison takes says nothing about how much of the digest matched.
    if token is None or not hmac.compare_digest(token.digest, _scim_digest(secret)) or not token.is_usable(now):
        return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ScimToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
