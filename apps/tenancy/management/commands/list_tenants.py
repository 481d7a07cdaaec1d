"""Print the tenant tree."""

from apps.tenancy.selectors import tenant_tree

from ._base import TenancyCommand


class Command(TenancyCommand):
    help = "List tenants as a tree: provider, its tenants, their sub-tenants."

    def handle(self, *args, **options):
        rows = tenant_tree()
        if not rows:
            self.stdout.write("No tenants yet. Run 'manage.py migrate_all' to create the provider.")
            return
        for row in rows:
            tenant = row.tenant
            domains = ", ".join(d.domain for d in tenant.domains.all()) or "-"
            indent = "  " * row.depth + ("└─ " if row.depth else "")
            self.stdout.write(
                f"{indent}{tenant.slug}  [{tenant.kind}, {tenant.status}]  {tenant.name}  "
                f"schema={tenant.schema_name}  {domains}"
            )
