"""DRF enforcement of the decision point: one permission class and one list filter for every API view.

A view names the permission each of its actions needs and the resource kind
it serves::

    class UserViewSet(...):
        access_kind = "accounts:user"
        action_permissions = {"list": "accounts:user:view", "create": "accounts:user:create", ...}
        permission_classes = [ActionPermission]
        filter_backends = [AuthorizedFilter, ...]

* collection actions (list, create) are decided on the tenant; a principal
  who holds the permission only on some objects (a scoped role, an object
  grant) may list, and ``AuthorizedFilter`` restricts the rows in SQL, before
  pagination;
* object actions are decided on the object: not readable → 404 (the object's
  existence does not leak), readable but not allowed → 403 with the reason;
* an action missing from ``action_permissions`` is refused (fail closed).
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions
from rest_framework.filters import BaseFilterBackend
from rest_framework.permissions import BasePermission

from apps.core import authorization
from apps.core.authorization import Resource


def _action_key(request, view) -> str | None:
    # Viewsets name their actions ("list", "disable"); plain API views are keyed by HTTP method ("get", "post").
    return view.action if hasattr(view, "action") else request.method.lower()


def _required(request, view) -> str | None:
    return getattr(view, "action_permissions", {}).get(_action_key(request, view))


def _context(request) -> dict:
    return authorization.context_for(request, source="api")


class ActionPermission(BasePermission):
    """Signed-in users only; each action needs the permission ``view.action_permissions`` names for it."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        action = _required(request, view)
        if action is None:
            if request.method == "OPTIONS":
                return True
            mapped = getattr(view, "action_map", None)  # a viewset's methods and their handlers
            if mapped is not None and request.method.lower() not in mapped:
                raise exceptions.MethodNotAllowed(request.method)  # no handler at all: 405, as without this class
            raise exceptions.PermissionDenied("This operation is not open to anyone.")
        if getattr(view, "detail", False) or view.kwargs.get(getattr(view, "lookup_url_kwarg", None) or "pk"):
            return True  # decided on the object, in has_object_permission
        decision = authorization.authorize(user, action, None, _context(request))
        if decision.allowed:
            return True
        decider = authorization.decider()
        plainly_not_held = not decision.reasons and not decision.errors  # not a forbid: some rows may be theirs
        if view.action == "list" and plainly_not_held and decider.holds_anywhere(user, action, _context(request)):
            return True  # AuthorizedFilter keeps only the rows they may see
        raise exceptions.PermissionDenied(authorization.denial_message(user, action, decision))

    def has_object_permission(self, request, view, obj) -> bool:
        action = _required(request, view)
        if action is None:
            raise exceptions.PermissionDenied("This operation is not open to anyone.")
        kind = view.access_kind
        try:
            authorization.require(request.user, action, Resource.of(kind, obj), context=_context(request))
        except Http404 as missing:
            raise exceptions.NotFound("No such object.") from missing
        except PermissionDenied as denied:
            raise exceptions.PermissionDenied(str(denied)) from denied
        return True


class AuthorizedFilter(BaseFilterBackend):
    """Keep only the rows the principal may read (the view's ``list`` permission), in SQL, before paging."""

    def filter_queryset(self, request, queryset, view):
        action = getattr(view, "action_permissions", {}).get("list")
        decider = authorization.decider()
        if action is None or decider is None:
            return queryset.none()
        restriction = decider.visible_filter(request.user, action, queryset.model, _context(request))
        return queryset if restriction is None else queryset.filter(restriction)
