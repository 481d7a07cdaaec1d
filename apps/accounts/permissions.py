"""The accounts app's permissions, declared to the registry, and two shorthands for asking the engine about them.

``PERMISSIONS`` and ``RESOURCE_KINDS`` are collected by ``apps.access.registry``;
decisions come from the access-control engine through ``apps.core.authorization``
(accounts sits below access and never imports it).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from apps.core import authorization
from apps.core.authorization import Resource
from apps.core.permissions import Permission, ResourceKind, Tier

PERMISSIONS = [
    Permission("accounts:user:view", "See the tenant's users", Tier.USER),
    Permission("accounts:user:create", "Add users and send invitations", Tier.TENANT_ADMIN),
    Permission("accounts:user:update", "Change users' email, name and administrator flag", Tier.TENANT_ADMIN),
    Permission("accounts:user:disable", "Disable and enable users", Tier.TENANT_ADMIN),
    Permission("accounts:user:reset_password", "Send users a password-reset link", Tier.TENANT_ADMIN),
    Permission("accounts:user:unlock", "Lift a lockout after failed sign-ins", Tier.TENANT_ADMIN),
    Permission("accounts:policy:view", "See the password and session policy", Tier.TENANT_ADMIN),
    Permission("accounts:policy:update", "Change the password and session policy", Tier.TENANT_ADMIN),
    Permission("accounts:subtenant:open", "Open a sub-tenant as a delegated account", Tier.TENANT_ADMIN),
]

RESOURCE_KINDS = [ResourceKind("accounts:user", "User", "accounts.User")]


def may(user, action: str, target=None, *, request=None) -> bool:
    """Does the engine allow ``user`` to do ``action`` (on the user ``target``, or the tenant)?"""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    resource = Resource.of("accounts:user", target) if target is not None else None
    return authorization.authorize(user, action, resource, request=request).allowed


def require(actor, action: str, target=None) -> None:
    """For services: raise ``PermissionDenied`` with the engine's reason unless ``actor`` may ``action``."""
    if not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied("Sign in first.")
    resource = Resource.of("accounts:user", target) if target is not None else None
    decision = authorization.authorize(actor, action, resource, authorization.context_for(source="task"))
    if not decision.allowed:
        raise PermissionDenied(authorization.denial_message(actor, action, decision))
