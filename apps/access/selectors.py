"""Reads of roles and groups: the group graph, transitive memberships (cached), a principal's tier."""

from __future__ import annotations

import time
from collections import defaultdict
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import get_public_schema_name

from apps.core.permissions import Tier

from .models import Group, GroupNesting, Role, RoleAssignment

# The schema's access version: bumped by every change to roles, groups, memberships, assignments, policies and
# object grants (the cache key is per schema: django-tenants' key function prefixes it). Cached answers and the
# engine's prepared PolicySets name the version they were computed at.
ACCESS_VERSION_KEY = "access:version"
GROUP_GRAPH_VERSION_KEY = ACCESS_VERSION_KEY
MEMBERSHIP_CACHE_SECONDS = 300
# This process's copies of the answers cached in Redis under the access version (see ``_local_get``).
LOCAL_ENTRIES = 4096
_local: dict[tuple, tuple[float, object]] = {}


# Per request (set by AccessVersionSnapshotMiddleware): the version each schema had when first read, so that the
# several decisions of one request cost one Redis read and see one consistent state.
_snapshot: ContextVar[dict[str, int] | None] = ContextVar("access_version_snapshot", default=None)


_version_client = None


def _read_version() -> int:
    """The current schema's access version from Redis, through one client kept per process.

    Django's cache builds a Redis client object on every call, which here
    cost about as much again as the round trip itself; the key is still the
    cache's own (``cache.make_key`` prefixes it with the schema), and the
    value is the plain integer ``cache.incr`` keeps. Any other cache backend
    is read through ``cache.get``.
    """
    global _version_client
    location = settings.CACHES["default"]
    if not location["BACKEND"].endswith("RedisCache"):
        cache.add(ACCESS_VERSION_KEY, time.time_ns(), timeout=None)
        return cache.get(ACCESS_VERSION_KEY, 0)
    if _version_client is None:
        import redis

        options = {k: v for k, v in location.get("OPTIONS", {}).items() if k.startswith("socket_")}
        url = location["LOCATION"] if isinstance(location["LOCATION"], str) else location["LOCATION"][0]
        _version_client = redis.Redis.from_url(url, **options)
    key = cache.make_key(ACCESS_VERSION_KEY)
    raw = _version_client.get(key)
    if raw is None:
        # A schema never changed, or Redis lost the key: start from a number no process can have cached
        # answers under (0 would match what a process prepared before the key was lost).
        _version_client.set(key, time.time_ns(), nx=True)
        raw = _version_client.get(key)
    try:
        return int(raw) if raw is not None else 0
    except ValueError:
        return cache.get(ACCESS_VERSION_KEY, 0)


def access_version() -> int:
    snapshot = _snapshot.get()
    if snapshot is None:
        return _read_version()
    schema_name = connection.schema_name
    if schema_name not in snapshot:
        snapshot[schema_name] = _read_version()
    return snapshot[schema_name]


@contextmanager
def version_snapshot():
    """Read each schema's access version at most once inside the block (one request, one task)."""
    token = _snapshot.set({})
    try:
        yield
    finally:
        _snapshot.reset(token)


def outside_transaction() -> bool:
    """No transaction of our own is open (a test's wrapping transaction does not count)."""
    return not in_real_transaction()


def _local_get(key: tuple):
    """This process's copy of an answer cached under the access version: one Redis round trip less per decision.

    Keys name the schema and the version, like the Redis keys they mirror,
    and entries expire as those do (``MEMBERSHIP_CACHE_SECONDS``); at most
    ``LOCAL_ENTRIES`` are kept, the oldest dropped first. Inside a
    transaction of our own they are not used: reads go to Redis as before.
    """
    entry = _local.get(key)
    if entry is None:
        return None
    expires, value = entry
    if expires < time.monotonic():
        _local.pop(key, None)
        return None
    return value


def _local_set(key: tuple, value) -> None:
    _local[key] = (time.monotonic() + MEMBERSHIP_CACHE_SECONDS, value)
    while len(_local) > LOCAL_ENTRIES:
        try:
            _local.pop(next(iter(_local)), None)
        except (StopIteration, RuntimeError):  # emptied or changed by another thread meanwhile
            break


def forget_local() -> None:
    """Drop this process's copies (tests, after rolling back what they changed)."""
    _local.clear()


