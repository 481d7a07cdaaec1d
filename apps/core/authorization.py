"""How any app asks "may this principal do this action on this resource, now?", without importing ``access``.

Apps sit in layers (core ← tenancy ← accounts ← access ← …) and a lower app
may not import a higher one, yet accounts' pages must be guarded by the
decision point that lives in ``access``. So the question is asked here and
``access`` plugs its engine in at start-up (``register``). Until something is
registered every answer is "no": a process that forgot to load ``access``
fails closed, never open.

What lives here, used by every app:

* ``Resource`` and ``Decision``, the engine's vocabulary;
* ``authorize`` (memoised per request when given one) and ``context_for``,
  which turns a request into Cedar context (time, address, source);
* ``require`` with the no-existence-leak rule: a principal who may not even
  read an object gets ``Http404``; one who may read but not do gets
  ``PermissionDenied`` carrying the reason;
* ``permission_required`` (function views) and ``PermissionRequiredMixin``
  (class views);
* ``require_actor`` and the ``acting_as`` decorator for work that runs
  outside a request (Celery tasks, Temporal activities), re-checking the
  actor who started it in the current schema; ``consumer_may`` for Channels
  consumers.

The DRF permission class and list filter are in ``apps.core.api.permissions``;
the template tag is ``{% load authz %}{% can "app:resource:action" as ok %}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Protocol

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone


@dataclass(frozen=True)
class Resource:
    """What an action is about: a registry resource kind (``accounts:user``) and an id, or the tenant itself.

    ``scopes`` are the scope nodes containing the object, nearest first, as
    ``(scope_type, scope_id)`` pairs (a CMDB compartment and the compartments
    above it): assignments scoped to any of them apply. ``tags`` are the
    object's key/value tags, which tenant policies read with
    ``resource.hasTag("environment")`` / ``resource.getTag("environment")``.
    """

    kind: str | None = None  # "app:resource"; None: the tenant
    id: str = ""
    scopes: tuple[tuple[str, str], ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)

    @classmethod
    def of(cls, kind: str, obj, **extra) -> Resource:
        """A model instance as a resource: where it sits (its ``access_scopes()``, or a registered scope provider's
        answer) and its tags (``access_tags()``)."""
        provider = _scope_providers.get(kind)
        if hasattr(obj, "access_scopes"):
            scopes = tuple(obj.access_scopes())
        elif provider is not None:
            scopes = tuple(provider.scopes_of(obj))
        else:
            scopes = ()
        tags = dict(getattr(obj, "access_tags", lambda: {})())
        return cls(kind=kind, id=str(obj.pk), scopes=scopes, tags=tags, **extra)


@dataclass(frozen=True)
class ScopeProvider:
    """Where objects of one kind sit, for a kind whose model cannot know (it lives in a lower app).

    ``scopes_of(obj)`` lists the scope nodes containing ``obj`` as
    ``(scope_type, scope_id)`` pairs; ``rows_in(scope_type, scope_id)`` is a
    ``Q`` selecting the kind's rows inside one node (``None``: this provider
    does not know that scope type). Users, say, sit in the groups they belong
    to — ``access`` registers that, since ``accounts`` cannot import it.
    """

    scopes_of: Callable
    rows_in: Callable


_scope_providers: dict[str, ScopeProvider] = {}


def register_scope_provider(kind: str, provider: ScopeProvider) -> None:
    _scope_providers[kind] = provider


def scope_provider(kind: str) -> ScopeProvider | None:
    return _scope_providers.get(kind)


@dataclass(frozen=True)
class Decision:
    """The answer, with the ids of the policies that decided it (``reasons``) and any evaluation errors."""

    allowed: bool
    reasons: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default=(), compare=False)

    def __bool__(self) -> bool:
        return self.allowed


class Decider(Protocol):
    def authorize(self, principal, action: str, resource: Resource | None, context: dict | None) -> Decision: ...

    def explain_denial(self, principal, action: str, decision: Decision) -> str: ...

    def visible_filter(self, principal, action: str, model, context: dict | None):
        """A ``Q`` restricting ``model`` rows to those the principal may ``action``; ``None`` for all of them."""

    def holds_anywhere(self, principal, action: str, context: dict | None) -> bool: ...

    def exists(self, action: str) -> bool: ...


_decider: Decider | None = None
NO_DECIDER = Decision(False, errors=("no access-control engine is loaded",))


def register(decider: Decider) -> None:
    """Called once by ``access`` at start-up."""
    global _decider
    _decider = decider


def decider() -> Decider | None:
    return _decider


def context_for(request=None, *, source: str | None = None, now: datetime | None = None) -> dict:
    """Cedar context for a decision: when, from where, through what (the engine adds the derived time fields)."""
    context: dict = {"now": now or timezone.now()}
    if request is not None:
        address = request.META.get("REMOTE_ADDR")
        if address:
            context["ip"] = address
        # The REST API and GraphQL are one source to policies: "api".
        context["source"] = source or ("api" if request.path.startswith(("/api/", "/graphql/")) else "web")
    else:
        context["source"] = source or "task"
    return context


def authorize(principal, action: str, resource: Resource | None = None, context: dict | None = None, *, request=None):
    """The engine's decision; with ``request``, context comes from it and answers are memoised for the request."""
    if _decider is None:
        return NO_DECIDER
    if request is None:
        return _decider.authorize(principal, action, resource, context)
    memo = request.__dict__.setdefault("_authz_decisions", {})
    key = (getattr(principal, "pk", None), action, resource)
    if context is None and key in memo:
        return memo[key]
    decision = _decider.authorize(principal, action, resource, context or context_for(request))
    if context is None:
        memo[key] = decision
    return decision


