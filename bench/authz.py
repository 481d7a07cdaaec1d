"""Authorisation: ``engine.authorize`` decisions per second and latency, against django-guardian, and per request.

Measured in one run, against the bench database the runner prepared
(``python -m bench authz``). One tenant (``benchauthz``) is provisioned
through ``tenant_provision``; in its schema the bench builds, with a fixed
random seed:

* 1,000 users (bulk-created, no password) and one tenant administrator, the
  actor of the writes that go through services;
* 200 groups in 5 levels (8, 16, 32, 64 and 80 groups; every group below the
  top has a parent one level up, one in ten a second one), every user in 2
  or 3 of the 80 leaf groups;
* 50 custom roles of 3 to 20 permissions each, drawn from the real registry
  (the permissions up to the tenant-admin tier: what a tenant administrator
  may put in a role), and ~200 role assignments over the whole tenant: 160
  to groups (two of them the system role ``read_only`` on top-level groups),
  40 to single users;
* 100 tenant policies, each through ``services.policy_save`` (parsed and
  validated against the schema, group names checked): office-hours forbids
  on groups, IP-range forbids, tag-based forbids (classification, prod
  without MFA) and tag-based permits (team, owner), a few of them with two
  statements.

Users, groups, nestings, memberships, roles and assignments are bulk-created
(the services would take minutes for 1,000 users); the access version is
bumped afterwards, as the services do on every change.

(a) ``engine.authorize`` over a random mix of ``DECISIONS`` checks: users x
    actions (object actions on users, groups, roles and policies with 0 to 3
    tags, and tenant-wide actions) x contexts (a time in one week, an address
    in the office, home, a partner's or a blocked range, or none; MFA
    present or not). The engine's caches are warm first (every action's
    PolicySet prepared, every user's groups cached), and it runs outside any
    transaction, so ``engine.prepare`` keeps its PolicySets. One thread, one
    decision at a time; each decision's wall time (``perf_counter_ns``) and
    this thread's CPU time (``thread_time_ns``) are recorded: the machine has
    2 cores and may be busy, and CPU time hardly grows when other processes
    compete for them (it leaves out the Redis server's work, the wait for it
    included in wall time).
(b) The baseline: django-guardian's ``ObjectPermissionChecker(user).has_perm
    (codename, obj)`` on a sample of the object checks. For each sampled check
    the engine allowed in (a), the same user gets a guardian grant of that
    permission on that object (bulk-created ``UserObjectPermission`` rows;
    Nimbus stores guardian permissions with codename = the registry name), so
    guardian answers the same question. A new checker per check, no
    prefetching: each check on its own, as each engine decision is (two
    queries each). One checker per user with ``prefetch_perms`` is printed as
    context. The engine then runs the same sample again: with grants in the
    schema it reads them too (two queries per object decision), so that is
    the like-for-like comparison; the ratio engine/guardian is printed.
(c) ``GET /api/v1/users/`` on the bench tenant's host, Django's test client in
    this process (see bench/auth.py for why not over HTTP), for a user allowed
    only through a role given to one of their groups, against the very same
    request with the decider swapped for a constant "allow" (this process
    only). The view's ``ActionPermission`` and ``AuthorizedFilter`` ask
    whichever decider is registered; an engine request asks for two
    decisions (the permission class, then the filter).

If the decisions miss the goal, ``cProfile`` runs the authorize path over
part of the mix and says where the time goes, and Cedar's own metrics
(policy evaluation, entity loading, request building) are sampled.

Goal: p99 under 1 ms per decision and at least 20,000 decisions per second
per core (50 µs of CPU per decision). Figures (``ratio`` is baseline / value
as everywhere; the baseline of the decision figures is guardian's figure on
its sample):

* ``decision_p99_ms`` and ``decision_cpu_p99_ms``: p99 wall and CPU time of
  one decision. Goal: under 1 ms.
* ``decision_cpu_us``: CPU time per decision (total CPU / decisions, the
  inverse of decisions per second per core). Goal: under 50 µs.
* ``list_request_added_ms``: p50(engine request) - p50(constant request);
  baseline p50(constant request). Goal (derived, not given): under 2 ms, two
  decisions at the 1 ms goal.
"""

from __future__ import annotations

import cProfile
import gc
import itertools
import logging
import os
import pstats
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import Permission as DjangoPermission
from django.db import connection, transaction
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context
from guardian.core import ObjectPermissionChecker

from apps.access import engine, registry, selectors
from apps.access import services as access_services
from apps.access.models import Group, GroupNesting, Policy, Role, RoleAssignment
from apps.access.selectors import version_snapshot
from apps.access.system_roles import highest_tier
from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.core import authorization
from apps.core.authorization import Decision, Resource
from apps.core.permissions import Tier
from apps.tenancy import services as tenancy_services

from ._report import Figure, note, report

TOPIC = "authz"
SLUG = "benchauthz"
SEED = 20250602
USERS = 1000
LEVELS = (8, 16, 32, 64, 80)  # 200 groups, 5 levels; the last are the leaves
ROLES = 50
GROUP_ASSIGNMENTS = 160
USER_ASSIGNMENTS = 40
POLICY_COUNTS = {"office-hours": 25, "ip-range": 25, "tag-forbid": 25, "tag-permit": 25}
DECISIONS = 20_000
DECISION_BUDGET_SECONDS = 45.0
GUARDIAN_SAMPLE = 2_000
PROFILE_DECISIONS = 2_000
CEDAR_METRICS_SAMPLE = 1_000
REQUESTS = 400
REQUEST_WARMUP = 30
REQUEST_BUDGET_SECONDS = 30.0
OBJECT_SHARE = 0.8  # of the mix; the rest are tenant-wide actions

