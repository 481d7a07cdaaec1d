"""The one decision point: ``authorize(principal, action, resource, context) -> Decision``, on Cedar (cedarpy).

Every question "may this user do this, here, now?" is answered by one Cedar
evaluation over the current schema's policies:

* ``builtin/superuser`` and ``builtin/tenant-admin``: the account flags
  (a superuser may do anything; a tenant administrator anything up to the
  tenant-admin tier);
* ``assignment/<id>``: each role assignment, one ``permit`` per permission of
  its role, over the tenant or a scope node (``resource in Scope::"type/id"``);
* ``object-grant``: django-guardian grants on the object (the engine puts the
  granted actions in the resource's ``objectGrants`` attribute);
* ``policy/<name>``: the tenant's own Cedar ``permit``/``forbid`` statements.
  A ``forbid`` beats every ``permit``. Tenant policies never apply to
  ``access:policy:*`` so that a tenant cannot lock itself out of fixing them.

Speed (see docs/design/access-control-research.md): one PolicySet per
action, built from Cedar's JSON form so that policy ids are ours, cached per
process and schema until the schema's access version moves (``selectors.
bump_access_version``, called on every change to roles, groups, memberships,
assignments, policies and grants); a request sends Cedar two entities (the
user with all its groups as parents, the resource with all its scopes).

Safety: the schema is always passed, and any evaluation error denies (Cedar
skips a policy whose condition errs, which for a ``forbid`` would fail open).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

import cedarpy
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tenants.utils import get_public_schema_name

from apps.core import authorization
from apps.core.authorization import Decision, Resource
from apps.core.permissions import Tier

from . import registry
from .models import Policy, RoleAssignment
from .selectors import (
    access_version,
    forget_local,
    object_grant_actions,
    outside_transaction,
    user_group_names,
    visible_object_ids,
)

NAMESPACE = "Nimbus"
ACTION_TYPE = f"{NAMESPACE}::Action"
USER_TYPE = f"{NAMESPACE}::User"
GROUP_TYPE = f"{NAMESPACE}::Group"
TENANT_TYPE = f"{NAMESPACE}::Tenant"
SCOPE_TYPE = f"{NAMESPACE}::Scope"
# Tenant policies cannot reach these: whatever a tenant writes, its administrators can still repair it.
BREAK_GLASS_PREFIX = "access:policy:"
CONTEXT_KEYS = {"now", "ip", "source", "mfa"}
SOURCES = {"web", "api", "task", "workflow", "websocket", "simulator"}

__all__ = ["Decision", "Resource", "authorize", "explain", "prepare"]


def resource_type(kind: str) -> str:
    """The Cedar entity type of a registry resource: ``accounts:user`` → ``Nimbus::AccountsUser``."""
    return f"{NAMESPACE}::" + "".join(part.title().replace("_", "") for part in kind.split(":"))


def _kinds() -> list[str]:
    kinds = {name.rsplit(":", 1)[0] for name in (p.name for p in registry.all_permissions())}
    return sorted(kinds | {kind.name for kind in registry.resource_kinds()})


def schema_text() -> str:
    """The Cedar schema, generated from the registry: what tenant policies are validated against."""
    lines = [
        f"namespace {NAMESPACE} {{",
        "  type Context = {",
        "    now: datetime, hour: Long, minute_of_day: Long, weekday: Long, source: String,",
        "    ip?: ipaddr, mfa?: Bool",
        "  };",
        "  entity Group;",
        "  entity User in [Group] { email: String, tenant_admin: Bool, superuser: Bool, delegated: Bool };",
        "  entity Tenant { objectGrants: Set<String> } tags String;",
        "  entity Scope in [Scope, Tenant];",
    ]
    for kind in _kinds():
        own = resource_type(kind).split("::")[-1]
        lines.append(f"  entity {own} in [Scope, Tenant] {{ objectGrants: Set<String> }} tags String;")
    for permission in registry.all_permissions():
        own = resource_type(permission.name.rsplit(":", 1)[0]).split("::")[-1]
        applies = f"principal: [User], resource: [{own}, Tenant], context: Context"
        lines.append(f'  action "{permission.name}" appliesTo {{ {applies} }};')
    lines.append("}")
    return "\n".join(lines)


@lru_cache(maxsize=4)
def _schema(text: str) -> cedarpy.Schema:
    return cedarpy.Schema.from_str(text)


@lru_cache(maxsize=4)
def _schema_for(permission_names: tuple[str, ...], kind_names: tuple[str, ...]) -> cedarpy.Schema:
    return _schema(schema_text())


def schema() -> cedarpy.Schema:
    # The text is a function of the registered permission and resource-kind names only: key on those rather
    # than writing the text out again for every decision.
    return _schema_for(tuple(registry._permissions), tuple(registry._kinds))


def _entity(entity_type: str, entity_id) -> dict:
    return {"type": entity_type, "id": str(entity_id)}


def _attr(var: str, name: str) -> dict:
    return {".": {"left": {"Var": var}, "attr": name}}


def _est(effect, *, principal=None, action: str, resource=None, when=None) -> dict:
    return {
        "effect": effect,
        "principal": principal or {"op": "All"},
        "action": {"op": "==", "entity": _entity(ACTION_TYPE, action)},
        "resource": resource or {"op": "All"},
        "conditions": [{"kind": "when", "body": when}] if when else [],
    }


def scope_node(scope_type: str, scope_id: str) -> dict:
    return _entity(SCOPE_TYPE, f"{scope_type}/{scope_id}")


@dataclass(frozen=True)
class Grantee:
    """One role assignment, as the decision needs it: its id, who holds it, and where (``None``: the tenant)."""

    policy_id: str
    user_id: int | None
    group_name: str | None
    scope: str | None  # "type/id" of a scope node


def _assignments() -> dict[str, list[Grantee]]:
    """action → the role assignments that permit it, in the current schema."""
    by_action: dict[str, list[Grantee]] = {}
    for assignment in RoleAssignment.objects.select_related("role", "group").order_by("pk"):
        scope = None
        if assignment.scope_type != RoleAssignment.SCOPE_TENANT:
            scope = f"{assignment.scope_type}/{assignment.scope_id}"
        grantee = Grantee(
            f"assignment/{assignment.pk}",
            assignment.user_id,
            assignment.group.name if assignment.group_id else None,
            scope,
        )
        for action in assignment.role.permissions:
            if registry.exists(action):
                by_action.setdefault(action, []).append(grantee)
    return by_action


def _grantee_est(grantee: Grantee, action: str, schema_name: str) -> dict:
    if grantee.user_id is not None:
        principal = {"op": "==", "entity": _entity(USER_TYPE, grantee.user_id)}
    else:
        principal = {"op": "in", "entity": _entity(GROUP_TYPE, grantee.group_name)}
    if grantee.scope is None:
        where = {"op": "in", "entity": _entity(TENANT_TYPE, schema_name)}
    else:
        where = {"op": "in", "entity": _entity(SCOPE_TYPE, grantee.scope)}
    return _est("permit", principal=principal, action=action, resource=where)


def _builtin_est(action: str, tenant_admin: bool) -> dict[str, dict]:
    statics = {
        "builtin/superuser": _est("permit", action=action, when=_attr("principal", "superuser")),
        "object-grant": _est(
            "permit",
            action=action,
            when={"contains": {"left": _attr("resource", "objectGrants"), "right": {"Value": action}}},
        ),
    }
    if tenant_admin:
        statics["builtin/tenant-admin"] = _est("permit", action=action, when=_attr("principal", "tenant_admin"))
    return statics


def _tenant_policy_actions(statement: dict) -> list[str] | None:
    """The actions a tenant statement can apply to; ``None`` for every action."""
    scope = statement.get("action", {})
    if scope.get("op") == "==" or (scope.get("op") == "in" and "entity" in scope):
        return [scope["entity"]["id"]]
    if scope.get("op") == "in":
        return [entity["id"] for entity in scope.get("entities", [])]
    return None


def _tenant_statements(schema_name: str) -> dict[str, dict[str, dict]]:
    """action → {policy id: EST} of the tenant's enabled statements that can apply to it."""
    permit_ceiling = Tier.PROVIDER if schema_name == get_public_schema_name() else Tier.TENANT_ADMIN
    statements = [
        (policy_id, statement, _tenant_policy_actions(statement))
        for policy in Policy.objects.filter(enabled=True).order_by("name")
        for policy_id, statement in policy.compiled.items()
    ]
    by_action: dict[str, dict[str, dict]] = {}
    for permission in registry.all_permissions():
        action = permission.name
        if action.startswith(BREAK_GLASS_PREFIX):
            continue
        for policy_id, statement, actions in statements:
            if actions is not None and action not in actions:
                continue
            # A tenant's own permit never reaches above what its administrators hold: like a role, it cannot
            # grant a provider-tier action. Its forbids reach everything.
            if statement.get("effect") == "permit" and not permission.tier <= permit_ceiling:
                continue
            by_action.setdefault(action, {})[policy_id] = statement
    return by_action


