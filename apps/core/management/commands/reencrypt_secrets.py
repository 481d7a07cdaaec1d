"""Re-encrypt every secret kept at rest with the first key of NIMBUS_ENCRYPTION_KEYS (the last step of a rotation).

Rotation: put the new key first in NIMBUS_ENCRYPTION_KEYS and keep the old
ones after it, restart, run this command, then drop the old keys. It visits
the public schema and every tenant's, and every ``EncryptedTextField`` of every
installed model whose table is in that schema, and rewrites each stored value
in SQL (rows are not saved through the ORM, so no ``updated_at`` moves and no
change event claims a person edited them). Values already under the first key
are re-encrypted too: Fernet tokens do not say which key made them.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from apps.core import crypto
from apps.core.crypto import EncryptedTextField


def encrypted_columns() -> list[tuple[str, str, str]]:
    """(table, primary-key column, column) of every encrypted field of every installed model."""
    found = []
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, EncryptedTextField):
                found.append((model._meta.db_table, model._meta.pk.column, field.column))
    return found


def reencrypt_schema(schema: str, *, dry_run: bool = False) -> int:
    """Re-encrypt the non-empty values of this schema's encrypted columns; returns how many there were."""
    count = 0
    with schema_context(schema), transaction.atomic():
        tables = set(connection.introspection.table_names())
        with connection.cursor() as cursor:
            for table, pk, column in encrypted_columns():
                if table not in tables:
                    continue
                quoted = connection.ops.quote_name
                cursor.execute(
                    f"SELECT {quoted(pk)}, {quoted(column)} FROM {quoted(table)} "  # noqa: S608 (names from models)
                    f"WHERE {quoted(column)} IS NOT NULL AND {quoted(column)} <> '' FOR UPDATE"
                )
                for row_pk, token in cursor.fetchall():
                    count += 1
                    if not dry_run:
                        cursor.execute(
                            f"UPDATE {quoted(table)} SET {quoted(column)} = %s WHERE {quoted(pk)} = %s",  # noqa: S608
                            [crypto.rotate(token), row_pk],
                        )
    return count


class Command(BaseCommand):
    help = "Re-encrypt every stored secret (all schemas) with the first key of NIMBUS_ENCRYPTION_KEYS."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count the secrets without rewriting them.")

    def handle(self, *args, dry_run=False, **options):
        schemas = [get_public_schema_name()]
        schemas += list(
            get_tenant_model()
            .objects.exclude(schema_name=get_public_schema_name())
            .order_by("schema_name")
            .values_list("schema_name", flat=True)
        )
        total = 0
        for schema in schemas:
            try:
                count = reencrypt_schema(schema, dry_run=dry_run)
            except crypto.DecryptionError as error:
                raise CommandError(f"Schema {schema}: {error} Nothing in that schema was changed.") from None
            total += count
            if count:
                self.stdout.write(f"{schema}: {count} secret(s){' to re-encrypt' if dry_run else ' re-encrypted'}")
        verb = "would be re-encrypted" if dry_run else "re-encrypted"
        self.stdout.write(self.style.SUCCESS(f"{total} secret(s) in {len(schemas)} schema(s) {verb}."))