GOAL_P99_MS = 1.0
GOAL_PER_CORE = 20_000
GOAL_CPU_US = 1e6 / GOAL_PER_CORE
GOAL_REQUEST_ADDED_MS = 2.0

# Kinds whose objects are rows of this tenant's schema (tenancy:tenant rows live in the public schema).
OBJECT_KINDS = {"accounts:user": User, "access:group": Group, "access:role": Role, "access:policy": Policy}
TAG_VALUES = {
    "env": ("prod", "staging", "dev"),
    "classification": ("public", "internal", "secret"),
    "team": tuple(f"team-{n:02d}" for n in range(12)),
}
WEEK_START = datetime(2025, 6, 2, tzinfo=UTC)  # a Monday
LIST_URL = "/api/v1/users/"


# --- Set-up ----------------------------------------------------------------------------------------


@dataclass
class World:
    """What the bench built in the tenant's schema, and the figures of it printed as context."""

    schema_name: str
    host: str
    admin: User
    users: list[User]
    groups_by_level: list[list[Group]]
    object_ids: dict[str, list[str]]
    policy_kinds: Counter[str] = field(default_factory=Counter)
    statements: int = 0


def _bulk_users(rng: random.Random) -> list[User]:
    users = []
    for i in range(USERS):
        user = User(email=f"user{i:04d}@{SLUG}.test", display_name=f"Bench user {i:04d}")
        user.set_unusable_password()
        users.append(user)
    User.objects.bulk_create(users, batch_size=500)
    return list(User.objects.filter(email__startswith="user", email__endswith=f"@{SLUG}.test").order_by("pk"))


def _bulk_groups(rng: random.Random, users: list[User]) -> list[list[Group]]:
    Group.objects.bulk_create(
        [Group(name=f"l{level}-g{n:02d}") for level, size in enumerate(LEVELS, start=1) for n in range(size)],
        batch_size=500,
    )
    by_name = {group.name: group for group in Group.objects.all()}
    levels = [[by_name[f"l{level}-g{n:02d}"] for n in range(size)] for level, size in enumerate(LEVELS, start=1)]
    nestings = set()
    for upper, lower in itertools.pairwise(levels):
        for child in lower:
            parents = rng.sample(upper, 2) if rng.random() < 0.1 else [rng.choice(upper)]
            nestings.update((parent.pk, child.pk) for parent in parents)
    GroupNesting.objects.bulk_create([GroupNesting(parent_id=p, child_id=c) for p, c in sorted(nestings)])
    Membership = Group.members.through
    Membership.objects.bulk_create(
        [
            Membership(group_id=leaf.pk, user_id=user.pk)
            for user in users
            for leaf in rng.sample(levels[-1], rng.choice((2, 3)))
        ],
        batch_size=1000,
    )
    return levels


def _bulk_roles_and_assignments(rng: random.Random, users: list[User], levels: list[list[Group]]) -> Counter[str]:
    grantable = [p for p in registry.all_permissions() if p.tier <= Tier.TENANT_ADMIN]
    roles = []
    for n in range(ROLES):
        chosen = rng.sample(grantable, rng.randint(3, min(20, len(grantable))))
        roles.append(
            Role(
                name=f"bench-role-{n:02d}",
                label=f"Bench role {n:02d}",
                tier=highest_tier(chosen).key,
                permissions=sorted(p.name for p in chosen),
            )
        )
    Role.objects.bulk_create(roles)
    custom = list(Role.objects.filter(name__startswith="bench-role-"))
    read_only = Role.objects.get(name="read_only")
    groups = [group for level in levels for group in level]
    assignments = {("group", read_only.pk, levels[0][0].pk), ("group", read_only.pk, levels[0][1].pk)}
    while len(assignments) < GROUP_ASSIGNMENTS:
        assignments.add(("group", rng.choice(custom).pk, rng.choice(groups).pk))
    while len(assignments) < GROUP_ASSIGNMENTS + USER_ASSIGNMENTS:
        assignments.add(("user", rng.choice(custom).pk, rng.choice(users).pk))
    RoleAssignment.objects.bulk_create(
        [
            RoleAssignment(role_id=role, **({"group_id": who} if kind == "group" else {"user_id": who}))
            for kind, role, who in sorted(assignments)
        ]
    )
    return Counter(kind for kind, _, _ in assignments)


def _action_list(actions: list[str]) -> str:
    if len(actions) == 1:
        return f'action == Nimbus::Action::"{actions[0]}"'
    return "action in [" + ", ".join(f'Nimbus::Action::"{a}"' for a in actions) + "]"


