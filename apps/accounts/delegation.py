"""Delegated access: provider staff, or a parent tenant's administrators, opening a tenant as a delegated account.

Services of one capability, kept apart from ``services.py`` because they
cross schemas. The flow:

1. On its own host, the home account asks for a link (``delegation_link_create``).
   The link carries a ticket signed with the project's key: home schema, home
   user id, target schema and a random nonce. It is valid for
   ``NIMBUS_DELEGATION_LINK_SECONDS`` (60 s by default).
2. On the target host, ``delegation_redeem`` checks the signature, the age, that
   the ticket names *this* schema, that its nonce was never used (Redis), and
   that the home account may still delegate there. It then finds or creates
   the delegated account: no password, flagged ``is_delegated``, pointing at
   its home account. The view signs it in for at most an hour.
3. When a home account is disabled, or loses the right to delegate, every one
   of its delegated accounts is disabled and signed out (``delegates_disable``,
   called from a ``post_save`` receiver so every path that changes a user is
   covered). ``tenancy.DelegatedAccess`` remembers where the delegates are.

Who may delegate where: active provider staff (``is_staff``) into any active
tenant; an active tenant administrator into the active sub-tenants of their
own tenant. A delegated account never delegates further.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from apps.audit.recorder import record
from apps.tenancy.context import provider_context
from apps.tenancy.models import DelegatedAccess, Tenant, TenantStatus
from apps.tenancy.selectors import primary_domain_of, tenant_by_schema

from .models import User
from .permissions import may
from .services import user_credentials_revoke

logger = logging.getLogger(__name__)

TICKET_SALT = "nimbus.accounts.delegation"
# A delegated session never outlives this, however active it is.
DELEGATED_SESSION_SECONDS = 3600
# Delegated accounts get an address that can never receive mail or collide with a real one (RFC 2606).
DELEGATE_EMAIL_DOMAIN = "delegated.invalid"
INVALID_LINK = (
    "This delegated-access link is invalid, expired or already used. Open the tenant again from your home account."
)


@dataclass(frozen=True)
class Ticket:
    home_schema: str
    home_user_id: int
    target_schema: str
    nonce: str


def ticket_signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=TICKET_SALT)


def link_lifetime_seconds() -> int:
    return settings.NIMBUS_DELEGATION_LINK_SECONDS


def _may_at_home(home_user: User, home_tenant: Tenant, action: str) -> bool:
    # Decided where the account lives, by its own tenant's roles and policies, wherever the link is spent:
    # the target tenant's rules (or a user there with the same id) have no say over who may open it.
    with schema_context(home_tenant.schema_name):
        return may(home_user, action)


def refusal_reason(*, home_user: User, home_tenant: Tenant, target: Tenant) -> str | None:
    """Why ``home_user`` (an account of ``home_tenant``) may not open ``target``, or None if it may."""
    if not home_user.is_active or home_user.is_delegated:
        return "Only an active account of your own may open another tenant."
    if target.is_provider or target.effective_status() != TenantStatus.ACTIVE:
        return "That tenant is not active, so it cannot be opened."
    if home_tenant.is_provider:
        if not home_user.is_staff:
            return "Only provider staff may open tenants."
        if not _may_at_home(home_user, home_tenant, "tenancy:tenant:open"):
            return "You do not hold the permission to open tenants (tenancy:tenant:open)."
        return None
    if target.parent_id != home_tenant.pk:
        return "You can open only the sub-tenants of your own tenant."
    if not _may_at_home(home_user, home_tenant, "accounts:subtenant:open"):
        return "You do not hold the permission to open sub-tenants (accounts:subtenant:open)."
    return None


def delegation_link_create(*, home_user: User, home_tenant: Tenant, target: Tenant, scheme: str, port: str) -> str:
    """The absolute, one-time URL that opens ``target`` as ``home_user``'s delegate; refused with a reason."""
    reason = refusal_reason(home_user=home_user, home_tenant=home_tenant, target=target)
    if reason:
        raise ValidationError(reason)
    domain = primary_domain_of(target)
    if domain is None:
        raise ValidationError("That tenant has no primary domain to open.")
    payload = {"h": home_tenant.schema_name, "u": home_user.pk, "t": target.schema_name, "n": secrets.token_urlsafe(16)}
    token = ticket_signer().sign_object(payload, compress=True)
    port_suffix = "" if port in ("", "80", "443") else f":{port}"
    logger.info(
        "delegated access link issued",
        extra={"home_schema": home_tenant.schema_name, "home_user_id": home_user.pk, "target": target.schema_name},
    )
    return f"{scheme}://{domain}{port_suffix}/delegate/{token}/"


