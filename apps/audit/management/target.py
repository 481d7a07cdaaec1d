"""The stream an audit command works on: a tenant by slug, or 'provider' for the provider's own (``public``)."""

from django.core.management.base import CommandError

from apps.tenancy.context import provider_context
from apps.tenancy.selectors import provider_get, tenant_by_slug


def tenant_for_command(slug: str):
    with provider_context():
        target = provider_get() if slug == "provider" else tenant_by_slug(slug)
    if target is None:
        raise CommandError(f"No tenant with slug '{slug}'. See 'manage.py list_tenants'.")
    return target