def _policy_texts(rng: random.Random, users: list[User], levels: list[list[Group]]) -> list[tuple[str, str, str]]:
    """(kind, name, Cedar text) of the tenant policies, in the mix the module docstring describes."""
    actions = [
        p.name
        for p in registry.all_permissions()
        if p.tier <= Tier.TENANT_ADMIN and not p.name.startswith(engine.BREAK_GLASS_PREFIX)
    ]
    mid = [group for level in levels[2:] for group in level]

    def some_actions() -> str:
        return _action_list(sorted(rng.sample(actions, rng.randint(1, 4))))

    def group() -> str:
        return f'Nimbus::Group::"{rng.choice(mid).name}"'

    texts = []
    for n in range(POLICY_COUNTS["office-hours"]):
        start, end = rng.choice((7, 8, 9)) * 60, rng.choice((17, 18, 19, 20)) * 60
        scope = "action" if n % 5 < 3 else some_actions()
        texts.append(
            (
                "office-hours",
                f"office-hours-{n:02d}",
                f"forbid (principal in {group()}, {scope}, resource)\n"
                f"unless {{ context.weekday <= 5 && context.minute_of_day >= {start} "
                f"&& context.minute_of_day < {end} }};",
            )
        )
    for n in range(POLICY_COUNTS["ip-range"]):
        if n % 5 < 3:
            text = (
                f"forbid (principal, {some_actions()}, resource)\n"
                '  unless { context has ip && (context.ip.isInRange(ip("10.0.0.0/8")) '
                f'|| context.ip.isInRange(ip("192.168.{n}.0/24"))) }};'
            )
        else:
            text = (
                f"forbid (principal in {group()}, action, resource)\n"
                '  when { context has ip && context.ip.isInRange(ip("203.0.113.0/24")) };'
            )
        texts.append(("ip-range", f"ip-range-{n:02d}", text))
    for n in range(POLICY_COUNTS["tag-forbid"]):
        if n % 2:
            text = (
                f"forbid (principal, {some_actions()}, resource)\n"
                '  when { resource.hasTag("classification") && resource.getTag("classification") == "secret" '
                f"&& !(principal in {group()}) }};"
            )
        else:
            text = (
                f"forbid (principal, {some_actions()}, resource)\n"
                '  when { resource.hasTag("env") && resource.getTag("env") == "prod" '
                "&& !(context has mfa && context.mfa) };"
            )
        texts.append(("tag-forbid", f"tag-forbid-{n:02d}", text))
    for n in range(POLICY_COUNTS["tag-permit"]):
        team = rng.choice(TAG_VALUES["team"])
        text = (
            f"permit (principal in {group()}, {some_actions()}, resource)\n"
            f'  when {{ resource.hasTag("team") && resource.getTag("team") == "{team}" }};'
        )
        if n % 3 == 0:
            text += (
                f"\npermit (principal, {some_actions()}, resource)\n"
                '  when { resource.hasTag("owner") && resource.getTag("owner") == principal.email };'
            )
        if n % 5 == 0:
            text += (
                f"\nforbid (principal, {some_actions()}, resource)\n"
                '  when { resource.hasTag("env") && resource.getTag("env") == "prod" && context.source == "task" };'
            )
        texts.append(("tag-permit", f"tag-permit-{n:02d}", text))
    return texts


def set_up(rng: random.Random) -> World:
    start = time.perf_counter()
    tenant = tenancy_services.tenant_provision(name="Bench Authz", slug=SLUG)
    provisioned = time.perf_counter()
    with schema_context(tenant.schema_name):
        admin = user_create(email=f"admin@{SLUG}.test", password=None, is_tenant_admin=True)
        with transaction.atomic():
            users = _bulk_users(rng)
            levels = _bulk_groups(rng, users)
            assignment_kinds = _bulk_roles_and_assignments(rng, users, levels)
        # Bulk rows bypass the services: retire cached answers the way they would.
        selectors.bump_access_version()
        bulk = time.perf_counter()
        world = World(
            schema_name=tenant.schema_name,
            host=tenancy_services.default_domain_for(SLUG),
            admin=admin,
            users=users,
            groups_by_level=levels,
            object_ids={},
        )
        for kind, name, text in _policy_texts(rng, users, levels):
            policy = access_services.policy_save(actor=admin, name=name, text=text, description=f"Bench: {kind}")
            world.policy_kinds[kind] += 1
            world.statements += len(policy.compiled)
        world.object_ids = {
            kind: [str(pk) for pk in model.objects.order_by("pk").values_list("pk", flat=True)]
            for kind, model in OBJECT_KINDS.items()
        }
        memberships = Group.members.through.objects.count()
        nestings = GroupNesting.objects.count()
        custom_roles = Role.objects.filter(is_system=False).count()
        role_sizes = [len(r.permissions) for r in Role.objects.filter(is_system=False)]
    done = time.perf_counter()
    note(
        f"set-up (untimed): tenant {SLUG!r} provisioned in {provisioned - start:.2f}s; bulk rows in "
        f"{bulk - provisioned:.2f}s; {sum(world.policy_kinds.values())} policies through services.policy_save "
        f"in {done - bulk:.2f}s"
    )
    note(
        f"{len(users)} users (+1 tenant admin), {sum(map(len, levels))} groups in {len(levels)} levels "
        f"{'/'.join(str(len(level)) for level in levels)}, {nestings} nestings, {memberships} memberships "
        f"({memberships / len(users):.2f} leaf groups per user); {custom_roles} custom roles of "
        f"{min(role_sizes)}-{max(role_sizes)} permissions (mean {statistics.mean(role_sizes):.1f}) from the "
        f"{len(registry.all_permissions())} registered; {sum(assignment_kinds.values())} assignments over the tenant "
        f"({assignment_kinds['group']} to groups, {assignment_kinds['user']} to users); "
        f"{sum(world.policy_kinds.values())} tenant policies ({dict(world.policy_kinds)}), "
        f"{world.statements} statements"
    )
    return world