def _reads_resource(statement: dict) -> bool:
    """Whether a statement's outcome can depend on which resource is asked about."""
    if statement.get("resource", {}).get("op") != "All":
        return True
    return '"Var": "resource"' in json.dumps(statement.get("conditions", []))


def _policy_set(statics: dict[str, dict]) -> cedarpy.PolicySet:
    est = {"staticPolicies": statics, "templates": {}, "templateLinks": []}
    return cedarpy.PolicySet.from_json_str(json.dumps(est))


@dataclass(frozen=True)
class Prepared:
    """One action's material: the role and built-in permits, indexed for Python; the tenant's statements for Cedar.

    The permits of roles, account flags and object grants are plain
    membership tests, answered in Python exactly as Cedar would; only the
    tenant's own statements, with their conditions, go to Cedar. An action no
    tenant statement can reach never calls Cedar at all.
    """

    tenant_admin: bool
    by_user: dict[int, tuple[Grantee, ...]]
    by_group: dict[str, tuple[Grantee, ...]]
    tenant: cedarpy.PolicySet | None
    # A tenant forbid reads the resource (scope, tags, id): lists must then be decided row by row, grouped by
    # what those forbids can tell apart: the scope nodes ("type/id") and the objects (ids) they name.
    forbids_read_resource: bool = False
    forbid_nodes: tuple[str, ...] = ()
    forbid_named: frozenset[str] = frozenset()


