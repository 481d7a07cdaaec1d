"""Create a user in one tenant (or in the provider's realm) from scripts."""

import os

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.accounts.services import user_seed
from apps.core.errors import describe_validation_error
from apps.tenancy.context import provider_context
from apps.tenancy.selectors import provider_get, tenant_by_slug


class Command(BaseCommand):
    help = (
        "Create a user in a tenant (--tenant SLUG; 'provider' for provider staff). The password comes from "
        "--password or NIMBUS_NEW_USER_PASSWORD; without one the user sets it through 'Forgot your password?'."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug, or 'provider'.")
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", default="", help="Display name.")
        parser.add_argument(
            "--admin", action="store_true", help="Tenant admin (in a tenant) or staff superuser (provider)."
        )
        parser.add_argument("--password", help="Visible in the process list; prefer NIMBUS_NEW_USER_PASSWORD.")

    def handle(self, *args, tenant, email, name, admin, password, **options):
        password = password or os.environ.get("NIMBUS_NEW_USER_PASSWORD") or None
        with provider_context():
            target = provider_get() if tenant == "provider" else tenant_by_slug(tenant)
        if target is None:
            raise CommandError(f"No tenant with slug '{tenant}'. See 'manage.py list_tenants'.")
        flags = {"is_staff": admin, "is_superuser": admin} if target.is_provider else {"is_tenant_admin": admin}
        try:
            with tenant_context(target):
                user = user_seed(
                    email=email,
                    password=password,
                    display_name=name,
                    via="create_user",
                    action="accounts:user:create",
                    **flags,
                )
        except ValidationError as exc:
            raise CommandError(describe_validation_error(exc)) from None
        how = "with the given password" if password else "without a password (use 'Forgot your password?')"
        self.stdout.write(self.style.SUCCESS(f"Created {user.email} in '{target.slug}' {how}."))
