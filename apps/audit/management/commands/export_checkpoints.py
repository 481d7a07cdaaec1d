"""Write a schema's signed audit checkpoints as JSON Lines, to be kept outside the database.

A copy held elsewhere (another host, write-once storage) is what catches someone who deletes the newest events
*and* their checkpoints from the database: ``verify_chain --checkpoints FILE`` holds the chain to it.
"""

from django.core.management.base import BaseCommand
from django.db import connection
from django_tenants.utils import tenant_context

from apps.audit import checkpoints
from apps.audit.management.target import tenant_for_command
from apps.audit.models import AuditCheckpoint
from apps.audit.services import seal_pending


class Command(BaseCommand):
    help = (
        "Write a tenant's signed audit checkpoints (schema, seq, hash, signature, key_id, created_at) as JSON "
        "Lines, oldest first, to stdout or --output FILE."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug, or 'provider'.")
        parser.add_argument("--output", default="-", help="File to write ('-', the default: stdout).")
        parser.add_argument(
            "--after", type=int, default=0, help="Only checkpoints past this event (to append to an earlier export)."
        )
        parser.add_argument("--no-seal", action="store_true", help="Export only what is sealed already.")

    def handle(self, *args, tenant, output, after, no_seal, **options):
        target = tenant_for_command(tenant)
        with tenant_context(target):
            if not no_seal:
                while seal_pending():
                    pass
            marks = AuditCheckpoint.objects.filter(seq__gt=after).order_by("seq")
            lines = [checkpoints.export_line(mark, connection.schema_name) for mark in marks.iterator()]
        text = "".join(f"{line}\n" for line in lines)
        if output == "-":
            self.stdout.write(text, ending="")
            return
        with open(output, "w", encoding="utf-8") as file:
            file.write(text)
        self.stderr.write(f"Wrote {len(lines)} checkpoints of '{target.slug}' to {output}.")
