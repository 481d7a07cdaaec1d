"""System roles seeded per tenant, custom roles without escalation, nested groups without cycles."""

import itertools

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import schema_context

from apps.access import registry, services
from apps.access.models import Group, Role, RoleAssignment
from apps.access.selectors import ancestors_of, effective_permissions, group_effective_members, user_group_ids
from apps.access.system_roles import SYSTEM_ROLES
from apps.accounts.services import user_create
from apps.core.permissions import Tier

pytestmark = pytest.mark.django_db

SYSTEM_ROLE_NAMES = {role.name for role in SYSTEM_ROLES}


def test_every_tenant_starts_with_the_eight_system_roles(acme, globex, provider):
    for tenant in (acme, globex, provider):
        with schema_context(tenant.schema_name):
            assert set(Role.objects.filter(is_system=True).values_list("name", flat=True)) == SYSTEM_ROLE_NAMES


def test_system_roles_follow_their_documented_rules(acme):
    with schema_context(acme.schema_name):
        by_name = {role.name: set(role.permissions) for role in Role.objects.filter(is_system=True)}
    everything = {p.name for p in registry.all_permissions()}
    assert by_name["provider_admin"] == everything
    assert "tenancy:tenant:delete" not in by_name["provider_operator"]
    assert {p.name for p in registry.all_permissions() if p.tier <= Tier.TENANT_ADMIN} == by_name["tenant_admin"]
    assert not any(name.startswith("tenancy:") for name in by_name["tenant_admin"])
    assert by_name["read_only"] == {"accounts:user:view"}
    assert "accounts:user:create" not in by_name["operator"] and "accounts:user:view" in by_name["operator"]
    assert by_name["security_admin"] >= {"accounts:user:unlock", "accounts:policy:update"}


def test_sync_repairs_an_edited_system_role_and_reports_it(acme):
    with schema_context(acme.schema_name):
        Role.objects.filter(name="read_only").update(permissions=["tenancy:tenant:delete"])
        assert services.system_roles_sync() == 1
        assert Role.objects.get(name="read_only").permissions == ["accounts:user:view"]
        assert services.system_roles_sync() == 0


def test_a_tenant_admin_creates_a_custom_role_but_cannot_escalate(acme):
    with schema_context(acme.schema_name):
        admin = user_create(email="boss@acme.test", password=None, is_tenant_admin=True)
        plain = user_create(email="plain@acme.test", password=None)
        role = services.role_create(
            actor=admin, name="helpdesk", label="Helpdesk", permissions=["accounts:user:view", "accounts:user:unlock"]
        )
        assert (role.tier, role.is_system) == ("tenant_admin", False)
        with pytest.raises(PermissionDenied, match=r"\(Tenant admin\): tenancy:tenant:delete"):
            services.role_create(actor=admin, name="mighty", label="Mighty", permissions=["tenancy:tenant:delete"])
        with pytest.raises(PermissionDenied, match="accounts:user:unlock"):
            services.role_create(actor=plain, name="sneaky", label="Sneaky", permissions=["accounts:user:unlock"])
        with pytest.raises(ValidationError) as refused:
            services.role_create(actor=admin, name="helpdesk", label="", permissions=["accounts:user:fly"])
        assert set(refused.value.message_dict) == {"name", "label", "permissions"}
        assert not Role.objects.filter(name__in=["mighty", "sneaky"]).exists()


def test_a_role_in_use_or_a_system_role_cannot_be_deleted(acme):
    with schema_context(acme.schema_name):
        admin = user_create(email="boss@acme.test", password=None, is_tenant_admin=True)
        role = services.role_create(actor=admin, name="viewers", label="Viewers", permissions=["accounts:user:view"])
        RoleAssignment.objects.create(role=role, user=admin)
        with pytest.raises(ValidationError, match="still assigned"):
            services.role_delete(role=role)
        with pytest.raises(ValidationError, match="System roles"):
            services.role_delete(role=Role.objects.get(name="auditor"))
        RoleAssignment.objects.filter(role=role).delete()
        services.role_delete(role=role)
        assert not Role.objects.filter(name="viewers").exists()


def test_nested_groups_give_transitive_membership(acme):
    with schema_context(acme.schema_name):
        alice = user_create(email="alice@acme.test", password=None)
        engineers, staff, everyone = (services.group_create(name=n) for n in ("Engineers", "Staff", "Everyone"))
        services.group_member_add(group=engineers, user=alice)
        services.group_nest(parent=staff, child=engineers)
        assert user_group_ids(alice) == {engineers.pk, staff.pk}
        services.group_nest(parent=everyone, child=staff)  # the cached answer is retired by the change
        assert user_group_ids(alice) == {engineers.pk, staff.pk, everyone.pk}
        assert list(group_effective_members(everyone)) == [alice]
        services.group_unnest(parent=staff, child=engineers)
        assert user_group_ids(alice) == {engineers.pk}


