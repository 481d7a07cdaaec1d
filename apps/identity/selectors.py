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