def _build(schema_name: str) -> dict[str, Prepared]:
    """Every action's prepared material for the current schema."""
    from .cedar_source import entity_references

    assignments = _assignments()
    tenant = _tenant_statements(schema_name)
    prepared: dict[str, Prepared] = {}
    for permission in registry.all_permissions():
        by_user: dict[int, list[Grantee]] = {}
        by_group: dict[str, list[Grantee]] = {}
        for grantee in assignments.get(permission.name, ()):
            if grantee.user_id is not None:
                by_user.setdefault(grantee.user_id, []).append(grantee)
            else:
                by_group.setdefault(grantee.group_name, []).append(grantee)
        statements = tenant.get(permission.name) or {}
        forbids = [statement for statement in statements.values() if statement["effect"] == "forbid"]
        references = [ref for statement in forbids for ref in entity_references(statement)]
        own_type = resource_type(permission.name.rsplit(":", 1)[0])
        prepared[permission.name] = Prepared(
            tenant_admin=permission.tier <= Tier.TENANT_ADMIN,
            by_user={key: tuple(value) for key, value in by_user.items()},
            by_group={key: tuple(value) for key, value in by_group.items()},
            tenant=_policy_set(statements) if statements else None,
            forbids_read_resource=any(_reads_resource(statement) for statement in forbids),
            forbid_nodes=tuple(
                sorted({ref["id"] for ref in references if ref["type"] == SCOPE_TYPE and "/" in ref["id"]})
            ),
            forbid_named=frozenset(ref["id"] for ref in references if ref["type"] == own_type),
        )
    return prepared


