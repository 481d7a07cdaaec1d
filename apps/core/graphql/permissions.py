"""Permission checks for resolvers, decided by ``apps.core.authorization`` exactly as the REST API decides them.

A resolver receives ``info``; ``info.context.request`` is the Django request
whose ``user`` the view authenticated. Decisions use the request's context with
``source="api"``, so a tenant policy sees GraphQL as the API it is.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from apps.core import authorization
from apps.core.authorization import Resource

from .errors import forbidden, not_found, unauthenticated


def _request(info):
    return info.context.request


def principal(info):
    """The signed-in user of this request; never anonymous (the view refuses those before any resolver runs)."""
    user = getattr(_request(info), "user", None)
    if user is None or not user.is_authenticated:
        raise unauthenticated()
    return user


def _context(info) -> dict:
    return authorization.context_for(_request(info), source="api")


def require_permission(info, action: str):
    """The user, if allowed ``action`` on the tenant; otherwise a ``FORBIDDEN`` error with the engine's reason."""
    user = principal(info)
    decision = authorization.authorize(user, action, None, _context(info))
    if not decision.allowed:
        raise forbidden(authorization.denial_message(user, action, decision))
    return user


def visible_rows(info, action: str, queryset):
    """``queryset`` narrowed in SQL to the rows the user may ``action``, like the REST list endpoints.

    Holding ``action`` on the tenant shows every row; holding it only on some
    objects (a scoped role, an object grant) shows those; otherwise, or when a
    policy forbids it outright, the answer is ``FORBIDDEN``.
    """
    user = principal(info)
    context = _context(info)
    decision = authorization.authorize(user, action, None, context)
    if not decision.allowed:
        plainly_not_held = not decision.reasons and not decision.errors
        decider = authorization.decider()
        if not (plainly_not_held and decider is not None and decider.holds_anywhere(user, action, context)):
            raise forbidden(authorization.denial_message(user, action, decision))
    return authorization.visible(user, action, queryset, context=context)


def require_object(info, action: str, resource: Resource):
    """Allowed ``action`` on this object, or ``NOT_FOUND`` (may not even read it) / ``FORBIDDEN`` (with the reason)."""
    user = principal(info)
    try:
        authorization.require(user, action, resource, context=_context(info))
    except Http404:
        raise not_found() from None
    except PermissionDenied as denied:
        raise forbidden(str(denied)) from None
    return user