def bump_access_version() -> None:
    """Retire every cached answer and prepared PolicySet of the current schema."""
    snapshot = _snapshot.get()
    if snapshot is not None:
        snapshot.pop(connection.schema_name, None)  # this request's own change is seen by its next decision
    try:
        cache.incr(ACCESS_VERSION_KEY)
    except ValueError:
        cache.set(ACCESS_VERSION_KEY, time.time_ns(), timeout=None)


def in_real_transaction() -> bool:
    """Whether the current code runs inside a transaction of its own (a test's wrapping transaction does not count).

    Inside one, rows may still roll back after the access version moved (services bump it at once, and again
    at commit, but a rollback never bumps): nothing read there may be cached under the version, nor taken from
    the cache, which would miss this transaction's own changes.
    """
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _edges() -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """(parents of each group, children of each group) from the nesting table."""
    parents: dict[int, set[int]] = defaultdict(set)
    children: dict[int, set[int]] = defaultdict(set)
    for parent_id, child_id in GroupNesting.objects.values_list("parent_id", "child_id"):
        parents[child_id].add(parent_id)
        children[parent_id].add(child_id)
    return parents, children


def _reach(start: set[int], step: dict[int, set[int]]) -> set[int]:
    seen: set[int] = set()
    frontier = set(start)
    while frontier:
        seen |= frontier
        frontier = {nxt for node in frontier for nxt in step.get(node, ())} - seen
    return seen


def ancestors_of(group_id: int) -> set[int]:
    """Every group that contains ``group_id``, directly or through others (not itself)."""
    parents, _ = _edges()
    return _reach(parents.get(group_id, set()), parents)


def _longest(group_id: int, step: dict[int, set[int]]) -> int:
    # The graph is acyclic (services refuse cycles), so a depth-first walk ends.
    memo: dict[int, int] = {}

    def walk(node: int) -> int:
        if node not in memo:
            memo[node] = max((1 + walk(nxt) for nxt in step.get(node, ())), default=0)
        return memo[node]

    return walk(group_id)


def depth_above(group_id: int) -> int:
    """How many levels of groups contain this one, along the longest chain."""
    parents, _ = _edges()
    return _longest(group_id, parents)


def depth_below(group_id: int) -> int:
    """How many levels of groups this one contains, along the longest chain."""
    _, children = _edges()
    return _longest(group_id, children)


def _user_groups(user, version: int | None = None) -> dict[int, str]:
    """Every group ``user`` belongs to (id → name), directly or through nested groups; cached per access version.

    ``version``: the access version the caller already read (the engine reads it once per decision).
    """
    version = access_version() if version is None else version
    local_key = (connection.schema_name, "user-groups", user.pk, version)
    local = outside_transaction()
    if local:
        groups = _local_get(local_key)
        if groups is not None:
            return groups
    key = f"access:user-groups:{user.pk}:{version}"
    cached = cache.get(key) if local else None  # inside a transaction: neither taken from nor put in a cache
    if cached is not None:
        groups = {int(pk): name for pk, name in cached}
        if local:
            _local_set(local_key, groups)
        return groups
    direct = set(Group.objects.filter(members=user).values_list("pk", flat=True))
    if not direct:
        groups: dict[int, str] = {}
    else:
        parents, _ = _edges()
        reached = _reach(direct, parents)
        groups = dict(Group.objects.filter(pk__in=reached).values_list("pk", "name"))
    if local:
        cache.set(key, sorted(groups.items()), MEMBERSHIP_CACHE_SECONDS)
        _local_set(local_key, groups)
    return groups


def user_group_ids(user, *, version: int | None = None) -> frozenset[int]:
    """Every group ``user`` belongs to, directly or through nested groups; cached until anything changes."""
    return frozenset(_user_groups(user, version))


def user_group_names(user, *, version: int | None = None) -> frozenset[str]:
    """The names of ``user_group_ids`` (groups are named in Cedar policies by their name)."""
    return frozenset(_user_groups(user, version).values())


def group_effective_members(group: Group):
    """The users in ``group`` directly or through any group nested in it."""
    from django.contrib.auth import get_user_model

    _, children = _edges()
    groups = _reach({group.pk}, children)
    return get_user_model().objects.filter(access_groups__in=groups).distinct().order_by("email")