def reference_policy_set(action: str) -> cedarpy.PolicySet:
    """Everything about ``action`` as one Cedar PolicySet, built fresh: what ``authorize`` must agree with.

    For tests and the benchmark: ``authorize`` answers role permits in Python
    and sends Cedar only the tenant's statements; this set holds them all.
    """
    schema_name = connection.schema_name
    permission = registry.get(action)
    statics = _builtin_est(action, permission.tier <= Tier.TENANT_ADMIN)
    for grantee in _assignments().get(action, ()):
        statics[grantee.policy_id] = _grantee_est(grantee, action, schema_name)
    statics.update(_tenant_statements(schema_name).get(action, {}))
    return _policy_set(statics)


_prepared: dict[str, tuple[int, dict[str, Prepared]]] = {}


def _in_real_transaction() -> bool:
    # A test's own wrapping transaction does not count: inside it the code behaves as in production.
    return not outside_transaction()


def prepare(version: int | None = None) -> dict[str, Prepared]:
    """The current schema's prepared material per action: from the process cache while the access version stands still.

    ``version``: the access version the caller already read (``authorize`` reads it once per decision).
    """
    schema_name = connection.schema_name
    if _in_real_transaction():
        # Uncommitted rows may still roll back after the version moved: build from them, keep nothing.
        return _build(schema_name)
    version = access_version() if version is None else version
    prepared = _prepared.get(schema_name)
    if prepared is None or prepared[0] != version:
        prepared = (version, _build(schema_name))
        _prepared[schema_name] = prepared
    return prepared[1]


def forget() -> None:
    """Drop this process's prepared PolicySets and cached answers (tests, after rolling back what they changed)."""
    _prepared.clear()
    forget_local()


_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:@/-]{0,128}$")


class ContextError(ValueError):
    """The caller's context cannot be turned into Cedar context (unknown key, bad address, bad time)."""


def cedar_context(context: dict | None) -> dict:
    """Validate the caller's context and derive the time fields policies read (``hour``, ``weekday``, …).

    Times are read in the server's time zone (``TIME_ZONE``, UTC unless set).
    """
    context = dict(context or {})
    unknown = sorted(set(context) - CONTEXT_KEYS)
    if unknown:
        raise ContextError(f"Unknown context keys: {', '.join(unknown)} (known: {', '.join(sorted(CONTEXT_KEYS))}).")
    now = context.get("now") or timezone.now()
    if isinstance(now, str):
        parsed = parse_datetime(now)
        if parsed is None:
            raise ContextError(f"'now' must be an ISO 8601 date and time, not '{now}'.")
        now = parsed
    if not isinstance(now, datetime):
        raise ContextError("'now' must be a date and time.")
    if timezone.is_naive(now):
        now = timezone.make_aware(now)
    local = timezone.localtime(now)
    source = context.get("source") or "web"
    if source not in SOURCES:
        raise ContextError(f"'source' must be one of {', '.join(sorted(SOURCES))}.")
    result = {
        "now": {"__extn": {"fn": "datetime", "arg": now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}},
        "hour": local.hour,
        "minute_of_day": local.hour * 60 + local.minute,
        "weekday": local.isoweekday(),
        "source": source,
    }
    if context.get("ip"):
        import ipaddress

        try:
            address = ipaddress.ip_address(str(context["ip"]))
        except ValueError as error:
            raise ContextError(f"'ip' is not an IP address: {context['ip']}.") from error
        result["ip"] = {"__extn": {"fn": "ip", "arg": str(address)}}
    if "mfa" in context:
        if not isinstance(context["mfa"], bool):
            raise ContextError("'mfa' must be true or false.")
        result["mfa"] = context["mfa"]
    return result


