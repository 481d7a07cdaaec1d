"""Seed the demo installation once: provider admin, tenant 'acme' and its sub-tenant 'acme-dev', their admins."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.accounts.models import User
from apps.accounts.services import user_seed
from apps.core.errors import describe_validation_error
from apps.tenancy import services
from apps.tenancy.context import provider_context
from apps.tenancy.models import TenantKind
from apps.tenancy.selectors import tenant_by_slug

PROVIDER_ADMIN = "admin@nimbus.localhost"
DEMO_TENANTS = [
    {"slug": "acme", "name": "Acme Corporation", "kind": TenantKind.TENANT, "plan": "standard"},
    {
        "slug": "acme-dev",
        "name": "Acme Development",
        "kind": TenantKind.SUB_TENANT,
        "parent": "acme",
        "plan": "starter",
    },
]


def demo_admin_email(slug: str) -> str:
    return f"admin@{slug}.localhost"


class Command(BaseCommand):
    help = "Create the demo provider admin, tenants and tenant admins if missing (idempotent)."

    def handle(self, *args, **options):
        self._password: str | None = None
        try:
            with provider_context():
                self._seed()
        except ValidationError as exc:
            raise CommandError(describe_validation_error(exc)) from None

    def _seed(self) -> None:
        services.provider_ensure()
        if not User.objects.filter(email__iexact=PROVIDER_ADMIN).exists():
            user_seed(
                email=PROVIDER_ADMIN,
                password=self.password(),
                display_name="Provider Admin",
                is_staff=True,
                is_superuser=True,
                via="seed_demo",
            )
            self.stdout.write(f"Created provider admin {PROVIDER_ADMIN}.")
        for spec in DEMO_TENANTS:
            admin = demo_admin_email(spec["slug"])
            tenant = tenant_by_slug(spec["slug"])
            if tenant is None:
                services.tenant_provision(
                    name=spec["name"],
                    slug=spec["slug"],
                    kind=spec["kind"],
                    plan=spec["plan"],
                    parent=tenant_by_slug(spec["parent"]) if "parent" in spec else None,
                    options={"admin_email": admin, "admin_password": self.password(), "admin_name": "Tenant Admin"},
                )
                self.stdout.write(f"Provisioned demo {spec['kind']} '{spec['slug']}' with admin {admin}.")
                continue
            with tenant_context(tenant):
                if not User.objects.filter(email__iexact=admin).exists():
                    user_seed(
                        email=admin,
                        password=self.password(),
                        display_name="Tenant Admin",
                        is_tenant_admin=True,
                        via="seed_demo",
                    )
                    self.stdout.write(f"Created tenant admin {admin}.")

    def password(self) -> str:
        """NIMBUS_DEMO_PASSWORD, else the one generated on the first run (kept in the data directory)."""
        if self._password:
            return self._password
        path = Path(settings.NIMBUS_DATA_DIR) / "demo-password.txt"
        self._password = os.environ.get("NIMBUS_DEMO_PASSWORD") or (path.read_text().strip() if path.exists() else "")
        if not self._password:
            self._password = secrets.token_urlsafe(18)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self._password + "\n")
            path.chmod(0o600)
            self.stdout.write(
                self.style.WARNING(
                    f"NIMBUS_DEMO_PASSWORD is unset; generated password for the demo accounts: {self._password}\n"
                    f"(also saved to {path})"
                )
            )
        return self._password
