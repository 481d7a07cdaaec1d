"""Unlock an account (or an address) locked by too many failed sign-ins, in one tenant or the provider."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.accounts.models import User
from apps.accounts.services import lockout_unlock
from apps.core.errors import describe_validation_error
from apps.tenancy.context import provider_context
from apps.tenancy.selectors import provider_get, tenant_by_slug


class Command(BaseCommand):
    help = (
        "Forget the failed sign-ins that lock an account (--email) or an address (--ip) in a tenant "
        "(--tenant SLUG; 'provider' for provider staff)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True, help="Tenant slug, or 'provider'.")
        parser.add_argument("--email", help="The account's email.")
        parser.add_argument("--ip", help="An address whose failed sign-ins should be forgotten.")

    def handle(self, *args, tenant, email, ip, **options):
        if not email and not ip:
            raise CommandError("Give --email, --ip or both.")
        with provider_context():
            target = provider_get() if tenant == "provider" else tenant_by_slug(tenant)
        if target is None:
            raise CommandError(f"No tenant with slug '{tenant}'. See 'manage.py list_tenants'.")
        with tenant_context(target):
            # Both arguments are checked before anything is forgotten.
            user = User.objects.filter(email__iexact=email.strip()).first() if email else None
            if email and user is None:
                raise CommandError(f"No user with email '{email}' in '{target.slug}'.")
            try:
                cleared = lockout_unlock(user=user, ip_address=ip or None, via="unlock_user")
            except ValidationError as exc:
                raise CommandError(describe_validation_error(exc)) from None
        if ip:
            self.stdout.write(
                self.style.SUCCESS(f"Unlocked address {ip} in '{target.slug}' ({cleared['ip']} records).")
            )
        if user is not None:
            self.stdout.write(
                self.style.SUCCESS(f"Unlocked {user.email} in '{target.slug}' ({cleared['user']} records).")
            )