def _request(principal, action: str, resource: Resource, context: dict, groups, grants):
    """The Cedar request and the entities it needs: the user (all its groups as parents) and the resource."""
    tenant = _entity(TENANT_TYPE, connection.schema_name)
    user = {
        "uid": _entity(USER_TYPE, principal.pk),
        "attrs": {
            "email": principal.email,
            "tenant_admin": bool(getattr(principal, "is_tenant_admin", False)),
            "superuser": bool(principal.is_superuser),
            "delegated": bool(getattr(principal, "is_delegated", False)),
        },
        "parents": [_entity(GROUP_TYPE, name) for name in sorted(groups)],
    }
    tags = {str(key): str(value) for key, value in resource.tags.items()}
    if resource.kind is None:
        target = tenant
        entities = [user, {"uid": tenant, "attrs": {"objectGrants": []}, "parents": [], "tags": tags}]
    else:
        # The tenant and the scope nodes are parents only: no policy can read their attributes from here,
        # so Cedar is not given them as entities (each costs it a parse).
        target = _entity(resource_type(resource.kind), resource.id)
        parents = [tenant, *(scope_node(kind, node) for kind, node in resource.scopes)]
        entities = [user, {"uid": target, "attrs": {"objectGrants": sorted(grants)}, "parents": parents, "tags": tags}]
    request = {
        "principal": _entity(USER_TYPE, principal.pk),
        "action": _entity(ACTION_TYPE, action),
        "resource": target,
        "context": context,
    }
    return request, entities


def _role_permits(prepared: Prepared, principal, groups, resource: Resource, grants, action: str) -> set[str]:
    """The built-in, object-grant and role-assignment permits that hold: what Cedar would find among them."""
    permits: set[str] = set()
    if principal.is_superuser:
        permits.add("builtin/superuser")
    if prepared.tenant_admin and getattr(principal, "is_tenant_admin", False):
        permits.add("builtin/tenant-admin")
    if action in grants:
        permits.add("object-grant")
    # "resource in Tenant" holds for every resource; "resource in Scope" only for the object's own scope nodes
    # (the tenant itself sits in none).
    nodes = {f"{kind}/{node}" for kind, node in resource.scopes} if resource.kind is not None else set()
    candidates = list(prepared.by_user.get(principal.pk, ()))
    for group in groups:
        candidates.extend(prepared.by_group.get(group, ()))
    for grantee in candidates:
        if grantee.scope is None or grantee.scope in nodes:
            permits.add(grantee.policy_id)
    return permits


def authorize(principal, action: str, resource: Resource | None = None, context: dict | None = None) -> Decision:
    """May ``principal`` (a user of the current schema) do ``action`` on ``resource`` (default: the tenant)?"""
    if not registry.exists(action):
        raise ValueError(f"Unknown permission '{action}': declare it in its app's permissions.py.")
    if principal is None or not getattr(principal, "is_authenticated", False) or not principal.is_active:
        return Decision(False, errors=("not an active user",))
    resource = resource or Resource()
    if resource.kind is not None and resource.kind != action.rsplit(":", 1)[0]:
        return Decision(False, errors=(f"'{action}' does not apply to a {resource.kind}",))
    if not _SAFE_ID.match(str(resource.id)) or any(
        not _SAFE_ID.match(f"{kind}/{node}") for kind, node in resource.scopes
    ):
        return Decision(False, errors=("malformed resource id",))
    try:
        cedar = cedar_context(context)
    except ContextError as error:
        return Decision(False, errors=(str(error),))
    # One read of the access version for the whole decision: prepared material, groups and grants all follow it.
    version = access_version()
    prepared = prepare(version)[action]
    groups = user_group_names(principal, version=version)
    grants = (
        object_grant_actions(principal, resource.kind, resource.id, version=version)
        if resource.kind is not None and resource.id
        else set()
    )
    permits = _role_permits(prepared, principal, groups, resource, grants, action)
    if prepared.tenant is None:
        return Decision(bool(permits), tuple(sorted(permits)))
    request, entities = _request(principal, action, resource, cedar, groups, grants)
    result = cedarpy.is_authorized(request, prepared.tenant, entities, schema())
    errors = tuple(result.diagnostics.errors)
    # Cedar saw only the tenant's statements. It allows when one of their permits holds and no forbid does
    # (reasons: those permits); it denies naming the forbids that hold, or naming nothing when neither does.
    if result.allowed:
        forbids: set[str] = set()
        permits |= set(result.diagnostics.reasons)
    else:
        forbids = set(result.diagnostics.reasons)
    allowed = bool(permits) and not forbids
    reasons = tuple(sorted(permits if allowed else forbids))
    # Fail closed: Cedar skips a policy whose evaluation errs, which would let a broken forbid through.
    return Decision(allowed and not errors, reasons, errors)