# --- The mix of checks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    user: User
    action: str
    resource: Resource
    context: dict

    @property
    def on_object(self) -> bool:
        return self.resource.kind is not None


def _context(rng: random.Random) -> dict:
    now = WEEK_START + timedelta(minutes=rng.randrange(7 * 24 * 60))
    context: dict = {"now": now, "source": rng.choice(("web", "api", "api", "task"))}
    roll = rng.random()
    if roll < 0.45:
        context["ip"] = f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    elif roll < 0.65:
        context["ip"] = f"192.168.{rng.randrange(25)}.{rng.randrange(1, 255)}"
    elif roll < 0.75:
        context["ip"] = f"203.0.113.{rng.randrange(1, 255)}"
    elif roll < 0.95:
        context["ip"] = f"198.51.100.{rng.randrange(1, 255)}"
    if rng.random() < 0.6:
        context["mfa"] = rng.random() < 0.7
    return context


def _tags(rng: random.Random, users: list[User]) -> dict[str, str]:
    tags = {key: rng.choice(values) for key, values in TAG_VALUES.items() if rng.random() < 0.5}
    if rng.random() < 0.2:
        tags["owner"] = rng.choice(users).email
    return tags


def make_checks(rng: random.Random, world: World, count: int) -> list[Check]:
    permissions = [p.name for p in registry.all_permissions() if not p.name.startswith("tenancy:")]
    object_actions = [name for name in permissions if name.rsplit(":", 1)[0] in OBJECT_KINDS]
    tenant_actions = [name for name in permissions if name.rsplit(":", 1)[0] not in OBJECT_KINDS]
    checks = []
    for _ in range(count):
        user = rng.choice(world.users)
        if rng.random() < OBJECT_SHARE:
            action = rng.choice(object_actions)
            kind = action.rsplit(":", 1)[0]
            resource = Resource(kind, rng.choice(world.object_ids[kind]), tags=_tags(rng, world.users))
        else:
            action = rng.choice(tenant_actions)
            resource = Resource(tags=_tags(rng, world.users) if rng.random() < 0.3 else {})
        checks.append(Check(user, action, resource, _context(rng)))
    return checks


# --- Timing ----------------------------------------------------------------------------------------


@dataclass
class Timings:
    name: str
    wall_ns: list[int] = field(default_factory=list)
    cpu_ns: list[int] = field(default_factory=list)
    answers: list[bool] = field(default_factory=list)
    errors: int = 0
    elapsed: float = 0.0

    def add(self, wall: int, cpu: int, allowed: bool) -> None:
        self.wall_ns.append(wall)
        self.cpu_ns.append(cpu)
        self.answers.append(allowed)

    @property
    def count(self) -> int:
        return len(self.wall_ns)

    def p50_ms(self, cpu: bool = False) -> float:
        return statistics.median(self.cpu_ns if cpu else self.wall_ns) / 1e6

    def p99_ms(self, cpu: bool = False) -> float:
        values = self.cpu_ns if cpu else self.wall_ns
        return statistics.quantiles(values, n=100, method="inclusive")[98] / 1e6

    def mean_us(self, cpu: bool = False) -> float:
        return sum(self.cpu_ns if cpu else self.wall_ns) / len(self.wall_ns) / 1e3

    def per_second(self, cpu: bool = False) -> float:
        return 1e6 / self.mean_us(cpu)

    def summary(self) -> str:
        return (
            f"{self.name}: {self.count} decisions; wall p50 {self.p50_ms() * 1000:.0f}us, p99 "
            f"{self.p99_ms() * 1000:.0f}us, mean {self.mean_us():.0f}us = {self.per_second():.0f}/s; thread CPU p50 "
            f"{self.p50_ms(True) * 1000:.0f}us, p99 {self.p99_ms(True) * 1000:.0f}us, mean {self.mean_us(True):.0f}us "
            f"= {self.per_second(True):.0f}/s per core; allowed {sum(self.answers)} "
            f"({sum(self.answers) / max(self.count, 1):.1%}), decisions with errors {self.errors}"
        )


def run_engine(name: str, checks: list[Check], budget: float | None = None) -> Timings:
    timings = Timings(name)
    authorize = engine.authorize
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    gc.collect()
    start = time.perf_counter()
    deadline = start + budget if budget else None
    for check in checks:
        w0, c0 = wall(), cpu()
        decision = authorize(check.user, check.action, check.resource, check.context)
        c1, w1 = cpu(), wall()
        timings.add(w1 - w0, c1 - c0, decision.allowed)
        timings.errors += bool(decision.errors)
        if deadline and timings.count % 500 == 0 and time.perf_counter() >= deadline:
            break
    timings.elapsed = time.perf_counter() - start
    return timings


AGREEMENT_SAMPLE = 1000


