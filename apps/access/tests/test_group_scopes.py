"""A group is an administrative unit: a role assigned over it applies to the users in it, nested groups included."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from apps.access import services
from apps.access.models import Role, RoleAssignment
from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.core.authorization import Resource, visible

PASSWORD = "a-long-enough-password-1"


@pytest.fixture
def unit(acme):
    """helpdesk may reset passwords of engineering's people (backend is nested in engineering); sales is apart."""
    with schema_context(acme.schema_name):
        admin = user_create(email="admin@unit.test", password=PASSWORD, is_tenant_admin=True)
        agent = user_create(email="agent@unit.test", password=PASSWORD)
        engineer = user_create(email="engineer@unit.test", password=PASSWORD)
        backend_dev = user_create(email="backend@unit.test", password=PASSWORD)
        seller = user_create(email="seller@unit.test", password=PASSWORD)
        helpdesk = services.group_create(name="helpdesk")
        engineering = services.group_create(name="engineering")
        backend = services.group_create(name="backend")
        sales = services.group_create(name="sales")
        services.group_nest(parent=engineering, child=backend)
        services.group_member_add(group=helpdesk, user=agent)
        services.group_member_add(group=engineering, user=engineer)
        services.group_member_add(group=backend, user=backend_dev)
        services.group_member_add(group=sales, user=seller)
        role = services.role_create(
            actor=admin,
            name="password-desk",
            label="Password desk",
            permissions=["accounts:user:view", "accounts:user:reset_password"],
        )
        assignment = services.role_assign(
            actor=admin, role=role, group=helpdesk, scope_type="access:group", scope_id=str(engineering.pk)
        )
    return locals()


def test_the_role_applies_to_the_units_members_only(acme, unit):
    from apps.access.engine import authorize

    with schema_context(acme.schema_name):
        agent = unit["agent"]
        for person, expected in ((unit["engineer"], True), (unit["backend_dev"], True), (unit["seller"], False)):
            decision = authorize(agent, "accounts:user:reset_password", Resource.of("accounts:user", person))
            assert decision.allowed is expected, person.email
            if expected:
                assert decision.reasons == (f"assignment/{unit['assignment'].pk}",)
        assert not authorize(agent, "accounts:user:reset_password").allowed  # not over the whole tenant
        assert not authorize(agent, "accounts:user:disable", Resource.of("accounts:user", unit["engineer"])).allowed


def test_lists_show_the_units_members_in_sql(acme, unit):
    with schema_context(acme.schema_name):
        emails = sorted(
            visible(unit["agent"], "accounts:user:view", User.objects.all()).values_list("email", flat=True)
        )
    assert emails == ["backend@unit.test", "engineer@unit.test"]


def test_leaving_the_unit_ends_the_reach_and_deleting_it_removes_the_assignment(acme, unit):
    from apps.access.engine import authorize

    with schema_context(acme.schema_name):
        services.group_unnest(parent=unit["engineering"], child=unit["backend"])
        assert not authorize(
            unit["agent"], "accounts:user:reset_password", Resource.of("accounts:user", unit["backend_dev"])
        ).allowed
        services.group_delete(group=unit["engineering"])
        assert not RoleAssignment.objects.filter(pk=unit["assignment"].pk).exists()


def test_a_unit_that_does_not_exist_is_refused(acme, unit):
    with schema_context(acme.schema_name), pytest.raises(ValidationError, match=r"no group .*999999"):
        services.role_assign(
            actor=unit["admin"], role=unit["role"], user=unit["agent"], scope_type="access:group", scope_id="999999"
        )


def test_a_forbid_that_reads_the_resource_hides_the_same_rows_from_lists(acme, unit):
    """The list never shows a row its detail page would refuse: such forbids are decided row by row."""
    from apps.access.engine import authorize

    with schema_context(acme.schema_name):
        services.role_assign(actor=unit["admin"], role=Role.objects.get(name="read_only"), user=unit["seller"])
        services.policy_save(
            actor=unit["admin"],
            name="hide-backend",
            text=f'forbid(principal, action == Nimbus::Action::"accounts:user:view", resource) '
            f'when {{ resource in Nimbus::Scope::"access:group/{unit["backend"].pk}" }};',
        )
        seller = unit["seller"]
        emails = set(visible(seller, "accounts:user:view", User.objects.all()).values_list("email", flat=True))
        assert "backend@unit.test" not in emails and "engineer@unit.test" in emails
        assert not authorize(seller, "accounts:user:view", Resource.of("accounts:user", unit["backend_dev"]))
        # The helpdesk agent's scoped view is narrowed the same way.
        agent_sees = visible(unit["agent"], "accounts:user:view", User.objects.all()).values_list("email", flat=True)
        assert sorted(agent_sees) == ["engineer@unit.test"]


def test_a_forbid_naming_one_object_hides_exactly_that_row(acme, unit):
    with schema_context(acme.schema_name):
        services.role_assign(actor=unit["admin"], role=Role.objects.get(name="read_only"), user=unit["seller"])
        services.policy_save(
            actor=unit["admin"],
            name="hide-eve",
            text=f'forbid(principal, action, resource == Nimbus::AccountsUser::"{unit["engineer"].pk}");',
        )
        seen = set(visible(unit["seller"], "accounts:user:view", User.objects.all()).values_list("email", flat=True))
    assert "engineer@unit.test" not in seen and {"backend@unit.test", "seller@unit.test"} <= seen
