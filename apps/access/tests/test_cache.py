"""Prepared PolicySets are cached per process and schema until the schema's access version moves: every change moves it.

Each test decides through the cached path (outside any real transaction: the transaction pytest wraps a test
in is marked ``_from_testcase`` by Django and does not count), checks that the decision was served from the
process cache at the current version, changes one thing through ``services``, and checks that the very next
decision sees the change.
"""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from apps.access import engine, services
from apps.access.models import Policy, Role, RoleAssignment
from apps.access.selectors import access_version, bump_access_version, user_group_names
from apps.core.authorization import Resource

pytestmark = pytest.mark.django_db

VIEW, UNLOCK, UPDATE = "accounts:user:view", "accounts:user:unlock", "accounts:user:update"


def cached(user, action: str, resource: Resource | None = None):
    """A decision that must come from (and leave) the process cache at the schema's current version."""
    assert not engine._in_real_transaction()
    decision = engine.authorize(user, action, resource)
    version, sets = engine._prepared[connection.schema_name]
    assert version == access_version()
    assert engine.authorize(user, action, resource) == decision
    assert engine._prepared[connection.schema_name][1] is sets, "a second decision must reuse the prepared sets"
    return decision


class Moves:
    """``with Moves():`` asserts that the block moved the access version, so that the prepared sets are stale."""

    def __enter__(self):
        self.version = access_version()
        assert engine._prepared[connection.schema_name][0] == self.version, "decide before the change"
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            assert access_version() > self.version, "the change did not move the access version"
            assert engine._prepared[connection.schema_name][0] < access_version()
        return False


@pytest.fixture
def alice(in_acme, make_user):
    return make_user("alice@acme.test")


# --- The premise ----------------------------------------------------------------------------------


def test_tests_decide_outside_a_real_transaction_and_decisions_are_cached(admin, alice, role):
    assert connection.atomic_blocks, "pytest-django wraps each test in a transaction"
    assert all(block._from_testcase for block in connection.atomic_blocks)
    assert not engine._in_real_transaction()
    engine.forget()
    assert connection.schema_name not in engine._prepared

    assert not cached(alice, VIEW)
    assert engine._prepared[connection.schema_name][0] == access_version()

    # Behind the services' back (no version bump) the cache does not notice: what the other tests rely on.
    RoleAssignment.objects.create(role=role("read_only"), user=alice)
    assert not cached(alice, VIEW)
    bump_access_version()
    assert cached(alice, VIEW)


def test_inside_a_real_transaction_nothing_is_cached(admin, alice, role):
    assert not cached(alice, VIEW)
    version, sets = engine._prepared[connection.schema_name]
    with transaction.atomic():
        assert engine._in_real_transaction()
        services.role_assign(actor=admin, role=role("read_only"), user=alice)
        assert engine.authorize(alice, VIEW)  # this transaction's own rows count
        assert engine._prepared[connection.schema_name] == (version, sets)  # but nothing was kept
    assert cached(alice, VIEW)


def test_a_rolled_back_change_leaves_decisions_as_before(admin, alice, role):
    admins = services.group_create(name="Admins")
    services.role_assign(actor=admin, role=role("security_admin"), group=admins)
    assert not cached(alice, UNLOCK)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.group_member_add(group=admins, user=alice)
        services.role_assign(actor=admin, role=role("read_only"), user=alice)
        assert engine.authorize(alice, UNLOCK) and engine.authorize(alice, VIEW)  # seen inside, as it should be
        raise RuntimeError("changed my mind")
    assert not admins.members.exists() and not RoleAssignment.objects.filter(user=alice).exists()
    # Nothing read inside the transaction outlives it: not the PolicySets, not alice's groups.
    assert user_group_names(alice) == frozenset()
    assert not cached(alice, UNLOCK)
    assert not cached(alice, VIEW)


def test_a_rolled_back_grant_leaves_decisions_as_before(admin, alice, make_user):
    bob = make_user("bob@acme.test")
    on_bob = Resource("accounts:user", str(bob.pk))
    grant = {"actor": admin, "permission": UPDATE, "kind": "accounts:user", "object_id": bob.pk, "user": alice}
    services.object_grant_add(**grant)
    assert cached(alice, UPDATE, on_bob)
    with pytest.raises(RuntimeError), transaction.atomic():
        services.object_grant_remove(**grant)
        assert not engine.authorize(alice, UPDATE, on_bob)
        raise RuntimeError("changed my mind")
    assert cached(alice, UPDATE, on_bob)


# --- Every kind of change -----------------------------------------------------------------------------


def test_editing_a_roles_permissions(admin, alice):
    helpdesk = services.role_create(actor=admin, name="helpdesk", label="Helpdesk", permissions=[VIEW])
    services.role_assign(actor=admin, role=helpdesk, user=alice)
    assert cached(alice, VIEW) and not cached(alice, UNLOCK)
    with Moves():
        services.role_update(actor=admin, role=helpdesk, permissions=[VIEW, UNLOCK])
    assert cached(alice, UNLOCK)
    with Moves():
        services.role_update(actor=admin, role=helpdesk, permissions=[UNLOCK])
    assert not cached(alice, VIEW) and cached(alice, UNLOCK)


def test_adding_and_removing_an_assignment(admin, alice, role):
    assert not cached(alice, VIEW)
    with Moves():
        assignment = services.role_assign(actor=admin, role=role("read_only"), user=alice)
    assert cached(alice, VIEW)
    with Moves():
        services.role_unassign(actor=admin, assignment=assignment)
    assert not cached(alice, VIEW)