def agreement_check(checks: list[Check]) -> None:
    """``authorize`` (roles in Python, tenant statements in Cedar) against Cedar deciding everything, timed too."""
    same, cedar_only = 0, Timings("Cedar deciding everything (the reference, set built per call)")
    for check in checks:
        fast = engine.authorize(check.user, check.action, check.resource, check.context)
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        slow = engine.authorize_in_cedar_only(check.user, check.action, check.resource, check.context)
        cedar_only.add(time.perf_counter_ns() - w0, time.thread_time_ns() - c0, slow.allowed)
        same += (fast.allowed, fast.reasons) == (slow.allowed, slow.reasons)
    note(f"agreement with Cedar deciding everything: {same} of {len(checks)} decisions identical (allowed and reasons)")


def warm_up(world: World, checks: list[Check]) -> float:
    """Prepare every action's PolicySet and cache every user's groups; seconds taken."""
    start = time.perf_counter()
    context = {"now": WEEK_START, "ip": "10.0.0.1"}
    for permission in registry.all_permissions():
        engine.authorize(world.admin, permission.name, None, context)
    for user in world.users:
        engine.authorize(user, "accounts:user:view", None, context)
    for check in checks[:500]:
        engine.authorize(check.user, check.action, check.resource, check.context)
    return time.perf_counter() - start


def policies_per_action() -> dict[str, int]:
    """How many policies decide each action in all (built-ins, assignments, tenant statements)."""
    return {name: len(engine.reference_policy_set(name).to_pst().static_policies) for name in engine.prepare()}


# --- Where the time goes ---------------------------------------------------------------------------


def _matching(stats: dict, file_part: str, function: str) -> list[tuple[float, int]]:
    return [
        (ct, nc)
        for (filename, _line, name), (_cc, nc, _tt, ct, _callers) in stats.items()
        if file_part in filename and (name == function or (file_part == "~" and function in name))
    ]


PROFILE_PARTS = [
    # (label, file, function, outermost only: for a name defined at two layers, the one that includes the other)
    ("cedarpy.is_authorized (wrapper and Rust)", "cedarpy", "is_authorized", False),
    ("  the Rust call, cedarpy._internal.is_authorized_batch", "~", "cedarpy._internal.is_authorized_batch", False),
    ("  json.dumps / json.loads (anywhere on the path)", "json/__init__.py", "dumps", False),
    ("", "json/__init__.py", "loads", False),
    ("engine._request (the entities: user with its groups, resource, tenant)", "access/engine.py", "_request", False),
    ("  selectors.user_group_names", "access/selectors.py", "user_group_names", False),
    ("  selectors.object_grant_actions", "access/selectors.py", "object_grant_actions", False),
    ("engine.cedar_context (check the context, derive the time fields)", "access/engine.py", "cedar_context", False),
    ("engine.prepare (the action's PolicySet)", "access/engine.py", "prepare", False),
    ("engine.schema (the Schema handle)", "access/engine.py", "schema", False),
    ("selectors.access_version (reads of the version)", "access/selectors.py", "access_version", False),
    ("Redis round trips (django cache get)", "cache/backends/redis.py", "get", True),
    ("registry.exists", "access/registry.py", "exists", False),
]


def profile(checks: list[Check]) -> None:
    profiler = cProfile.Profile()
    authorize = engine.authorize
    profiler.enable()
    for check in checks:
        authorize(check.user, check.action, check.resource, check.context)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    n = len(checks)
    total = sum(ct for ct, _ in _matching(stats, "access/engine.py", "authorize"))
    note(
        f"cProfile of engine.authorize over {n} checks of the mix ({total / n * 1e6:.0f}us per decision under the "
        "profiler, which inflates Python's share); cumulative time per decision, share of authorize, calls:"
    )
    label_seconds, label_calls, label = 0.0, 0, ""
    rows = []
    for part_label, file_part, function, outermost in PROFILE_PARTS:
        found = _matching(stats, file_part, function)
        if outermost and found:
            found = [max(found)]
        if part_label:
            if label:
                rows.append((label, label_seconds, label_calls))
            label, label_seconds, label_calls = part_label, 0.0, 0
        label_seconds += sum(ct for ct, _ in found)
        label_calls += sum(nc for _, nc in found)
    rows.append((label, label_seconds, label_calls))
    for label, seconds, calls in rows:
        note(f"  {label}: {seconds / n * 1e6:.0f}us ({seconds / total:.0%}), {calls / n:.1f} calls")
    top = sorted(stats.items(), key=lambda item: item[1][2], reverse=True)[:8]
    note(
        "  most own time per decision: "
        + "; ".join(
            f"{os.path.basename(filename)}:{name} {tt / n * 1e6:.0f}us"
            for (filename, _l, name), (_c, _n, tt, _ct, _) in top
        )
    )


def redis_round_trip() -> None:
    """What one Redis read costs here: the engine's version check is one."""
    from django.core.cache import cache

    wall, cpu = [], []
    for _ in range(2000):
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        cache.get(selectors.ACCESS_VERSION_KEY)
        wall.append(time.perf_counter_ns() - w0)
        cpu.append(time.thread_time_ns() - c0)
    note(
        f"one Redis read (cache.get of the access version), 2000 in a row: p50 {statistics.median(wall) / 1e3:.0f}us "
        f"wall, {statistics.median(cpu) / 1e3:.0f}us CPU"
    )


