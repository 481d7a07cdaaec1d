"""Provision a tenant or sub-tenant from the command line."""

from apps.tenancy import services
from apps.tenancy.models import TenantKind
from apps.tenancy.plans import PLANS

from ._base import TenancyCommand


class Command(TenancyCommand):
    help = "Provision a tenant (or, with --parent, a sub-tenant): schema, domains and seeds, all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="DNS label, e.g. 'acme'; the host becomes <slug>.<base domain>.")
        parser.add_argument("--name", help="Display name (defaults to the slug, capitalised).")
        parser.add_argument("--parent", help="Slug of the parent tenant; makes this a sub-tenant.")
        parser.add_argument("--plan", default="standard", choices=sorted(PLANS))
        parser.add_argument(
            "--domain",
            action="append",
            dest="domains",
            help="Host name; repeat for more. The first is primary. Default: <slug>.<base domain>.",
        )
        parser.add_argument("--max-users", type=int)
        parser.add_argument("--max-sub-tenants", type=int)
        parser.add_argument("--max-cis", type=int)

    def handle(self, *args, slug, name, parent, plan, domains, **options):
        parent_tenant = self.tenant_by_slug(parent) if parent else None
        quotas = {field: options[field] for field in ("max_users", "max_sub_tenants", "max_cis")}
        tenant = self.run(
            services.tenant_provision,
            name=name or slug.replace("-", " ").title(),
            slug=slug,
            kind=TenantKind.SUB_TENANT if parent_tenant else TenantKind.TENANT,
            parent=parent_tenant,
            plan=plan,
            quotas={k: v for k, v in quotas.items() if v is not None},
            domains=domains,
        )
        domain = tenant.domains.get(is_primary=True).domain
        self.stdout.write(
            self.style.SUCCESS(f"Provisioned {tenant.kind} '{tenant.slug}' (schema {tenant.schema_name}) at {domain}.")
        )
