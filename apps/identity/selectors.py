"""Reads of identity: the providers and SCIM tokens a principal may see, the tenant's identity settings."""

from __future__ import annotations

from apps.core.authorization import visible

from .models import IdentityProvider, IdentitySettings, ScimToken


def provider_list(*, principal, request=None):
    return visible(principal, "identity:provider:view", IdentityProvider.objects.order_by("name"), request=request)


def identity_settings() -> IdentitySettings:
    """The schema's settings row (defaults until someone changes them; nothing is written by reading)."""
    return IdentitySettings.objects.filter(pk=1).first() or IdentitySettings(pk=1)


def scim_token_list(*, principal, request=None):
    return visible(
        principal,
        "identity:scim_token:view",
        ScimToken.objects.select_related("created_by").order_by("-created_at"),
        request=request,
    )


def sign_in_providers() -> list[IdentityProvider]:
    """The enabled providers the sign-in page offers, the default first."""
    return list(IdentityProvider.objects.filter(enabled=True).order_by("-is_default", "name"))


def enabled_provider(slug: str) -> IdentityProvider | None:
    return IdentityProvider.objects.filter(slug=slug, enabled=True).first()


def mapping_list(provider: IdentityProvider):
    return provider.mappings.select_related("group", "role").order_by("claim", "value", "pk")