def can(request, action: str, resource: Resource | None = None) -> bool:
    """Shorthand for menus and templates: may the request's user do ``action``?"""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    return authorize(user, action, resource, request=request).allowed


def visible(principal, action: str, queryset, *, request=None, context: dict | None = None):
    """``queryset`` narrowed in SQL to the rows ``principal`` may ``action`` (none without an engine)."""
    if _decider is None or principal is None or not getattr(principal, "is_authenticated", False):
        return queryset.none()
    if context is None:
        context = context_for(request) if request is not None else context_for(source="task")
    restriction = _decider.visible_filter(principal, action, queryset.model, context)
    return queryset if restriction is None else queryset.filter(restriction)


def denial_message(principal, action: str, decision: Decision) -> str:
    if _decider is None:
        return "Access control is not available."
    return _decider.explain_denial(principal, action, decision)


def read_action_of(kind: str) -> str:
    """The permission that lets someone see a resource kind exists at all: ``<app>:<resource>:view``."""
    return f"{kind}:view"


def require(principal, action: str, resource: Resource | None = None, *, request=None, context=None) -> Decision:
    """Raise unless allowed: ``Http404`` when the principal may not even read the object, else 403 with the reason."""
    decision = authorize(principal, action, resource, context, request=request)
    if decision.allowed:
        return decision
    if resource is not None and resource.kind and resource.id:
        read = read_action_of(resource.kind)
        if read == action or _decider is None or not _decider.exists(read):
            raise Http404("No such object.")
        if not authorize(principal, read, resource, context, request=request).allowed:
            raise Http404("No such object.")
    raise PermissionDenied(denial_message(principal, action, decision))


def holds_anywhere(principal, action: str, *, request=None) -> bool:
    """May ``principal`` do ``action`` on at least something (the tenant, a scope, one granted object)?"""
    if _decider is None:
        return False
    context = context_for(request) if request is not None else context_for(source="task")
    return _decider.holds_anywhere(principal, action, context)


def permission_required(action: str, *, anywhere: bool = False) -> Callable:
    """Function-view decorator: visitors are sent to sign in; everyone else must be allowed ``action`` on the tenant.

    ``anywhere=True`` is for lists and object pages: holding ``action`` on some
    objects is enough to enter, and the view narrows what it shows (``visible``)
    so that objects out of reach are a 404.
    """

    def wrap(view):
        @wraps(view)
        def check(request, *args, **kwargs):
            decision = authorize(request.user, action, request=request)
            if not decision.allowed:
                # Holding it on some objects is enough, unless a policy forbids it outright (then say so).
                plainly_not_held = not decision.reasons and not decision.errors
                if not (anywhere and plainly_not_held and holds_anywhere(request.user, action, request=request)):
                    raise PermissionDenied(denial_message(request.user, action, decision))
            return view(request, *args, **kwargs)

        return login_required(check)

    return wrap


class PermissionRequiredMixin:
    """Class-view mixin: ``permission_required`` on the tenant before dispatch (visitors are sent to sign in)."""

    permission_required: str = ""

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        require(request.user, self.permission_required, request=request)
        return super().dispatch(request, *args, **kwargs)


def require_actor(actor_id, action: str, resource: Resource | None = None, *, source: str = "task"):
    """For work outside a request: load the actor in the current schema and check again; return the user.

    A Celery task, Temporal activity or websocket consumer carries the id of
    the person who started it; by the time it runs their access may have
    changed, so it asks the engine itself rather than trusting the caller.
    """
    user = get_user_model().objects.filter(pk=actor_id).first() if actor_id is not None else None
    if user is None or not user.is_active:
        raise PermissionDenied("The account that started this work no longer exists or is disabled.")
    decision = authorize(user, action, resource, context_for(source=source))
    if not decision.allowed:
        raise PermissionDenied(denial_message(user, action, decision))
    return user


def acting_as(action: str, *, source: str = "task", resource: Callable[..., Resource | None] | None = None):
    """For Celery tasks and Temporal activities: the call carries ``actor_id``, who must still be allowed.

    The wrapped function receives the re-read user as ``actor`` instead of
    ``actor_id``, and every audit event it records names that actor.
    ``resource``, if given, builds the ``Resource`` from the call's keyword
    arguments. Refusal raises ``PermissionDenied`` (Celery
    records it as the task's failure; for Temporal, mark it non-retryable).
    """

    def wrap(function):
        @wraps(function)
        def run(*args, actor_id=None, **kwargs):
            # The audit recorder is the one piece of a higher app any app may call (ARCHITECTURE.md).
            from apps.audit.recorder import bound_actor

            target = resource(**kwargs) if resource is not None else None
            actor = require_actor(actor_id, action, target, source=source)
            with bound_actor(actor):
                return function(*args, actor=actor, **kwargs)

        return run

    return wrap


def consumer_may(scope: Mapping, action: str, resource: Resource | None = None) -> bool:
    """For Channels consumers: may the connection's signed-in user do ``action``? (Call it off the event loop.)"""
    user = scope.get("user")
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    client = scope.get("client") or (None, None)
    context = {"now": timezone.now(), "source": "websocket"}
    if client[0]:
        context["ip"] = client[0]
    return authorize(user, action, resource, context).allowed
