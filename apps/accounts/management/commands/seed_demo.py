"""Seed the demo installation once: provider admin, tenant 'acme' and its sub-tenant 'acme-dev'."""

import os
import secrets
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.core.errors import describe_validation_error
from apps.tenancy import services
from apps.tenancy.context import provider_context
from apps.tenancy.models import Tenant, TenantKind

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


class Command(BaseCommand):
    help = "Create the demo provider admin and tenants if missing (idempotent)."

    def handle(self, *args, **options):
        try:
            self._seed()
        except ValidationError as exc:
            raise CommandError(describe_validation_error(exc)) from None

    def _seed(self) -> None:
        services.provider_ensure()
        for spec in DEMO_TENANTS:
            if Tenant.objects.filter(slug=spec["slug"]).exists():
                continue
            parent = Tenant.objects.get(slug=spec["parent"]) if "parent" in spec else None
            services.tenant_provision(
                name=spec["name"], slug=spec["slug"], kind=spec["kind"], parent=parent, plan=spec["plan"]
            )
            self.stdout.write(f"Provisioned demo {spec['kind']} '{spec['slug']}'.")
        with provider_context(), transaction.atomic():
            if not User.objects.filter(email__iexact=PROVIDER_ADMIN).exists():
                password = self._demo_password()
                user_create(
                    email=PROVIDER_ADMIN,
                    password=password,
                    display_name="Provider Admin",
                    is_staff=True,
                    is_superuser=True,
                )
                self.stdout.write(f"Created provider admin {PROVIDER_ADMIN}.")

    def _demo_password(self) -> str:
        password = os.environ.get("NIMBUS_DEMO_PASSWORD")
        if password:
            return password
        password = secrets.token_urlsafe(18)
        path = Path(settings.NIMBUS_DATA_DIR) / "demo-password.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(password + "\n")
        path.chmod(0o600)
        self.stdout.write(
            self.style.WARNING(
                f"NIMBUS_DEMO_PASSWORD is unset; generated password for the demo accounts: {password}\n"
                f"(also saved to {path}; shown this once)"
            )
        )
        return password
