"""Reads of roles and groups: the group graph, transitive memberships (cached), a principal's tier."""

from __future__ import annotations

from collections import defaultdict

from django.core.cache import cache
from django.db import connection
from django_tenants.utils import get_public_schema_name

from apps.core.permissions import Tier

from .models import Group, GroupNesting, Role, RoleAssignment

# Bumped by every change to groups or memberships; cached answers name the version they were computed at.
GROUP_GRAPH_VERSION_KEY = "access:group-graph-version"
MEMBERSHIP_CACHE_SECONDS = 300


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


def user_group_ids(user) -> frozenset[int]:
    """Every group ``user`` belongs to, directly or through nested groups; cached until the graph changes."""
    version = cache.get(GROUP_GRAPH_VERSION_KEY, 0)
    key = f"access:user-groups:{user.pk}:{version}"
    cached = cache.get(key)
    if cached is not None:
        return frozenset(cached)
    direct = set(Group.objects.filter(members=user).values_list("pk", flat=True))
    parents, _ = _edges()
    groups = _reach(direct, parents)
    cache.set(key, sorted(groups), MEMBERSHIP_CACHE_SECONDS)
    return frozenset(groups)


def group_effective_members(group: Group):
    """The users in ``group`` directly or through any group nested in it."""
    from django.contrib.auth import get_user_model

    _, children = _edges()
    groups = _reach({group.pk}, children)
    return get_user_model().objects.filter(access_groups__in=groups).distinct().order_by("email")


def principal_tier(user) -> Tier:
    """The highest tier ``user`` acts in, until roles decide it: provider staff, tenant admins, everyone else."""
    if connection.schema_name == get_public_schema_name() and user.is_staff:
        return Tier.PROVIDER
    if user.is_tenant_admin or user.is_superuser:
        return Tier.TENANT_ADMIN
    return Tier.USER


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
