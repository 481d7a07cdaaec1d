"""The one decision point: ``authorize(principal, action, resource, context) -> Decision``, on Cedar (cedarpy).

Built so far: role assignments (to users, or to groups, nested) compiled to
Cedar ``permit`` policies over the whole-tenant scope, checked against a
Cedar schema generated from the permission registry. Not yet: tenant ABAC
policies, object grants, scopes below the tenant (see docs/access.md).

Shape, following docs/design/access-control-research.md:

* one PolicySet per action, built from Cedar's JSON form so that the policy
  ids are ours (``assignment/<id>``) and a decision names them as reasons;
* PolicySets are cached per process, per schema, per group-graph version
  (``services`` bumps it on every change to groups, memberships,
  assignments and system roles), so a change is seen by the next decision;
* the schema is always passed, and any evaluation error denies: Cedar skips
  a policy that errors, which for a ``forbid`` would fail open.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

import cedarpy
from django.core.cache import cache
from django.db import connection

from . import registry
from .models import RoleAssignment
from .selectors import GROUP_GRAPH_VERSION_KEY, user_group_ids

NAMESPACE = "Nimbus"
ACTION_TYPE = f"{NAMESPACE}::Action"
USER_TYPE = f"{NAMESPACE}::User"
GROUP_TYPE = f"{NAMESPACE}::Group"
TENANT_TYPE = f"{NAMESPACE}::Tenant"


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reasons: tuple[str, ...] = ()
    errors: tuple[str, ...] = field(default=(), compare=False)

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class Resource:
    """What an action is about: a registry resource (``accounts:user``) and its id, or the tenant itself."""

    kind: str | None = None  # "app:resource"; None: the tenant
    id: str = ""


def resource_type(kind: str) -> str:
    """The Cedar entity type of a registry resource: ``accounts:user`` → ``Nimbus::AccountsUser``."""
    return f"{NAMESPACE}::" + "".join(part.title().replace("_", "") for part in kind.split(":"))


@lru_cache(maxsize=4)
def _schema(names: tuple[str, ...]) -> cedarpy.Schema:
    kinds = sorted({name.rsplit(":", 1)[0] for name in names})
    lines = [
        f"namespace {NAMESPACE} {{",
        "  type Ctx = { ip?: ipaddr, now?: datetime };",
        "  entity Group in [Group];",
        "  entity User in [Group];",
        "  entity Tenant;",
        *(f"  entity {resource_type(kind).split('::')[-1]} in [Tenant];" for kind in kinds),
    ]
    for name in names:
        own = resource_type(name.rsplit(":", 1)[0]).split("::")[-1]
        lines.append(f'  action "{name}" appliesTo {{ principal: [User], resource: [{own}, Tenant], context: Ctx }};')
    lines.append("}")
    return cedarpy.Schema.from_str("\n".join(lines))


def schema() -> cedarpy.Schema:
    return _schema(tuple(p.name for p in registry.all_permissions()))


def _uid(entity_type: str, entity_id) -> str:
    return f'{entity_type}::"{entity_id}"'


def _policy_sets_for(schema_name: str) -> dict[str, cedarpy.PolicySet]:
    """Every action's PolicySet for the current schema, built from its role assignments."""
    texts: dict[str, dict[str, str]] = {}
    tenant = _uid(TENANT_TYPE, schema_name)
    for assignment in RoleAssignment.objects.select_related("role").filter(scope_type=RoleAssignment.SCOPE_TENANT):
        principal = (
            f"principal == {_uid(USER_TYPE, assignment.user_id)}"
            if assignment.user_id
            else f"principal in {_uid(GROUP_TYPE, assignment.group_id)}"
        )
        for action in assignment.role.permissions:
            if registry.exists(action):
                texts.setdefault(action, {})[f"assignment/{assignment.pk}"] = (
                    f'permit({principal}, action == {ACTION_TYPE}::"{action}", resource in {tenant});'
                )
    return {action: _policy_set(policies) for action, policies in texts.items()}


def _policy_set(policies: dict[str, str]) -> cedarpy.PolicySet:
    static = {}
    for policy_id, text in policies.items():
        static[policy_id] = json.loads(cedarpy.policies_to_json_str(text))["staticPolicies"]["policy0"]
    return cedarpy.PolicySet.from_json_str(json.dumps({"staticPolicies": static, "templates": {}, "templateLinks": []}))


_prepared: dict[str, tuple[object, dict[str, cedarpy.PolicySet]]] = {}
_EMPTY = cedarpy.PolicySet.from_str("")


def policy_sets() -> dict[str, cedarpy.PolicySet]:
    """The current schema's prepared PolicySets, rebuilt when the group-graph version moved."""
    schema_name = connection.schema_name
    if connection.in_atomic_block:
        # Inside a transaction the rows may be uncommitted and could roll back after the version moved:
        # build from what this transaction sees, and keep nothing.
        return _policy_sets_for(schema_name)
    version = cache.get(GROUP_GRAPH_VERSION_KEY, 0)
    prepared = _prepared.get(schema_name)
    if prepared is None or prepared[0] != version:
        prepared = (version, _policy_sets_for(schema_name))
        _prepared[schema_name] = prepared
    return prepared[1]


_SAFE_ID = re.compile(r"^[A-Za-z0-9_.:@-]{0,128}$")


def authorize(principal, action: str, resource: Resource | None = None, context: dict | None = None) -> Decision:
    """May ``principal`` (a user of the current schema) do ``action`` on ``resource`` (default: the tenant)?"""
    if not registry.exists(action):
        raise ValueError(f"Unknown permission '{action}': declare it in its app's permissions.py.")
    if principal is None or not getattr(principal, "is_authenticated", False) or not principal.is_active:
        return Decision(False, errors=("not an active user",))
    resource = resource or Resource()
    if resource.kind is not None and resource.kind != action.rsplit(":", 1)[0]:
        return Decision(False, errors=(f"'{action}' does not apply to a {resource.kind}",))
    if not _SAFE_ID.match(str(resource.id)):
        return Decision(False, errors=("malformed resource id",))
    schema_name = connection.schema_name
    tenant = {"type": TENANT_TYPE, "id": schema_name}
    groups = user_group_ids(principal)
    entities = [
        {
            "uid": {"type": USER_TYPE, "id": str(principal.pk)},
            "attrs": {},
            "parents": [{"type": GROUP_TYPE, "id": str(group)} for group in sorted(groups)],
        },
        *({"uid": {"type": GROUP_TYPE, "id": str(group)}, "attrs": {}, "parents": []} for group in sorted(groups)),
        {"uid": tenant, "attrs": {}, "parents": []},
    ]
    if resource.kind is None:
        target = tenant
    else:
        target = {"type": resource_type(resource.kind), "id": str(resource.id)}
        entities.append({"uid": target, "attrs": {}, "parents": [tenant]})
    request = {
        "principal": {"type": USER_TYPE, "id": str(principal.pk)},
        "action": {"type": ACTION_TYPE, "id": action},
        "resource": target,
        "context": context or {},
    }
    result = cedarpy.is_authorized(request, policy_sets().get(action, _EMPTY), entities, schema())
    errors = tuple(result.diagnostics.errors)
    # Fail closed: Cedar skips a policy whose evaluation errs, which would let a broken forbid through.
    allowed = result.allowed and not errors
    return Decision(allowed, tuple(result.diagnostics.reasons) if allowed else (), errors)
