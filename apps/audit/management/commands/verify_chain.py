"""Seal what is pending, then verify a schema's audit chain and checkpoints: exit 1 naming the first bad event."""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.audit.services import seal_pending, verify_chain
from apps.tenancy.context import provider_context
from apps.tenancy.selectors import provider_get, tenant_by_slug


class Command(BaseCommand):
    help = "Verify the audit hash chain of a tenant (--tenant SLUG; 'provider' for the provider's stream)."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug, or 'provider'.")
        parser.add_argument("--no-seal", action="store_true", help="Verify only what is sealed already.")
        parser.add_argument(
            "--since-checkpoint",
            action="store_true",
            help="Verify only from the latest signed checkpoint forward (fast; trusts what that checkpoint signed).",
        )

    def handle(self, *args, tenant, no_seal, since_checkpoint=False, **options):
        with provider_context():
            target = provider_get() if tenant == "provider" else tenant_by_slug(tenant)
        if target is None:
            raise CommandError(f"No tenant with slug '{tenant}'. See 'manage.py list_tenants'.")
        with tenant_context(target):
            if not no_seal:
                while seal_pending():
                    pass
            result = verify_chain(from_checkpoint=since_checkpoint)
        if not result.ok:
            self.stderr.write(f"BROKEN in '{target.slug}' at event {result.first_bad_seq}: {result.reason}.")
            raise SystemExit(1)
        since = f" from event {result.from_seq}" if since_checkpoint else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"The chain of '{target.slug}' holds: {result.checked} events verified{since}, "
                f"{result.checkpoints} signed checkpoints."
            )
        )
