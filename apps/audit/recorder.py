"""``record(...)``: write one audit event, from any app (this module imports only core, tenancy and its own models).

The event is written on the current connection, so inside the caller's
transaction: it commits with the change it records and rolls back with it.
Writing is one INSERT, with no lock on anything shared; the hash chain is
sealed later, off the request path (``services.seal_pending``).
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from .models import AuditEvent, Outcome, RedactionRule
from .redaction import compile_rules, redact

# The request being answered (bound by AuditRequestMiddleware): events a service records during it carry its
# actor, address, user agent and request id without every service taking the request as an argument.
_current_request: ContextVar = ContextVar("audit_current_request", default=None)


@contextmanager
def bound_request(request):
    token = _current_request.set(request)
    try:
        yield
    finally:
        _current_request.reset(token)


# The person on whose behalf background work runs (bound by ``apps.core.authorization.acting_as`` for Celery
# tasks and Temporal activities): what such work records is theirs.
_current_actor: ContextVar = ContextVar("audit_current_actor", default=None)


@contextmanager
def bound_actor(actor):
    token = _current_actor.set(actor)
    try:
        yield
    finally:
        _current_actor.reset(token)


class _System:
    """The actor of work no person asked for (provisioning's seeds, management commands)."""

    is_authenticated = False

    def __repr__(self) -> str:
        return "SYSTEM"


# Pass ``actor=SYSTEM`` to record an event with no actor (shown as "system"): unlike ``actor=None`` it does not fall
# back to the request being answered, whose user may belong to another schema (provider staff provisioning a tenant).
SYSTEM = _System()


# The schema's enabled tenant rules, as (kind, pattern) pairs; the key is per schema (django-tenants' key function).
RULES_CACHE_KEY = "audit:redaction-rules"
RULES_CACHE_SECONDS = 300


def tenant_rules(request=None):
    """The schema's compiled tenant rules; kept on ``request`` for the rest of it when one is given.

    A request records several events (its service's, django-auditlog's, the middleware's): one cache read
    serves them all. A rule changed in this request forgets the kept copy (``forget_rules``); one changed
    elsewhere meanwhile applies from the next request on, as it would to a request already past its events.
    """
    schema = connection.schema_name
    kept = getattr(request, "_audit_rules", None) if request is not None else None
    if kept is not None and kept[0] == schema:
        return kept[1]
    rules = _cached_rules()
    if request is not None:
        request._audit_rules = (schema, rules)
    return rules


def forget_rules() -> None:
    """Drop the rules kept on the request being answered (its rules just changed)."""
    request = _current_request.get()
    if request is not None and hasattr(request, "_audit_rules"):
        del request._audit_rules


def _cached_rules():
    rows = cache.get(RULES_CACHE_KEY)
    if rows is None:
        rows = list(RedactionRule.objects.filter(enabled=True).values_list("kind", "pattern"))
        cache.set(RULES_CACHE_KEY, rows, RULES_CACHE_SECONDS)
    return _compiled(tuple(map(tuple, rows)))


_compiled_cache: dict[tuple, object] = {}


def _compiled(rows: tuple):
    if rows not in _compiled_cache:
        if len(_compiled_cache) > 256:
            _compiled_cache.clear()
        _compiled_cache[rows] = compile_rules(rows)
    return _compiled_cache[rows]


MAX_TEXT = {"actor_display": 254, "resource_display": 300, "user_agent": 300, "on_behalf_of": 300}


def _request_facts(request) -> dict:
    if request is None:
        return {}
    return {
        "request_id": str(getattr(request, "correlation_id", "") or request.META.get("HTTP_X_REQUEST_ID", ""))[:64],
        "source_ip": request.META.get("REMOTE_ADDR") or None,
        "user_agent": request.META.get("HTTP_USER_AGENT", ""),
    }


def _actor_facts(actor) -> dict:
    if actor is None or not getattr(actor, "is_authenticated", False):
        return {}
    facts = {"actor_id": actor.pk, "actor_display": getattr(actor, "email", "") or str(actor)}
    if getattr(actor, "is_delegated", False):
        facts["on_behalf_of"] = f"{actor.home_schema}:{actor.home_user_id}:{getattr(actor, 'home_email', '')}"
    return facts


def build(
    action: str,
    *,
    actor=None,
    request=None,
    resource_type: str = "",
    resource_id="",
    resource_display: str = "",
    outcome: str = Outcome.SUCCESS,
    changes: dict | None = None,
    metadata: dict | None = None,
) -> AuditEvent:
    """The unsaved event ``record`` would write: actor and request filled in from context, values redacted."""
    if outcome not in Outcome.values:
        raise ValueError(f"Unknown outcome '{outcome}'.")
    if request is None:
        request = _current_request.get()
    if actor is None:
        actor = _current_actor.get()
    if actor is None and request is not None:
        actor = getattr(request, "user", None)
    rules = tenant_rules(request)
    fields = {
        "occurred_at": timezone.now(),
        "action": action[:150],
        "resource_type": resource_type[:100],
        "resource_id": str(resource_id)[:128],
        "resource_display": resource_display,
        "outcome": outcome,
        "changes": redact(changes or {}, rules=rules),
        "metadata": redact(metadata or {}, rules=rules),
        **_request_facts(request),
        **_actor_facts(actor),
    }
    for name, limit in MAX_TEXT.items():
        if name in fields:
            fields[name] = fields[name][:limit]
    return AuditEvent(**fields)


def record(
    action: str,
    *,
    actor=None,
    request=None,
    resource_type: str = "",
    resource_id="",
    resource_display: str = "",
    outcome: str = Outcome.SUCCESS,
    changes: dict | None = None,
    metadata: dict | None = None,
) -> AuditEvent:
    """Record that ``actor`` did ``action`` (a permission name or an event name like ``accounts:session:login``)."""
    event = build(
        action,
        actor=actor,
        request=request,
        resource_type=resource_type,
        resource_id=resource_id,
        resource_display=resource_display,
        outcome=outcome,
        changes=changes,
        metadata=metadata,
    )
    event.save(force_insert=True)
    return event