def authorize_in_cedar_only(principal, action: str, resource: Resource | None = None, context: dict | None = None):
    """The same question put to Cedar alone, over ``reference_policy_set(action)``: the yardstick for ``authorize``.

    Slow (the set is built on every call); for tests and the benchmark.
    """
    resource = resource or Resource()
    if principal is None or not getattr(principal, "is_authenticated", False) or not principal.is_active:
        return Decision(False, errors=("not an active user",))
    try:
        cedar = cedar_context(context)
    except ContextError as error:
        return Decision(False, errors=(str(error),))
    groups = user_group_names(principal)
    grants = object_grant_actions(principal, resource.kind, resource.id) if resource.kind and resource.id else set()
    request, entities = _request(principal, action, resource, cedar, groups, grants)
    result = cedarpy.is_authorized(request, reference_policy_set(action), entities, schema())
    errors = tuple(result.diagnostics.errors)
    return Decision(result.allowed and not errors, tuple(sorted(result.diagnostics.reasons)), errors)


# --- Explanations -------------------------------------------------------------------------------


def explain(reason: str) -> dict:
    """What a policy id in ``Decision.reasons`` stands for, for people: kind, effect and a sentence."""
    if reason == "builtin/superuser":
        return {"id": reason, "kind": "builtin", "effect": "permit", "text": "The account is a superuser."}
    if reason == "builtin/tenant-admin":
        return {
            "id": reason,
            "kind": "builtin",
            "effect": "permit",
            "text": "The account is a tenant administrator (everything up to the tenant-admin tier).",
        }
    if reason == "object-grant":
        return {"id": reason, "kind": "grant", "effect": "permit", "text": "A grant on this very object."}
    if reason.startswith("assignment/"):
        assignment = (
            RoleAssignment.objects.select_related("role", "user", "group").filter(pk=reason.split("/", 1)[1]).first()
        )
        if assignment is None:
            return {"id": reason, "kind": "assignment", "effect": "permit", "text": "A role assignment since removed."}
        who = f"user {assignment.user.email}" if assignment.user_id else f"group '{assignment.group.name}'"
        where = (
            "the whole tenant"
            if assignment.scope_type == RoleAssignment.SCOPE_TENANT
            else f"{assignment.scope_type} {assignment.scope_id}"
        )
        return {
            "id": reason,
            "kind": "assignment",
            "effect": "permit",
            "text": f"Role '{assignment.role.name}' given to {who} over {where}.",
            "assignment": assignment.pk,
        }
    if reason.startswith("policy/"):
        name = reason.split("/")[1]
        policy = Policy.objects.filter(name=name).first()
        statement = (policy.compiled.get(reason) if policy else None) or {}
        effect = statement.get("effect", "")
        text = f"Tenant policy '{name}'" + (f": {policy.description}" if policy and policy.description else ".")
        return {"id": reason, "kind": "policy", "effect": effect, "text": text, "policy": name}
    return {"id": reason, "kind": "unknown", "effect": "", "text": reason}