def test_cycles_and_nesting_deeper_than_ten_are_refused(acme):
    with schema_context(acme.schema_name):
        a, b, c = (services.group_create(name=n) for n in "ABC")
        services.group_nest(parent=a, child=b)
        services.group_nest(parent=b, child=c)
        with pytest.raises(ValidationError, match="cycle"):
            services.group_nest(parent=c, child=a)
        with pytest.raises(ValidationError, match="cycle"):
            services.group_nest(parent=a, child=a)
        assert ancestors_of(c.pk) == {a.pk, b.pk}

        chain = [services.group_create(name=f"level-{i}") for i in range(10)]
        for outer, inner in itertools.pairwise(chain):
            services.group_nest(parent=outer, child=inner)  # ten levels: allowed
        eleventh = services.group_create(name="level-10")
        with pytest.raises(ValidationError, match="at most 10 levels"):
            services.group_nest(parent=chain[-1], child=eleventh)


def test_group_names_are_unique_case_insensitively(acme):
    with schema_context(acme.schema_name):
        services.group_create(name="Ops")
        with pytest.raises(ValidationError, match="already exists"):
            services.group_create(name="ops")
        assert Group.objects.count() == 1


def test_one_tenants_roles_and_groups_are_not_anothers(acme, globex):
    with schema_context(acme.schema_name):
        admin = user_create(email="boss@acme.test", password=None, is_tenant_admin=True)
        services.role_create(actor=admin, name="acme-only", label="Acme only", permissions=["accounts:user:view"])
        services.group_create(name="Acme people")
    with schema_context(globex.schema_name):
        assert not Role.objects.filter(name="acme-only").exists()
        assert not Group.objects.filter(name="Acme people").exists()


# --- Assignments ----------------------------------------------------------------------------


def test_roles_reach_a_user_directly_and_through_nested_groups(acme):
    with schema_context(acme.schema_name):
        admin = user_create(email="boss@acme.test", password=None, is_tenant_admin=True)
        alice = user_create(email="alice@acme.test", password=None)
        helpers = services.group_create(name="Helpers")
        everyone = services.group_create(name="Everyone")
        services.group_member_add(group=helpers, user=alice)
        services.group_nest(parent=everyone, child=helpers)
        services.role_assign(actor=admin, role=Role.objects.get(name="read_only"), user=alice)
        services.role_assign(actor=admin, role=Role.objects.get(name="security_admin"), group=everyone)

        held = effective_permissions(alice)

        assert held["accounts:user:view"] == {("tenant", "")}
        assert "accounts:user:unlock" in held  # through Everyone ⊃ Helpers ∋ alice
        assert "tenancy:tenant:delete" not in held
        services.group_member_remove(group=helpers, user=alice)
        assert "accounts:user:unlock" not in effective_permissions(alice)


def test_assignments_are_refused_above_the_actors_tier_twice_or_badly_scoped(acme):
    with schema_context(acme.schema_name):
        admin = user_create(email="boss@acme.test", password=None, is_tenant_admin=True)
        plain = user_create(email="plain@acme.test", password=None)
        tenant_admin = Role.objects.get(name="tenant_admin")
        with pytest.raises(PermissionDenied, match="provider_admin"):
            services.role_assign(actor=admin, role=Role.objects.get(name="provider_admin"), user=plain)
        with pytest.raises(PermissionDenied, match="above your tier"):
            services.role_assign(actor=plain, role=tenant_admin, user=plain)  # no self-promotion
        services.role_assign(actor=admin, role=tenant_admin, user=plain)
        with pytest.raises(ValidationError, match="already assigned"):
            services.role_assign(actor=admin, role=tenant_admin, user=plain)
        with pytest.raises(ValidationError, match="Unknown scope type"):
            services.role_assign(actor=admin, role=tenant_admin, user=admin, scope_type="galaxy")
        with pytest.raises(ValidationError, match="takes no id"):
            services.role_assign(actor=admin, role=tenant_admin, user=admin, scope_id="7")
        with pytest.raises(ValidationError, match="exactly one"):
            services.role_assign(actor=admin, role=tenant_admin)
        assert RoleAssignment.objects.filter(role=tenant_admin).count() == 1
