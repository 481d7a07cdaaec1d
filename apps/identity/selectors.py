"""Reads of identity: the providers and SCIM tokens a principal may see, the tenant's identity settings."""

from __future__ import annotations

from django.core.cache import cache

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


# What the sign-in page needs (per schema: django-tenants' cache key function): it is public and hot, so
# it reads no table once cached. Saving or deleting a provider or the settings forgets it (signals.py);
# a raw SQL edit shows within SIGN_IN_CACHE_SECONDS.
SIGN_IN_CACHE_KEY = "identity:sign-in-choices"
SIGN_IN_CACHE_SECONDS = 60


def sign_in_choices() -> tuple[list[tuple[str, str, bool]], bool]:
    """((slug, name, is_default) of each enabled provider, default first; whether SSO only is on)."""
    cached = cache.get(SIGN_IN_CACHE_KEY)
    if cached is None:
        providers = [(p.slug, p.name, p.is_default) for p in sign_in_providers()]
        cached = (providers, identity_settings().sso_only)
        cache.set(SIGN_IN_CACHE_KEY, cached, SIGN_IN_CACHE_SECONDS)
    return cached


def forget_sign_in_choices() -> None:
    cache.delete(SIGN_IN_CACHE_KEY)


def sign_in_providers() -> list[IdentityProvider]:
    """The enabled providers the sign-in page offers, the default first."""
    return list(IdentityProvider.objects.filter(enabled=True).order_by("-is_default", "name"))


def enabled_provider(slug: str) -> IdentityProvider | None:
    return IdentityProvider.objects.filter(slug=slug, enabled=True).first()


def mapping_list(provider: IdentityProvider):
    return provider.mappings.select_related("group", "role").order_by("claim", "value", "pk")
