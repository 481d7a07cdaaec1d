"""Archive a tenant by slug."""

from apps.tenancy import services

from ._base import TenancyCommand


class Command(TenancyCommand):
    help = "Archive a tenant (see docs/tenancy.md for what each status means)."

    def add_arguments(self, parser):
        parser.add_argument("slug")

    def handle(self, *args, slug, **options):
        tenant = self.run(services.tenant_archive, tenant=self.tenant_by_slug(slug))
        self.stdout.write(self.style.SUCCESS(f"'{tenant.slug}' is now {tenant.status}."))
