"""One tenant's roles, groups, policies and grants mean nothing in another, even to a user with the same id and email.

Every tenant has its own schema, so the same primary key and the same email can name two different accounts.
The tests create such twins on purpose (an explicit id far above what the sequences hand out).
"""

from __future__ import annotations

import itertools

import pytest
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from apps.access import engine, services
from apps.access.models import Role, RoleAssignment
from apps.access.selectors import ACCESS_VERSION_KEY, access_version, user_group_names
from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.core.authorization import Resource

pytestmark = pytest.mark.django_db

VIEW, UNLOCK, UPDATE = "accounts:user:view", "accounts:user:unlock", "accounts:user:update"
_ids = itertools.count(700_001)


def account(email: str, pk: int, **flags) -> User:
    """A user of the current schema with a chosen id."""
    user = User(pk=pk, email=email, **flags)
    user.set_unusable_password()
    user.save(force_insert=True)
    return user


@pytest.fixture
def world(acme, globex):
    """In each tenant: an administrator and 'pat', twins with the same id and email in both."""
    pat_id, admin_id = next(_ids), next(_ids)
    people = {}
    for tenant in (acme, globex):
        with schema_context(tenant.schema_name):
            people[tenant.slug] = {
                "admin": account("admin@twins.test", admin_id, is_tenant_admin=True),
                "pat": account("pat@twins.test", pat_id),
            }
    return people


def test_a_role_assigned_in_one_tenant_does_not_reach_the_same_id_in_another(acme, globex, world):
    with schema_context(acme.schema_name):
        acme_pat = world["acme"]["pat"]
        services.role_assign(actor=world["acme"]["admin"], role=Role.objects.get(name="security_admin"), user=acme_pat)
        assert engine.authorize(acme_pat, UNLOCK)
    with schema_context(globex.schema_name):
        globex_pat = world["globex"]["pat"]
        assert globex_pat.pk == acme_pat.pk and globex_pat.email == acme_pat.email
        assert not RoleAssignment.objects.filter(user=globex_pat).exists()
        assert not engine.authorize(globex_pat, UNLOCK)
        # Even acme's own object asks globex's question here: the schema decides, not the instance.
        assert not engine.authorize(acme_pat, UNLOCK)


def test_groups_named_alike_are_different_groups(acme, globex, world):
    with schema_context(acme.schema_name):
        ops = services.group_create(name="Ops")
        services.group_member_add(group=ops, user=world["acme"]["pat"])
        services.role_assign(actor=world["acme"]["admin"], role=Role.objects.get(name="read_only"), group=ops)
        assert engine.authorize(world["acme"]["pat"], VIEW)
        assert user_group_names(world["acme"]["pat"]) == {"Ops"}
    with schema_context(globex.schema_name):
        globex_ops = services.group_create(name="Ops")  # same name, no members
        globex_pat = world["globex"]["pat"]
        assert user_group_names(globex_pat) == frozenset()
        assert not engine.authorize(globex_pat, VIEW)
        # And a role on globex's Ops reaches globex's members only.
        services.role_assign(actor=world["globex"]["admin"], role=Role.objects.get(name="operator"), group=globex_ops)
        assert not engine.authorize(globex_pat, VIEW)
    with schema_context(acme.schema_name):
        assert engine.authorize(world["acme"]["pat"], "accounts:user:view").reasons == (
            f"assignment/{RoleAssignment.objects.get(group__name='Ops').pk}",
        )


def test_cached_memberships_are_per_schema_even_at_the_same_version(acme, globex, world):
    with schema_context(acme.schema_name):
        team = services.group_create(name="Team")
        services.group_member_add(group=team, user=world["acme"]["pat"])
    # Both schemas at one version, never lower than either was (versions only move forward).
    versions = []
    for tenant in (acme, globex):
        with schema_context(tenant.schema_name):
            versions.append(access_version())
    version = max(versions) + 1
    for tenant in (acme, globex):
        with schema_context(tenant.schema_name):
            cache.set(ACCESS_VERSION_KEY, version, timeout=None)
    with schema_context(acme.schema_name):
        assert access_version() == version
        assert user_group_names(world["acme"]["pat"]) == {"Team"}  # now cached at that version
    with schema_context(globex.schema_name):
        assert access_version() == version
        assert user_group_names(world["globex"]["pat"]) == frozenset()


def test_a_forbid_policy_in_one_tenant_does_not_touch_another(acme, globex, world):
    for tenant in (acme, globex):
        with schema_context(tenant.schema_name):
            admin, pat = world[tenant.slug]["admin"], world[tenant.slug]["pat"]
            services.role_assign(actor=admin, role=Role.objects.get(name="operator"), user=pat)
    with schema_context(acme.schema_name):
        services.policy_save(actor=world["acme"]["admin"], name="lockdown", text="forbid(principal, action, resource);")
        assert not engine.authorize(world["acme"]["pat"], VIEW)
        assert not engine.authorize(world["acme"]["admin"], "accounts:user:create")
    with schema_context(globex.schema_name):
        assert engine.authorize(world["globex"]["pat"], VIEW)
        assert engine.authorize(world["globex"]["admin"], "accounts:user:create")


def test_an_object_grant_in_one_tenant_does_not_reach_the_same_object_id_in_another(acme, globex, world):
    with schema_context(acme.schema_name):
        admin, pat = world["acme"]["admin"], world["acme"]["pat"]
        services.object_grant_add(actor=admin, permission=UPDATE, kind="accounts:user", object_id=admin.pk, user=pat)
        assert engine.authorize(pat, UPDATE, Resource("accounts:user", str(admin.pk)))
    with schema_context(globex.schema_name):
        pat, admin = world["globex"]["pat"], world["globex"]["admin"]
        assert not engine.authorize(pat, UPDATE, Resource("accounts:user", str(admin.pk)))
        assert not engine.holds_anywhere(pat, UPDATE, None)
        assert not User.objects.filter(engine.visible_filter(pat, UPDATE, User, None)).exists()


def test_another_tenants_user_object_is_refused(acme, globex, world):
    with schema_context(globex.schema_name):
        stranger = user_create(email="stranger@globex.test", password=None)  # an id acme may not have
        impostor = account("impostor@globex.test", world["globex"]["pat"].pk + 1_000)
        loaded = User.objects.get(pk=stranger.pk)
    with schema_context(acme.schema_name):
        # The same id as one of acme's users but another email: still not acme's user.
        account("someone@acme.test", impostor.pk)
        admin = world["acme"]["admin"]
        read_only = Role.objects.get(name="read_only")
        team = services.group_create(name="Team")
        for user in (loaded, impostor):
            with pytest.raises(ValidationError, match="not a member of this tenant"):
                services.role_assign(actor=admin, role=read_only, user=user)
            with pytest.raises(ValidationError, match="not a member of this tenant"):
                services.group_member_add(group=team, user=user)
            with pytest.raises(ValidationError, match="not a member of this tenant"):
                services.object_grant_add(
                    actor=admin, permission=VIEW, kind="accounts:user", object_id=admin.pk, user=user
                )
        assert not RoleAssignment.objects.exists()
        assert not team.members.exists()
