"""Interim permission checks of the accounts app.

Until the access-control engine lands, managing users is reserved to tenant
administrators (and provider superusers on the provider host). Every page,
API view and menu entry asks through these functions only, so the engine can
replace their bodies with one ``authorize(...)`` call each.
"""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission


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