def test_adding_and_removing_a_member(admin, alice, role):
    team = services.group_create(name="Team")
    services.role_assign(actor=admin, role=role("read_only"), group=team)
    assert not cached(alice, VIEW)
    with Moves():
        services.group_member_add(group=team, user=alice)
    assert cached(alice, VIEW)
    with Moves():
        services.group_member_remove(group=team, user=alice)
    assert not cached(alice, VIEW)


def test_nesting_and_unnesting_groups(admin, alice, role):
    inner, outer = services.group_create(name="Inner"), services.group_create(name="Outer")
    services.group_member_add(group=inner, user=alice)
    services.role_assign(actor=admin, role=role("read_only"), group=outer)
    assert not cached(alice, VIEW)
    with Moves():
        services.group_nest(parent=outer, child=inner)
    assert cached(alice, VIEW)
    with Moves():
        services.group_unnest(parent=outer, child=inner)
    assert not cached(alice, VIEW)


def test_renaming_and_deleting_a_group(admin, alice, role):
    team = services.group_create(name="Team")
    services.group_member_add(group=team, user=alice)
    services.role_assign(actor=admin, role=role("read_only"), group=team)
    assert cached(alice, VIEW)
    with Moves():
        services.group_update(group=team, name="Crew")  # Cedar names groups: both sides must follow
    assert cached(alice, VIEW)
    with Moves():
        services.group_delete(group=team)
    assert not cached(alice, VIEW)


def test_creating_changing_disabling_and_deleting_a_policy(admin, alice, role):
    services.role_assign(actor=admin, role=role("operator"), user=alice)
    assert cached(alice, VIEW)
    with Moves():
        policy = services.policy_save(
            actor=admin, name="guard", text=f'forbid(principal, action == Nimbus::Action::"{VIEW}", resource);'
        )
    assert not cached(alice, VIEW)
    with Moves():
        policy = services.policy_save(
            actor=admin,
            name="guard",
            text=f'forbid(principal, action == Nimbus::Action::"{VIEW}", resource)\n'
            'when { context.source == "task" };',
            policy=policy,
        )
    assert cached(alice, VIEW)
    with Moves():
        policy = services.policy_save(
            actor=admin, name="guard", text="forbid(principal, action, resource);", policy=policy
        )
    assert not cached(alice, VIEW)
    with Moves():
        policy = services.policy_save(actor=admin, name="guard", text=policy.text, enabled=False, policy=policy)
    assert cached(alice, VIEW)
    with Moves():
        policy = services.policy_save(actor=admin, name="guard", text=policy.text, enabled=True, policy=policy)
    assert not cached(alice, VIEW)
    with Moves():
        services.policy_delete(policy=policy)
    assert cached(alice, VIEW)
    assert not Policy.objects.exists()


def test_adding_and_removing_an_object_grant(admin, alice, make_user):
    bob = make_user("bob@acme.test")
    on_bob = Resource("accounts:user", str(bob.pk))
    grant = {"actor": admin, "permission": UPDATE, "kind": "accounts:user", "object_id": bob.pk}
    assert not cached(alice, UPDATE, on_bob)
    with Moves():
        services.object_grant_add(**grant, user=alice)
    assert cached(alice, UPDATE, on_bob)
    with Moves():
        services.object_grant_remove(**grant, user=alice)
    assert not cached(alice, UPDATE, on_bob)

    team = services.group_create(name="Team")
    services.group_member_add(group=team, user=alice)
    assert not cached(alice, UPDATE, on_bob)
    with Moves():
        services.object_grant_add(**grant, group=team)
    assert cached(alice, UPDATE, on_bob)
    with Moves():
        services.object_grant_remove(**grant, group=team)
    assert not cached(alice, UPDATE, on_bob)


def test_system_roles_sync(admin, alice, role):
    services.role_assign(actor=admin, role=role("read_only"), user=alice)
    # As if the registry had grown since the roles were last brought in step.
    Role.objects.filter(name="read_only").update(permissions=[])
    bump_access_version()
    assert not cached(alice, VIEW)
    with Moves():
        assert services.system_roles_sync() == 1
    assert cached(alice, VIEW)
    version = access_version()
    assert services.system_roles_sync() == 0
    assert access_version() == version  # nothing changed, nothing retired


# --- Schemas are cached apart ---------------------------------------------------------------------


def test_a_change_in_one_schema_leaves_anothers_prepared_sets_alone(acme, globex, make_user):
    with schema_context(globex.schema_name):
        globex_admin = make_user("admin@globex.test", is_tenant_admin=True)
        globex_alice = make_user("alice@globex.test")
        services.role_assign(actor=globex_admin, role=Role.objects.get(name="read_only"), user=globex_alice)
        assert cached(globex_alice, VIEW)
        globex_version, globex_sets = engine._prepared[globex.schema_name]
    with schema_context(acme.schema_name):
        acme_admin = make_user("admin@acme.test", is_tenant_admin=True)
        acme_alice = make_user("alice@acme.test")
        assert not cached(acme_alice, VIEW)
        acme_sets = engine._prepared[acme.schema_name][1]
        with Moves():
            services.role_assign(actor=acme_admin, role=Role.objects.get(name="read_only"), user=acme_alice)
            services.policy_save(actor=acme_admin, name="lockdown", text="forbid(principal, action, resource);")
        assert not cached(acme_alice, VIEW)
        assert engine._prepared[acme.schema_name][1] is not acme_sets
    with schema_context(globex.schema_name):
        assert access_version() == globex_version
        assert cached(globex_alice, VIEW)
        assert engine._prepared[globex.schema_name] == (globex_version, globex_sets)
        assert engine._prepared[globex.schema_name][1] is globex_sets