def principal_tier(user) -> Tier:
    """The highest tier ``user`` acts in: its account flags, and the tiers of the roles it holds over the tenant.

    Provider staff on the provider host act in the Provider tier; tenant
    administrators (and superusers) in the Tenant-admin tier; everyone else
    in the User tier, raised by any role they hold over the whole tenant.
    """
    if connection.schema_name == get_public_schema_name() and user.is_staff:
        return Tier.PROVIDER
    tier = Tier.TENANT_ADMIN if (user.is_tenant_admin or user.is_superuser) else Tier.USER
    for assignment in assignments_reaching(user):
        if assignment.scope_type == RoleAssignment.SCOPE_TENANT and tier < tier_of(assignment.role):
            tier = tier_of(assignment.role)
    return tier


def roles() -> list[Role]:
    return list(Role.objects.all())


def tier_of(role: Role) -> Tier:
    return next(tier for tier in Tier if tier.key == role.tier)


def assignments_reaching(user):
    """Role assignments that apply to ``user``: to them directly or to any group they are in (transitively)."""
    from django.db.models import Q

    return (
        RoleAssignment.objects.select_related("role")
        .filter(Q(user=user) | Q(group_id__in=user_group_ids(user)))
        .order_by("role__name", "scope_type", "scope_id")
    )


def effective_permissions(user) -> dict[str, set[tuple[str, str]]]:
    """What ``user`` holds through roles: permission name → the (scope type, scope id) pairs it holds it over.

    An overview for people (the "effective permissions" page); decisions are
    the policy engine's, which also weighs policies and object grants.
    """
    held: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for assignment in assignments_reaching(user):
        for name in assignment.role.permissions:
            held[name].add((assignment.scope_type, assignment.scope_id))
    return dict(held)


# --- Object grants (django-guardian rows) ------------------------------------------------------------

_content_type_ids: dict[tuple[str, str], int] = {}


def content_type_id(model_label: str) -> int | None:
    """The content type id of ``app_label.Model`` in the current schema (ids may differ between schemas)."""
    from django.contrib.contenttypes.models import ContentType

    key = (connection.schema_name, model_label)
    if key not in _content_type_ids:
        app_label, model = model_label.split(".")
        found = ContentType.objects.filter(app_label=app_label, model=model.lower()).values_list("pk", flat=True)
        if not found:
            return None
        _content_type_ids[key] = found[0]
    return _content_type_ids[key]


def _granted_content_types(version: int | None = None) -> frozenset[int]:
    """Content types that have any object grant in this schema: for the rest, no query on the decision path."""
    from guardian.models import GroupObjectPermission, UserObjectPermission

    version = access_version() if version is None else version
    local_key = (connection.schema_name, "granted-content-types", version)
    local = outside_transaction()
    if local:
        found = _local_get(local_key)
        if found is not None:
            return found
    key = f"access:granted-content-types:{version}"
    cached = cache.get(key) if local else None
    if cached is None:
        cached = sorted(
            set(UserObjectPermission.objects.values_list("content_type_id", flat=True).distinct())
            | set(GroupObjectPermission.objects.values_list("content_type_id", flat=True).distinct())
        )
        if local:
            cache.set(key, cached, MEMBERSHIP_CACHE_SECONDS)
    found = frozenset(cached)
    if local:
        _local_set(local_key, found)
    return found


def _grant_rows(principal, kind: str):
    """(user grants, group grants) querysets for ``principal`` on objects of ``kind``; ``None`` when there are none."""
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from . import registry

    declared = registry.resource_kind(kind)
    if declared is None or not declared.model:
        return None
    ct = content_type_id(declared.model)
    if ct is None or ct not in _granted_content_types():
        return None
    users = UserObjectPermission.objects.filter(user_id=principal.pk, content_type_id=ct)
    groups = GroupObjectPermission.objects.filter(
        group__access_group__pk__in=user_group_ids(principal), content_type_id=ct
    )
    return users, groups


_object_grant_sql: dict[bool, str] = {}


