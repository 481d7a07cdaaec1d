"""The decision point on Cedar: role assignments decide, through nested groups, per tenant, and explain themselves."""

import pytest
from django_tenants.utils import schema_context

from apps.access import services
from apps.access.engine import Resource, authorize, resource_type
from apps.access.models import Role
from apps.accounts.services import user_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(acme):
    with schema_context(acme.schema_name):
        admin = user_create(email="boss@acme.test", password=None, is_tenant_admin=True)
        alice = user_create(email="alice@acme.test", password=None)
        return admin, alice


def test_nobody_may_do_anything_without_a_role(acme, people):
    _admin, alice = people
    with schema_context(acme.schema_name):
        decision = authorize(alice, "accounts:user:view")
    assert not decision and decision.reasons == ()


def test_a_role_assigned_to_the_user_allows_its_permissions_only(acme, people):
    admin, alice = people
    with schema_context(acme.schema_name):
        assignment = services.role_assign(actor=admin, role=Role.objects.get(name="operator"), user=alice)
        allowed = authorize(alice, "accounts:user:view")
        refused = authorize(alice, "accounts:user:create")
        on_a_user = authorize(alice, "accounts:user:view", Resource("accounts:user", "42"))
    assert allowed and allowed.reasons == (f"assignment/{assignment.pk}",)
    assert not refused
    assert on_a_user


def test_a_role_reaches_members_of_nested_groups_and_leaves_with_them(acme, people):
    admin, alice = people
    with schema_context(acme.schema_name):
        team, everyone = services.group_create(name="Team"), services.group_create(name="Everyone")
        services.group_member_add(group=team, user=alice)
        services.group_nest(parent=everyone, child=team)
        services.role_assign(actor=admin, role=Role.objects.get(name="security_admin"), group=everyone)
        assert authorize(alice, "accounts:user:unlock")
        services.group_unnest(parent=everyone, child=team)
        assert not authorize(alice, "accounts:user:unlock")


def test_disabled_users_unknown_actions_and_mismatched_resources(acme, people):
    admin, alice = people
    with schema_context(acme.schema_name):
        services.role_assign(actor=admin, role=Role.objects.get(name="tenant_admin"), user=alice)
        assert not authorize(alice, "accounts:user:view", Resource("tenancy:tenant", "1"))
        assert not authorize(alice, "accounts:user:view", Resource("accounts:user", 'x" || true'))
        with pytest.raises(ValueError, match="Unknown permission"):
            authorize(alice, "accounts:user:fly")
        alice.is_active = False
        assert not authorize(alice, "accounts:user:view")


def test_one_tenants_assignments_mean_nothing_in_another(acme, globex, people):
    admin, alice = people
    with schema_context(acme.schema_name):
        services.role_assign(actor=admin, role=Role.objects.get(name="tenant_admin"), user=alice)
        assert authorize(alice, "accounts:user:create")
    with schema_context(globex.schema_name):
        twin = user_create(email="twin@globex.test", password=None)
        # Ids repeat across schemas: whoever has alice's id in globex gets nothing from acme's assignment.
        assert not authorize(twin, "accounts:user:create")
        alice_id_holder = type(twin).objects.filter(pk=alice.pk).first()
        if alice_id_holder is not None:
            assert not authorize(alice_id_holder, "accounts:user:create")


def test_resource_types_are_named_after_the_registry():
    assert resource_type("accounts:user") == "Nimbus::AccountsUser"
    assert resource_type("accounts:reset_password") == "Nimbus::AccountsResetPassword"
