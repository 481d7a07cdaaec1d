"""Interim permission checks of the accounts app.

Until the access-control engine lands, managing users is reserved to tenant
administrators (and provider superusers on the provider host). Every page,
API view and menu entry asks through these functions only, so the engine can
replace their bodies with one ``authorize(...)`` call each.
"""

from __future__ import annotations

from rest_framework.permissions import BasePermission


def can_manage_users(user) -> bool:
    """May ``user`` list, create, change, disable and invite users of the current schema?"""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return bool(user.is_tenant_admin or user.is_superuser)


class CanManageUsers(BasePermission):
    """DRF permission: the interim check above."""

    message = "Only tenant administrators may manage users."

    def has_permission(self, request, view) -> bool:
        return can_manage_users(request.user)
