"""Migrate everything in the right order: public schema, provider, template, then tenants behind it."""

from django.core.management import call_command
from django.db import connection
from django_tenants.utils import get_public_schema_name

from apps.tenancy import schemas, services
from apps.tenancy.models import Tenant, TenantKind

from ._base import TenancyCommand


class Command(TenancyCommand):
    help = (
        "Migrate the public schema, ensure the provider exists, bring the tenant template up to date, "
        "then migrate only the tenant schemas that are behind."
    )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=max(verbosity - 1, 0))
        self.run(services.provider_ensure)
        if schemas.template_ensure(force=True):
            self.stdout.write("Tenant template migrated.")
        on_disk = schemas.migrations_on_disk()
        tenant_schemas = list(Tenant.objects.exclude(kind=TenantKind.PROVIDER).values_list("schema_name", flat=True))
        behind = [schema for schema in tenant_schemas if schemas.schema_migration_state(schema, on_disk)[0]]
        for schema in behind:
            call_command(
                "migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=max(verbosity - 1, 0)
            )
        connection.set_schema(get_public_schema_name())
        made = schemas.spares_refill()
        self.stdout.write(
            self.style.SUCCESS(
                f"Migrated: public, template, {len(behind)} of {len(tenant_schemas)} tenant schema(s) "
                f"({len(tenant_schemas) - len(behind)} already up to date); {made} spare schema(s) made."
            )
        )
