"""Seal what is pending, then verify a schema's audit chain and checkpoints: exit 1 naming the first bad event.

``--checkpoints FILE`` also holds the chain to checkpoints exported earlier (``export_checkpoints``) and kept
outside the database.
"""

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.audit.checkpoints import ForeignExport, read_export
from apps.audit.management.target import tenant_for_command
from apps.audit.services import seal_pending, verify_chain


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
        parser.add_argument(
            "--checkpoints",
            metavar="FILE",
            help="Also check the chain against checkpoints exported earlier (export_checkpoints' JSON Lines).",
        )

    def handle(self, *args, tenant, no_seal, since_checkpoint=False, checkpoints=None, **options):
        target = tenant_for_command(tenant)
        exported = None
        if checkpoints:
            try:
                with open(checkpoints, encoding="utf-8") as file:
                    exported = read_export(file)
            except OSError as error:
                raise CommandError(f"Cannot read {checkpoints}: {error.strerror or error}.") from None
            except (ValueError, UnicodeDecodeError) as error:
                raise CommandError(f"{checkpoints} is not a checkpoint export: {error}.") from None
        with tenant_context(target):
            if not no_seal:
                while seal_pending():
                    pass
            try:
                result = verify_chain(from_checkpoint=since_checkpoint, exported=exported)
            except ForeignExport as error:
                raise CommandError(f"{checkpoints}: {error}") from None
        if not result.ok:
            self.stderr.write(f"BROKEN in '{target.slug}' at event {result.first_bad_seq}: {result.reason}.")
            raise SystemExit(1)
        since = f" from event {result.from_seq}" if since_checkpoint else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"The chain of '{target.slug}' holds: {result.checked} events verified{since}, "
                f"{result.checkpoints} signed checkpoints"
                + (f", {result.exported} exported checkpoints matched." if exported is not None else ".")
            )
        )
