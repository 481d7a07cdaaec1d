"""``authorize`` answers role permits in Python and sends Cedar only the tenant's statements: it must agree with
Cedar deciding everything, on every question. Checked over a seeded random tenant."""

import contextlib
import random
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError

from apps.access import engine, registry, services
from apps.access.models import Role
from apps.core.authorization import Resource

KINDS = ["accounts:user", "access:group", "access:role"]
POLICIES = [
    ("night", 'forbid(principal in Nimbus::Group::"g1", action, resource) when { context.hour >= 20 };'),
    (
        "office",
        'forbid(principal, action, resource) when { context has ip && !context.ip.isInRange(ip("10.0.0.0/8")) };',
    ),
    (
        "prod",
        "forbid(principal, action, resource) when "
        '{ resource.hasTag("environment") && resource.getTag("environment") == "prod" && context.hour < 8 };',
    ),
    (
        "support",
        'permit(principal in Nimbus::Group::"g3", action == Nimbus::Action::"accounts:user:unlock", resource);',
    ),
    (
        "tagged",
        'permit(principal, action == Nimbus::Action::"access:group:view", resource) '
        'when { resource.hasTag("team") && resource.getTag("team") == "blue" };',
    ),
    ("delegates", "forbid(principal, action, resource) when { principal.delegated };"),
    (
        "broken",
        'forbid(principal, action == Nimbus::Action::"access:role:view", resource) '
        "when { 9223372036854775807 + context.weekday > 0 };",
    ),
]


@pytest.fixture
def world(admin, make_user, role):
    rng = random.Random(20261130)
    users = [make_user() for _ in range(12)] + [admin]
    groups = [services.group_create(name=f"g{n}") for n in range(6)]
    for child, parent in ((1, 0), (2, 0), (3, 1), (4, 3), (5, 2)):
        services.group_nest(parent=groups[parent], child=groups[child])
    for user in users[:-1]:
        for group in rng.sample(groups, rng.randint(0, 2)):
            services.group_member_add(group=group, user=user)
    names = [p.name for p in registry.all_permissions() if p.tier.key in ("user", "read_only", "tenant_admin")]
    custom = [
        services.role_create(actor=admin, name=f"r{n}", label=f"R{n}", permissions=rng.sample(names, rng.randint(2, 8)))
        for n in range(5)
    ]
    roles = [*custom, role("operator"), role("read_only"), role("auditor")]
    for _ in range(14):
        scope = rng.choice([("tenant", ""), ("access:group", str(rng.choice(groups).pk))])
        holder = {"user": rng.choice(users[:-1])} if rng.random() < 0.4 else {"group": rng.choice(groups)}
        with contextlib.suppress(ValidationError):  # the same assignment drawn twice
            services.role_assign(actor=admin, role=rng.choice(roles), scope_type=scope[0], scope_id=scope[1], **holder)
    for person in rng.sample(users[:-1], 3):
        services.object_grant_add(
            actor=admin, permission="accounts:user:update", kind="accounts:user", object_id=person.pk, user=users[0]
        )
    services.object_grant_add(
        actor=admin, permission="access:group:update", kind="access:group", object_id=groups[2].pk, group=groups[4]
    )
    for name, text in POLICIES:
        services.policy_save(actor=admin, name=name, text=text)
    users[5].is_delegated = True  # decided from the object, as the engine reads it
    return rng, users, groups


def test_the_engine_agrees_with_cedar_deciding_everything(world):
    rng, users, groups = world
    actions = [p.name for p in registry.all_permissions()]
    compared = allowed = 0
    for _ in range(400):
        action = rng.choice(actions)
        kind = action.rsplit(":", 1)[0]
        resource = None
        if kind in KINDS and rng.random() < 0.8:
            if kind == "accounts:user":
                target = rng.choice(users)
                placed = Resource.of(kind, target)
                resource = Resource(kind, placed.id, placed.scopes, {"environment": rng.choice(["prod", "dev"])})
            elif kind == "access:group":
                resource = Resource(kind, str(rng.choice(groups).pk), tags={"team": rng.choice(["blue", "red"])})
            else:
                resource = Resource(kind, str(Role.objects.order_by("?").first().pk))
        context = {
            "now": datetime(2026, 11, 30, rng.randrange(24), rng.randrange(60), tzinfo=UTC),
            "source": rng.choice(["web", "api", "task"]),
        }
        if rng.random() < 0.7:
            context["ip"] = rng.choice(["10.1.2.3", "192.0.2.7"])
        principal = rng.choice(users)
        fast = engine.authorize(principal, action, resource, context)
        slow = engine.authorize_in_cedar_only(principal, action, resource, context)
        assert fast.allowed == slow.allowed, (principal.email, action, resource, context, fast, slow)
        assert bool(fast.errors) == bool(slow.errors), (action, fast, slow)
        if not slow.errors:
            assert fast.reasons == slow.reasons, (principal.email, action, resource, context, fast, slow)
        compared += 1
        allowed += fast.allowed
    assert compared == 400 and 40 < allowed < 360  # a mix, not all one answer