def explain_denial(principal, action: str, decision: Decision) -> str:
    """The sentence a 403 carries."""
    if decision.errors:
        return f"'{action}' could not be decided safely, so it is denied: {'; '.join(decision.errors)}."
    forbids = [explain(reason) for reason in decision.reasons]
    if forbids:
        return "Forbidden by " + "; ".join(item["text"].rstrip(".") for item in forbids) + "."
    permission = registry.get(action)
    label = f" ({permission.label.lower()})" if permission else ""
    return f"You do not hold the permission '{action}'{label}."


# --- What a principal may see, for lists ----------------------------------------------------------


def _scoped_assignments(principal, action: str) -> list[RoleAssignment]:
    from .selectors import assignments_reaching

    return [
        assignment
        for assignment in assignments_reaching(principal)
        if assignment.scope_type != RoleAssignment.SCOPE_TENANT and action in assignment.role.permissions
    ]


def visible_filter(principal, action: str, model, context: dict | None):
    """``None`` when ``principal`` may ``action`` every row of ``model``; else a ``Q`` for the rows it may.

    The tenant-wide decision first (role assignments over the tenant, account
    flags, tenant policies on the context); if that is a plain "not held",
    the rows under the principal's scoped assignments (the model's
    ``access_scope_q``) and the rows granted to it, in SQL. When a tenant
    ``forbid`` for the action reads the resource (its tags, its scopes, its
    id), SQL cannot tell which rows it hides: the candidate rows are then
    decided one by one, before any paging, so a list never shows a row its
    detail page would refuse. That costs a decision per row.
    """
    if not registry.exists(action):
        return Q(pk__in=[])
    tenant_wide = authorize(principal, action, None, context)
    kind = registry.kind_of_model(model)
    if tenant_wide.allowed:
        restriction = None
    elif kind is None or tenant_wide.reasons or tenant_wide.errors:
        return Q(pk__in=[])  # a forbid that holds whatever the object, or rows nothing can be granted on
    else:
        restriction = Q(pk__in=list(visible_object_ids(principal, kind.name, action)))
        provider = authorization.scope_provider(kind.name)
        scope_q = getattr(model, "access_scope_q", None) or (provider.rows_in if provider else None)
        for assignment in _scoped_assignments(principal, action):
            if scope_q is not None:
                narrowed = scope_q(assignment.scope_type, assignment.scope_id)
                if narrowed is not None:
                    restriction |= narrowed
    prepared = prepare()[action]
    if kind is None or not prepared.forbids_read_resource:
        return restriction
    candidates = model.objects.all() if restriction is None else model.objects.filter(restriction)
    kept = _rows_no_forbid_hides(principal, action, kind.name, model, candidates, context)
    return restriction if kept is None else Q(pk__in=kept)


def _forbid_fires(principal, action: str, resource: Resource, context) -> bool:
    decision = authorize(principal, action, resource, context)
    # Denied naming policies: those are forbids that hold. Denied naming nothing: only no permit (the rows were
    # chosen by their permits already). An error: treated as a forbid (fail closed).
    return bool(decision.errors) or (not decision.allowed and bool(decision.reasons))


