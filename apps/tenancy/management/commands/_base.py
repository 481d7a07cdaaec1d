"""Shared plumbing for the tenancy management commands."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.core.errors import describe_validation_error
from apps.tenancy.models import Tenant


class TenancyCommand(BaseCommand):
    def run(self, func, **kwargs):
        try:
            return func(**kwargs)
        except ValidationError as exc:
            raise CommandError(describe_validation_error(exc)) from None

    @staticmethod
    def tenant_by_slug(slug: str) -> Tenant:
        tenant = Tenant.objects.filter(slug=slug.lower()).first()
        if tenant is None:
            raise CommandError(f"No tenant with slug '{slug}'. See 'manage.py list_tenants'.")
        return tenant
