"""The accounts app's permissions: what it declares to the registry, and its interim checks.

``PERMISSIONS`` is collected by ``apps.access.registry``. Until the
access-control engine decides with them, managing users is reserved to tenant
administrators (and provider superusers on the provider host). Every page,
API view and menu entry asks through these functions only, so the engine can
replace their bodies with one ``authorize(...)`` call each.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission

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


def can_manage_users(user) -> bool:
    """May ``user`` list, create, change, disable and invite users of the current schema?"""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_tenant_admin or user.is_superuser)


def users_manager_required(view):
    """View decorator: visitors are sent to sign in; people who may not manage users get the 403 page."""

    @wraps(view)
    def check(request, *args, **kwargs):
        if not can_manage_users(request.user):
            raise PermissionDenied("Only tenant administrators may manage users.")
        return view(request, *args, **kwargs)

    return login_required(check)


class CanManageUsers(BasePermission):
    """DRF permission: the interim check above."""

    message = "Only tenant administrators may manage users."

    def has_permission(self, request, view) -> bool:
        return can_manage_users(request.user)