def _rows_no_forbid_hides(principal, action: str, kind: str, model, candidates, context) -> list | None:
    """The candidate rows no tenant forbid hides (``None``: all of them), deciding once per group of rows the
    forbids cannot tell apart.

    A forbid can only tell rows apart by what it reads: the scope nodes it
    names (rows inside each are found in SQL), an object it names by id, and
    tags. Rows of a model without tags are grouped by the named nodes they sit
    in, and decided once per group; a model with tags is decided row by row.
    """
    prepared = prepare()[action]
    nodes = tuple(node for node in prepared.forbid_nodes if "/" in node)  # "type/id": the only kind a row sits in
    named = prepared.forbid_named
    provider = authorization.scope_provider(kind)
    scope_q = getattr(model, "access_scope_q", None) or (provider.rows_in if provider else None)
    if hasattr(model, "access_tags") or (nodes and scope_q is None):
        return [
            obj.pk
            for obj in candidates.iterator()
            if not _forbid_fires(principal, action, Resource.of(kind, obj), context)
        ]
    inside: dict[str, set] = {}
    for node in nodes:
        node_type, node_id = node.split("/", 1)
        narrowed = scope_q(node_type, node_id)
        inside[node] = set(candidates.filter(narrowed).values_list("pk", flat=True)) if narrowed is not None else set()
    if not nodes and not named:
        # Nothing tells the rows apart (tags aside, which this model has none of): one decision for all.
        fires = _forbid_fires(principal, action, Resource(kind, "0"), context)
        return [] if fires else None
    fired: dict[tuple, bool] = {}
    kept = []
    for pk in candidates.values_list("pk", flat=True):
        sits_in = tuple(node for node in nodes if pk in inside[node])
        signature = (sits_in, str(pk) if str(pk) in named else None)
        if signature not in fired:
            scopes = tuple(tuple(node.split("/", 1)) for node in sits_in)
            fired[signature] = _forbid_fires(principal, action, Resource(kind, str(pk), scopes), context)
        if not fired[signature]:
            kept.append(pk)
    return kept


def holds_anywhere(principal, action: str, context: dict | None) -> bool:
    """Whether ``principal`` may ``action`` on at least something: the tenant, a scope, or one granted object."""
    if authorize(principal, action, None, context).allowed:
        return True
    kind = action.rsplit(":", 1)[0]
    return bool(_scoped_assignments(principal, action)) or bool(visible_object_ids(principal, kind, action))


class EngineDecider:
    """What ``apps.core.authorization`` calls: this module, as an object."""

    authorize = staticmethod(authorize)
    explain_denial = staticmethod(explain_denial)
    visible_filter = staticmethod(visible_filter)
    holds_anywhere = staticmethod(holds_anywhere)
    exists = staticmethod(registry.exists)


def install() -> None:
    authorization.register(EngineDecider())


def _placed(resource: Resource | None) -> Resource | None:
    """A simulated resource that names a real object and no scopes sits where that object sits."""
    if resource is None or not resource.kind or not resource.id or resource.scopes:
        return resource
    declared = registry.resource_kind(resource.kind)
    if declared is None or not declared.model:
        return resource
    from django.apps import apps
    from django.core.exceptions import ValidationError

    try:
        obj = apps.get_model(declared.model).objects.filter(pk=resource.id).first()
    except (ValueError, TypeError, ValidationError):
        obj = None
    if obj is None:
        return resource
    placed = Resource.of(resource.kind, obj)
    return Resource(kind=resource.kind, id=resource.id, scopes=placed.scopes, tags=resource.tags or placed.tags)


def simulate(principal, action: str, resource: Resource | None = None, context: dict | None = None) -> dict:
    """The simulator's answer: the decision, each deciding policy explained, and the context Cedar saw.

    Bad input (an unknown action, a resource kind the action does not apply
    to, an unknown context key) raises ``ValueError`` with a sentence for
    the person asking; a decision that could not be made is a denial with
    ``errors``.
    """
    if not registry.exists(action):
        raise ValueError(f"Unknown permission '{action}'.")
    if resource is not None and resource.kind is not None and resource.kind != action.rsplit(":", 1)[0]:
        raise ValueError(f"'{action}' does not apply to a {resource.kind}.")
    resource = _placed(resource)
    cedar = cedar_context({**(context or {}), "source": (context or {}).get("source") or "simulator"})
    decision = authorize(principal, action, resource, {**(context or {}), "source": cedar["source"]})
    return {
        "allowed": decision.allowed,
        "decision": "allow" if decision.allowed else "deny",
        "reasons": [explain(reason) for reason in decision.reasons],
        "errors": list(decision.errors),
        "message": "Allowed." if decision.allowed else explain_denial(principal, action, decision),
        "context": {key: value for key, value in cedar.items() if key not in ("now", "ip")}
        | {"now": cedar["now"]["__extn"]["arg"], **({"ip": cedar["ip"]["__extn"]["arg"]} if "ip" in cedar else {})},
    }