def cedar_metrics(checks: list[Check]) -> None:
    """Cedar's own timing of the same requests the engine builds (``AuthzResult.metrics``, microseconds)."""
    import cedarpy

    prepared, schema = engine.prepare(), engine.schema()
    metrics: dict[str, list[float]] = defaultdict(list)
    for check in checks:
        policy_set = prepared[check.action].tenant
        if policy_set is None:
            continue  # decided without Cedar
        groups = engine.user_group_names(check.user)
        grants = (
            engine.object_grant_actions(check.user, check.resource.kind, check.resource.id)
            if check.resource.kind and check.resource.id
            else set()
        )
        request, entities = engine._request(
            check.user, check.action, check.resource, engine.cedar_context(check.context), groups, grants
        )
        result = cedarpy.is_authorized(request, policy_set, entities, schema)
        for key, value in (result.metrics or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                metrics[key].append(value)
    note(
        f"Cedar's own metrics over {len(checks)} of the same requests, median us: "
        + ", ".join(f"{key} {statistics.median(values):.0f}" for key, values in sorted(metrics.items()))
    )


# --- django-guardian -------------------------------------------------------------------------------


def grant_like_the_engine(sample: list[Check], answers: list[bool]) -> int:
    """A guardian user grant for every sampled check the engine allowed; returns how many rows."""
    from guardian.models import UserObjectPermission

    permissions: dict[str, DjangoPermission] = {}
    rows = {}
    for check, allowed in zip(sample, answers, strict=True):
        if not allowed:
            continue
        kind = check.resource.kind
        if check.action not in permissions:
            ct = selectors.content_type_id(registry.resource_kind(kind).model)
            permissions[check.action], _ = DjangoPermission.objects.get_or_create(
                content_type_id=ct, codename=check.action, defaults={"name": registry.get(check.action).label[:255]}
            )
        permission = permissions[check.action]
        rows[(check.user.pk, permission.pk, check.resource.id)] = UserObjectPermission(
            user_id=check.user.pk,
            permission=permission,
            content_type_id=permission.content_type_id,
            object_pk=check.resource.id,
        )
    UserObjectPermission.objects.bulk_create(rows.values(), batch_size=1000)
    selectors.bump_access_version()
    return len(rows)


def run_guardian(sample: list[Check], objects: dict[tuple[str, str], object]) -> Timings:
    timings = Timings("guardian ObjectPermissionChecker, a new checker per check, no prefetch")
    wall, cpu = time.perf_counter_ns, time.thread_time_ns
    gc.collect()
    start = time.perf_counter()
    for check in sample:
        obj = objects[(check.resource.kind, check.resource.id)]
        w0, c0 = wall(), cpu()
        allowed = ObjectPermissionChecker(check.user).has_perm(check.action, obj)
        c1, w1 = cpu(), wall()
        timings.add(w1 - w0, c1 - c0, allowed)
    timings.elapsed = time.perf_counter() - start
    return timings


def run_guardian_prefetched(sample: list[Check], objects: dict[tuple[str, str], object]) -> tuple[float, float]:
    """One checker per user, its sampled objects prefetched per model: (wall, CPU) microseconds per check."""
    by_user: dict[int, list[Check]] = defaultdict(list)
    for check in sample:
        by_user[check.user.pk].append(check)
    wall0, cpu0 = time.perf_counter_ns(), time.thread_time_ns()
    for checks in by_user.values():
        checker = ObjectPermissionChecker(checks[0].user)
        by_kind: dict[str, list] = defaultdict(list)
        for check in checks:
            by_kind[check.resource.kind].append(objects[(check.resource.kind, check.resource.id)])
        for items in by_kind.values():
            checker.prefetch_perms(items)
        for check in checks:
            checker.has_perm(check.action, objects[(check.resource.kind, check.resource.id)])
    wall, cpu = time.perf_counter_ns() - wall0, time.thread_time_ns() - cpu0
    return wall / len(sample) / 1e3, cpu / len(sample) / 1e3


def query_count(function) -> int:
    with CaptureQueriesContext(connection) as queries:
        function()
    return len(queries)


# --- The list endpoint -----------------------------------------------------------------------------


class ConstantAllow:
    """A decider that allows everything without deciding: the request with authorisation short-circuited."""

    ALLOW = Decision(True, ("bench/constant-allow",))

    def authorize(self, principal, action, resource=None, context=None):
        return self.ALLOW

    def explain_denial(self, principal, action, decision):
        return ""

    def visible_filter(self, principal, action, model, context):
        return None

    def holds_anywhere(self, principal, action, context):
        return True

    def exists(self, action):
        return registry.exists(action)


@contextmanager
def quiet_request_log() -> Iterator[None]:
    request_logger = logging.getLogger("django.request")
    level = request_logger.level
    request_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        request_logger.setLevel(level)


ADDRESS = "10.20.30.40"  # an office address: the IP-range forbids let it through


def group_role_user(world: World) -> tuple[User, tuple[str, ...]] | None:
    """A bench user allowed ``accounts:user:view`` now, from the office, only through a role of one of their groups."""
    with schema_context(world.schema_name):
        by_user = set(RoleAssignment.objects.filter(user__isnull=False).values_list("pk", flat=True))
        for user in world.users:
            context = {"now": datetime.now(UTC), "ip": ADDRESS, "source": "api"}
            decision = engine.authorize(user, "accounts:user:view", None, context)
            ids = [int(reason.split("/")[1]) for reason in decision.reasons if reason.startswith("assignment/")]
            if decision.allowed and ids and not set(ids) & by_user and len(ids) == len(decision.reasons):
                return user, decision.reasons
    return None


@dataclass
class Path:
    name: str
    decider: object
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    counts: set = field(default_factory=set)

    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    def p99_ms(self) -> float:
        return statistics.quantiles(self.seconds, n=100, method="inclusive")[98] * 1000

    def cpu_p50_ms(self) -> float:
        return statistics.median(self.cpu) * 1000

    def summary(self) -> str:
        return (
            f"{self.name}: GET {LIST_URL} x{len(self.seconds)}: p50 {self.p50_ms():.2f}ms, p99 {self.p99_ms():.2f}ms, "
            f"this thread's CPU p50 {self.cpu_p50_ms():.2f}ms; statuses {dict(self.statuses)}; "
            f"'count' answered {sorted(self.counts)}"
        )


def list_endpoint(world: World) -> tuple[Path, Path, bool]:
    found = group_role_user(world)
    if found is None:
        note("no bench user is allowed accounts:user:view through a group role right now: (c) skipped")
        return Path("engine", None), Path("constant", None), False
    user, reasons = found
    note(f"(c) as {user.email}, allowed accounts:user:view by {', '.join(reasons)} (group assignments only)")
    client = Client(HTTP_HOST=world.host, REMOTE_ADDR=ADDRESS)
    with schema_context(world.schema_name):
        client.force_login(user)
    connection.set_schema_to_public()
    real = authorization.decider()
    engine_path, constant_path = Path("engine", real), Path("constant allow", ConstantAllow())
    paths = [engine_path, constant_path]

    def get(path: Path, record: bool = True) -> None:
        authorization.register(path.decider)
        start, cpu_start = time.perf_counter(), time.thread_time()
        response = client.get(LIST_URL)
        elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
        if record:
            path.seconds.append(elapsed)
            path.cpu.append(cpu)
            path.statuses[response.status_code] += 1
            if response.status_code == 200:
                path.counts.add(response.json().get("count"))

    try:
        with (
            quiet_request_log(),
            override_settings(NIMBUS_ROUTING_CACHE_SECONDS=60, NIMBUS_POLICY_CACHE_SECONDS=300),
        ):
            for _ in range(REQUEST_WARMUP):
                for path in paths:
                    get(path, record=False)
            queries = []
            for path in paths:
                authorization.register(path.decider)
                queries.append(f"{path.name} {query_count(lambda: client.get(LIST_URL))}")
            note("database queries per request (one warm request each): " + ", ".join(queries))
            gc.collect()
            deadline = time.perf_counter() + REQUEST_BUDGET_SECONDS
            for _ in range(REQUESTS):
                for path in paths:
                    get(path)
                if time.perf_counter() >= deadline:
                    break
    finally:
        authorization.register(real)
    ok = (
        all(path.statuses == {200: len(path.seconds)} for path in paths)
        and len(engine_path.counts | constant_path.counts) == 1
    )
    return engine_path, constant_path, ok


# --- Main ------------------------------------------------------------------------------------------


def main() -> None:
    rng = random.Random(SEED)
    world = set_up(rng)
    checks = make_checks(rng, world, DECISIONS)
    load_before = os.getloadavg()
    with schema_context(world.schema_name):
        assert not engine._in_real_transaction(), "the engine must run outside a transaction to keep its caches"
        seconds = warm_up(world, checks)
        sizes = policies_per_action()
        note(
            f"warm-up {seconds:.2f}s: {len(sizes)} PolicySets prepared, {min(sizes.values())}-{max(sizes.values())} "
            f"policies each (mean {statistics.mean(sizes.values()):.0f}); every user's groups cached"
        )
        engine_timings = run_engine("(a) engine.authorize, random mix", checks, DECISION_BUDGET_SECONDS)
        on_object = sum(1 for check in checks[: engine_timings.count] if check.on_object)
        note(
            f"{engine_timings.count} of {DECISIONS} checks (budget {DECISION_BUDGET_SECONDS:g}s) in "
            f"{engine_timings.elapsed:.1f}s, {on_object} on objects (no object grants in the schema yet, "
            "so no grant queries), the rest on the tenant"
        )
        note(engine_timings.summary())
        cpu_p99, wall_p99 = engine_timings.p99_ms(cpu=True), engine_timings.p99_ms()
        per_core = engine_timings.per_second(cpu=True)
        goal_met = cpu_p99 < GOAL_P99_MS and wall_p99 < GOAL_P99_MS and per_core >= GOAL_PER_CORE
        note(
            f"goal: p99 under {GOAL_P99_MS:g} ms per decision and at least {GOAL_PER_CORE:,} decisions per second "
            f"per core: {'MET' if goal_met else 'NOT MET'} (p99 wall {wall_p99:.3f}ms, CPU {cpu_p99:.3f}ms; "
            f"{per_core:,.0f} decisions/s per core by CPU time, {engine_timings.per_second():,.0f}/s by wall time)"
        )
        with version_snapshot():
            snap = run_engine("(a2) the same mix inside one version snapshot (as within a request)", checks)
        note(snap.summary())
        agreement_check(checks[:AGREEMENT_SAMPLE])
        if not goal_met:
            profile(checks[:PROFILE_DECISIONS])
            redis_round_trip()
            cedar_metrics(checks[:CEDAR_METRICS_SAMPLE])

        # (b) guardian on a sample of the object checks the engine answered in (a).
        answered = [(check, allowed) for check, allowed in zip(checks, engine_timings.answers, strict=False)]
        on_objects = [(check, allowed) for check, allowed in answered if check.on_object][:GUARDIAN_SAMPLE]
        sample = [check for check, _ in on_objects]
        engine_answers = [allowed for _, allowed in on_objects]
        engine_sample_before = Timings("engine in (a), the same sample")
        index = {id(check): i for i, check in enumerate(checks)}
        for check in sample:
            i = index[id(check)]
            engine_sample_before.add(engine_timings.wall_ns[i], engine_timings.cpu_ns[i], engine_timings.answers[i])
        granted = grant_like_the_engine(sample, engine_answers)
        objects = {}
        for kind, model in OBJECT_KINDS.items():
            ids = {check.resource.id for check in sample if check.resource.kind == kind}
            objects.update({(kind, str(pk)): obj for pk, obj in model.objects.in_bulk([int(i) for i in ids]).items()})
        guardian_timings = run_guardian(sample, objects)
        prefetched_wall, prefetched_cpu = run_guardian_prefetched(sample, objects)
        engine_with_grants = run_engine("engine.authorize, the same sample, grants now in the schema", sample)
        first = sample[0]
        guardian_queries = query_count(
            lambda: ObjectPermissionChecker(first.user).has_perm(
                first.action, objects[(first.resource.kind, first.resource.id)]
            )
        )
        engine_queries = query_count(lambda: engine.authorize(first.user, first.action, first.resource, first.context))
        agree = sum(a == b for a, b in zip(guardian_timings.answers, engine_answers, strict=True))
        note(
            f"(b) sample: the first {len(sample)} object checks of the mix; {granted} guardian user grants made "
            f"for the {sum(engine_answers)} the engine allowed (duplicates merged); guardian agrees with the "
            f"engine's (a) answer on {agree} of {len(sample)} (it knows no context: the rest differ by time or address)"
        )
        note(guardian_timings.summary())
        note(
            f"guardian, one checker per user with prefetch_perms of its sampled objects: {prefetched_wall:.0f}us wall, "
            f"{prefetched_cpu:.0f}us CPU per check (amortised)"
        )
        note(engine_sample_before.summary())
        note(engine_with_grants.summary())
        note(f"database queries per object check: guardian {guardian_queries}, engine with grants {engine_queries}")
        note(
            "ratio engine/guardian (p50 wall, p50 CPU): without grants (a) "
            f"{engine_sample_before.p50_ms() / guardian_timings.p50_ms():.2f}x, "
            f"{engine_sample_before.p50_ms(True) / guardian_timings.p50_ms(True):.2f}x; with grants "
            f"{engine_with_grants.p50_ms() / guardian_timings.p50_ms():.2f}x, "
            f"{engine_with_grants.p50_ms(True) / guardian_timings.p50_ms(True):.2f}x (above 1: the engine is slower)"
        )
    connection.set_schema_to_public()

    # (c) the list endpoint.
    engine_path, constant_path, requests_ok = list_endpoint(world)
    load_after = os.getloadavg()
    if engine_path.seconds:
        for path in (engine_path, constant_path):
            note(path.summary())
        note(
            f"authorisation adds p50 {engine_path.p50_ms() - constant_path.p50_ms():.2f}ms wall, "
            f"{engine_path.cpu_p50_ms() - constant_path.cpu_p50_ms():.2f}ms CPU per request (two decisions); "
            f"p99 {engine_path.p99_ms() - constant_path.p99_ms():.2f}ms; all 200 with the same count: {requests_ok}"
        )
    note(
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} CPUs "
        f"(uptime: {' '.join(f'{x:.2f}' for x in load_after)})"
    )

    valid = engine_timings.errors == 0
    figures = [
        Figure(
            TOPIC,
            "decision_p99_ms",
            value=wall_p99,
            baseline=guardian_timings.p99_ms(),
            unit="ms",
            goal=f"value<{GOAL_P99_MS:g}ms",
            met=wall_p99 < GOAL_P99_MS and valid,
        ),
        Figure(
            TOPIC,
            "decision_cpu_p99_ms",
            value=cpu_p99,
            baseline=guardian_timings.p99_ms(cpu=True),
            unit="ms",
            goal=f"value<{GOAL_P99_MS:g}ms",
            met=cpu_p99 < GOAL_P99_MS and valid,
        ),
        Figure(
            TOPIC,
            "decision_cpu_us",
            value=engine_timings.mean_us(cpu=True),
            baseline=guardian_timings.mean_us(cpu=True),
            unit="us",
            goal=f"value<{GOAL_CPU_US:g}us",
            met=engine_timings.mean_us(cpu=True) < GOAL_CPU_US and valid,
        ),
    ]
    if engine_path.seconds:
        added = engine_path.p50_ms() - constant_path.p50_ms()
        figures.append(
            Figure(
                TOPIC,
                "list_request_added_ms",
                value=added,
                baseline=constant_path.p50_ms(),
                unit="ms",
                goal=f"value<{GOAL_REQUEST_ADDED_MS:g}ms",
                met=added < GOAL_REQUEST_ADDED_MS and requests_ok,
            )
        )
    report(figures)