def ticket_read(token: str) -> Ticket:
    """The ticket in ``token`` if it is genuine, fresh and meant for the current schema (not yet spent)."""
    try:
        payload = ticket_signer().unsign_object(token, max_age=timedelta(seconds=link_lifetime_seconds()))
        ticket = Ticket(
            home_schema=str(payload["h"]),
            home_user_id=int(payload["u"]),
            target_schema=str(payload["t"]),
            nonce=str(payload["n"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise ValidationError(INVALID_LINK) from None
    if ticket.target_schema != connection.schema_name:
        raise ValidationError(INVALID_LINK)
    return ticket


def _home_of(ticket: Ticket) -> tuple[User, Tenant] | None:
    home_tenant = tenant_by_schema(ticket.home_schema)
    if home_tenant is None:
        return None
    with schema_context(ticket.home_schema):
        home_user = User.objects.filter(pk=ticket.home_user_id).first()
    return (home_user, home_tenant) if home_user is not None else None


def delegation_redeem(*, token: str, tenant: Tenant) -> User:
    """Spend a ticket on the target host (the current schema): the delegated account to sign in as."""
    ticket = ticket_read(token)
    home = _home_of(ticket)
    if home is None:
        raise ValidationError(INVALID_LINK)
    home_user, home_tenant = home
    reason = refusal_reason(home_user=home_user, home_tenant=home_tenant, target=tenant)
    if reason:
        raise ValidationError(reason)
    # One use only: the first redemption claims the nonce for longer than the ticket can live.
    if not cache.add(f"accounts:delegation-nonce:{ticket.nonce}", 1, timeout=link_lifetime_seconds() + 60):
        raise ValidationError(INVALID_LINK)
    with transaction.atomic():
        delegate = _delegate_ensure(home_user=home_user, home_schema=ticket.home_schema)
        DelegatedAccess.objects.update_or_create(
            tenant=tenant,
            home_schema=ticket.home_schema,
            home_user_id=home_user.pk,
            defaults={"home_email": home_user.email, "last_opened_at": timezone.now()},
        )
        # The delegate is the actor, so the recorder names its home account in on_behalf_of.
        record(
            "accounts:delegation:open",
            actor=delegate,
            resource_type="tenancy:tenant",
            resource_id=tenant.pk,
            resource_display=tenant.name,
            metadata={"home_schema": ticket.home_schema, "home_user_id": home_user.pk},
        )
    logger.info(
        "delegated access opened",
        extra={"home_schema": ticket.home_schema, "home_user_id": home_user.pk, "delegate_id": delegate.pk},
    )
    return delegate


def _delegate_ensure(*, home_user: User, home_schema: str) -> User:
    delegate = User.objects.filter(is_delegated=True, home_schema=home_schema, home_user_id=home_user.pk).first()
    if delegate is None:
        delegate = User(
            email=f"{home_schema}.{home_user.pk}@{DELEGATE_EMAIL_DOMAIN}",
            is_delegated=True,
            home_schema=home_schema,
            home_user_id=home_user.pk,
        )
        delegate.set_unusable_password()
    # Until roles arrive, a delegate acts as a tenant administrator; its home account was checked just now.
    delegate.is_active = True
    delegate.is_tenant_admin = True
    delegate.home_email = home_user.email
    delegate.display_name = home_user.display_name or home_user.email
    delegate.save()
    return delegate


def may_delegate(user: User) -> bool:
    """Whether ``user``, in the current schema, still holds the right that lets it have delegates."""
    if not user.is_active or user.is_delegated:
        return False
    if connection.schema_name == get_public_schema_name():
        return user.is_staff and may(user, "tenancy:tenant:open")
    return may(user, "accounts:subtenant:open")


def delegates_disable(*, home_schema: str, home_user_id: int) -> int:
    """Disable and sign out every delegated account of one home account, in every tenant; return how many."""
    with provider_context():
        schemas = list(
            DelegatedAccess.objects.filter(home_schema=home_schema, home_user_id=home_user_id).values_list(
                "tenant__schema_name", flat=True
            )
        )
    disabled = 0
    for schema_name in schemas:
        with schema_context(schema_name):
            delegates = User.objects.filter(
                is_delegated=True, home_schema=home_schema, home_user_id=home_user_id, is_active=True
            )
            for delegate in delegates:
                delegate.is_active = False
                delegate.save(update_fields=["is_active"])
                user_credentials_revoke(user=delegate)
                disabled += 1
    if disabled:
        logger.info(
            "delegated accounts disabled with their home account",
            extra={"home_schema": home_schema, "home_user_id": home_user_id, "count": disabled},
        )
    return disabled