def _grant_sql(with_groups: bool) -> str:
    """The statement behind ``object_grant_actions``, written once per process (see ``apps.core.queries``).

    The same rows the querysets of ``_grant_rows`` read (a user's grants, and
    those of the auth groups behind its access groups, on one object), in one
    round trip, without building and compiling two querysets per decision.
    """
    if with_groups not in _object_grant_sql:
        from django.contrib.auth.models import Permission
        from guardian.models import GroupObjectPermission, UserObjectPermission

        quote = connection.ops.quote_name

        def column(model, name: str) -> str:
            return quote(model._meta.get_field(name).column)

        def table(model) -> str:
            return quote(model._meta.db_table)

        def granted(model, holder: str, join: str = "") -> str:
            # Identifiers only, from the models' metadata and quoted; every value is a parameter.
            permission = f"JOIN {table(Permission)} p ON p.{column(Permission, 'id')} = g.{column(model, 'permission')}"
            where = f"g.{column(model, 'content_type')} = %s AND g.{column(model, 'object_pk')} = %s"
            select = f"SELECT p.{column(Permission, 'codename')} FROM {table(model)} g"  # noqa: S608
            return f"{select} {permission} {join}WHERE {holder} AND {where}"

        sql = granted(UserObjectPermission, f"g.{column(UserObjectPermission, 'user')} = %s")
        if with_groups:
            group = column(GroupObjectPermission, "group")
            sql += " UNION " + granted(
                GroupObjectPermission,
                f"a.{column(Group, 'id')} = ANY(%s)",
                f"JOIN {table(Group)} a ON a.{column(Group, 'auth_group')} = g.{group} ",
            )
        _object_grant_sql[with_groups] = sql
    return _object_grant_sql[with_groups]


def object_grant_actions(principal, kind: str, object_id: str, *, version: int | None = None) -> set[str]:
    """The permissions granted to ``principal`` (or any of its groups) on one object.

    Never cached: a grant withdrawn is seen at the next decision. No query at
    all while nothing of ``kind`` is granted to anyone in the schema.
    """
    from . import registry

    declared = registry.resource_kind(kind)
    if declared is None or not declared.model:
        return set()
    ct = content_type_id(declared.model)
    if ct is None or ct not in _granted_content_types(version):
        return set()
    groups = sorted(user_group_ids(principal, version=version))
    params = [principal.pk, ct, str(object_id)] + ([groups, ct, str(object_id)] if groups else [])
    with connection.cursor() as cursor:
        cursor.execute(_grant_sql(bool(groups)), params)
        return {row[0] for row in cursor.fetchall()}


def visible_object_ids(principal, kind: str, action: str) -> set[str]:
    """Ids of the objects of ``kind`` on which ``principal`` (or its groups) was granted ``action``."""
    rows = _grant_rows(principal, kind)
    if rows is None:
        return set()
    users, groups = rows
    return set(users.filter(permission__codename=action).values_list("object_pk", flat=True)) | set(
        groups.filter(permission__codename=action).values_list("object_pk", flat=True)
    )


def object_grants(*, kind: str | None = None, object_id: str | None = None) -> list[dict]:
    """Every object grant of the schema (optionally of one kind or one object), for pages and the API."""
    from guardian.models import GroupObjectPermission, UserObjectPermission

    from . import registry

    kinds = {
        content_type_id(k.model): k.name for k in registry.resource_kinds() if k.model and content_type_id(k.model)
    }
    rows: list[dict] = []
    for model, principal in ((UserObjectPermission, "user"), (GroupObjectPermission, "group")):
        # A group grant names Django's auth group; ours hangs off it (one join, not one query per row).
        holder = "group__access_group" if principal == "group" else principal
        queryset = model.objects.select_related("permission", holder).order_by("pk")
        if kind is not None:
            declared = registry.resource_kind(kind)
            queryset = queryset.filter(content_type_id=content_type_id(declared.model) if declared else -1)
        if object_id is not None:
            queryset = queryset.filter(object_pk=str(object_id))
        for row in queryset:
            holder = getattr(row, principal)
            if principal == "group":
                access_group = getattr(holder, "access_group", None)
                if access_group is None:
                    continue
                name = access_group.name
                holder_id = access_group.pk
            else:
                name, holder_id = holder.email, holder.pk
            rows.append(
                {
                    "id": f"{principal}-{row.pk}",
                    "principal_type": principal,
                    "principal_id": holder_id,
                    "principal_name": name,
                    "kind": kinds.get(row.content_type_id, ""),
                    "object_id": row.object_pk,
                    "permission": row.permission.codename,
                }
            )
    return rows
