"""Shared plumbing for the tenancy management commands."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import describe_validation_error
from apps.tenancy import selectors
from apps.tenancy.context import provider_context
from apps.tenancy.models import Tenant


class TenancyCommand(BaseCommand):
    """Tenancy commands run as the provider: they manage every tenant."""

    def execute(self, *args, **options):
        with provider_context():
            return super().execute(*args, **options)

    def run(self, func, **kwargs):
        try:
            return func(**kwargs)
        except ValidationError as exc:
            raise CommandError(describe_validation_error(exc)) from None

    @staticmethod
    def tenant_by_slug(slug: str) -> Tenant:
        tenant = selectors.tenant_by_slug(slug)
        if tenant is None:
            raise CommandError(f"No tenant with slug '{slug}'. See 'manage.py list_tenants'.")
        return tenant
