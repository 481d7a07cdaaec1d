"""Object grants: one permission on one object, to a user or a group (django-guardian rows), read by the engine."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from guardian.models import GroupObjectPermission, UserObjectPermission

from apps.access import engine, services
from apps.access.selectors import object_grants
from apps.accounts.models import User
from apps.core.authorization import Resource

pytestmark = pytest.mark.django_db

KIND = "accounts:user"
UPDATE = "accounts:user:update"


def on(user) -> Resource:
    return Resource(KIND, str(user.pk))


@pytest.fixture
def people(admin, make_user):
    """(alice: the grantee, bob and carol: users she may or may not change)."""
    return make_user("alice@acme.test"), make_user("bob@acme.test"), make_user("carol@acme.test")


def grant(admin, target, **principal):
    return services.object_grant_add(actor=admin, permission=UPDATE, kind=KIND, object_id=target.pk, **principal)


def test_a_grant_to_a_user_allows_on_that_object_only(admin, people):
    alice, bob, carol = people
    assert not engine.authorize(alice, UPDATE, on(bob))

    row = grant(admin, bob, user=alice)

    assert isinstance(row, UserObjectPermission)
    allowed = engine.authorize(alice, UPDATE, on(bob))
    assert allowed and allowed.reasons == ("object-grant",)
    assert not engine.authorize(alice, UPDATE, on(carol))
    assert not engine.authorize(alice, UPDATE)  # not over the tenant
    assert not engine.authorize(alice, "accounts:user:disable", on(bob))  # nor another action on the object
    assert not engine.authorize(carol, UPDATE, on(bob))  # nor to anyone else
    assert grant(admin, bob, user=alice) == row  # granting again changes nothing
    assert object_grants(kind=KIND) == [
        {
            "id": f"user-{row.pk}",
            "principal_type": "user",
            "principal_id": alice.pk,
            "principal_name": "alice@acme.test",
            "kind": KIND,
            "object_id": str(bob.pk),
            "permission": UPDATE,
        }
    ]

    services.object_grant_remove(actor=admin, permission=UPDATE, kind=KIND, object_id=bob.pk, user=alice)
    assert not engine.authorize(alice, UPDATE, on(bob))
    assert object_grants() == []


def test_a_grant_to_a_group_reaches_members_of_nested_groups(admin, people):
    alice, bob, carol = people
    outer, inner = services.group_create(name="Support"), services.group_create(name="Night support")
    services.group_nest(parent=outer, child=inner)
    services.group_member_add(group=inner, user=alice)

    row = grant(admin, bob, group=outer)

    assert isinstance(row, GroupObjectPermission)
    assert engine.authorize(alice, UPDATE, on(bob)).reasons == ("object-grant",)
    assert not engine.authorize(alice, UPDATE, on(carol))
    assert not engine.authorize(carol, UPDATE, on(bob))
    assert [(g["principal_type"], g["principal_name"]) for g in object_grants(object_id=str(bob.pk))] == [
        ("group", "Support")
    ]
    services.group_unnest(parent=outer, child=inner)
    assert not engine.authorize(alice, UPDATE, on(bob))
    services.group_nest(parent=outer, child=inner)
    assert engine.authorize(alice, UPDATE, on(bob))
    services.object_grant_remove(actor=admin, permission=UPDATE, kind=KIND, object_id=bob.pk, group=outer)
    assert not engine.authorize(alice, UPDATE, on(bob))


def test_a_tenant_forbid_beats_an_object_grant(admin, people):
    alice, bob, _carol = people
    grant(admin, bob, user=alice)
    services.policy_save(
        actor=admin,
        name="frozen-prod",
        text=f'forbid(principal, action == Nimbus::Action::"{UPDATE}", resource) '
        'when { resource.hasTag("environment") && resource.getTag("environment") == "prod" };',
    )
    assert engine.authorize(alice, UPDATE, on(bob))
    tagged = Resource(KIND, str(bob.pk), tags={"environment": "prod"})
    denied = engine.authorize(alice, UPDATE, tagged)
    assert not denied and denied.reasons == ("policy/frozen-prod",)


def test_nobody_grants_above_their_own_tier(admin, people, acme):
    alice, bob, _carol = people
    with pytest.raises(PermissionDenied, match=r"cannot grant 'accounts:user:update': it is above your tier \(User\)"):
        grant(alice, bob, user=alice)  # a plain user, granting herself a tenant-admin permission
    with pytest.raises(PermissionDenied, match="above your tier"):
        services.object_grant_add(
            actor=admin, permission="tenancy:tenant:delete", kind="tenancy:tenant", object_id=acme.pk, user=alice
        )
    assert not UserObjectPermission.objects.exists()
    # A user-tier permission is hers to pass on only where she holds it herself.
    with pytest.raises(PermissionDenied, match="you do not hold it there"):
        services.object_grant_add(actor=alice, permission="accounts:user:view", kind=KIND, object_id=bob.pk, user=bob)
    services.object_grant_add(actor=admin, permission="accounts:user:view", kind=KIND, object_id=bob.pk, user=alice)
    services.object_grant_add(actor=alice, permission="accounts:user:view", kind=KIND, object_id=bob.pk, user=bob)
    grant(admin, bob, user=bob)
    with pytest.raises(PermissionDenied, match="cannot withdraw"):
        services.object_grant_remove(actor=alice, permission=UPDATE, kind=KIND, object_id=bob.pk, user=bob)
    assert engine.authorize(bob, UPDATE, on(bob))


@pytest.mark.parametrize(
    ("permission", "kind", "object_id", "field", "message"),
    [
        ("accounts:user:fly", KIND, None, "permission", "Unknown permission 'accounts:user:fly'"),
        ("accounts:user:view", "accounts:widget", None, "kind", "'accounts:widget' objects cannot be granted"),
        ("access:role:view", KIND, None, "permission", "'access:role:view' is not a permission on users"),
        ("accounts:user:view", KIND, "999999999", "object_id", "There is no user '999999999'"),
        ("accounts:user:view", KIND, "not-a-number", "object_id", "There is no user 'not-a-number'"),
    ],
)
def test_unknown_permissions_kinds_and_objects_are_refused(admin, people, permission, kind, object_id, field, message):
    alice, bob, _carol = people
    target = bob.pk if object_id is None else object_id
    with pytest.raises(ValidationError) as refused:
        services.object_grant_add(actor=admin, permission=permission, kind=kind, object_id=target, user=alice)
    assert message in " ".join(refused.value.message_dict[field])
    with pytest.raises(ValidationError):
        services.object_grant_remove(actor=admin, permission=permission, kind=kind, object_id=target, user=alice)
    assert not UserObjectPermission.objects.exists()


def test_a_grant_names_exactly_one_user_or_group(admin, people):
    alice, bob, _carol = people
    team = services.group_create(name="Team")
    with pytest.raises(ValidationError, match="exactly one"):
        grant(admin, bob)
    with pytest.raises(ValidationError, match="exactly one"):
        grant(admin, bob, user=alice, group=team)


def test_lists_show_the_granted_objects_and_whoever_holds_a_grant_holds_it_somewhere(admin, people):
    alice, bob, carol = people
    assert engine.holds_anywhere(alice, UPDATE, None) is False
    assert User.objects.filter(engine.visible_filter(alice, UPDATE, User, None)).count() == 0

    grant(admin, bob, user=alice)
    team = services.group_create(name="Team")
    services.group_member_add(group=team, user=alice)
    grant(admin, carol, group=team)

    assert engine.holds_anywhere(alice, UPDATE, None) is True
    visible = User.objects.filter(engine.visible_filter(alice, UPDATE, User, None))
    assert sorted(visible.values_list("email", flat=True)) == ["bob@acme.test", "carol@acme.test"]
    assert engine.visible_filter(admin, UPDATE, User, None) is None  # the tenant admin sees every row
    assert engine.holds_anywhere(bob, UPDATE, None) is False
    assert not User.objects.filter(engine.visible_filter(bob, UPDATE, User, None)).exists()
    # Another action on the same objects shows nothing.
    assert not User.objects.filter(engine.visible_filter(alice, "accounts:user:disable", User, None)).exists()

    # A tenant-wide forbid hides even the granted rows.
    services.policy_save(
        actor=admin, name="no-changes", text=f'forbid(principal, action == Nimbus::Action::"{UPDATE}", resource);'
    )
    assert not User.objects.filter(engine.visible_filter(alice, UPDATE, User, None)).exists()


def test_deleting_a_group_takes_its_grants_with_it(admin, people):
    alice, bob, _carol = people
    team = services.group_create(name="Team")
    services.group_member_add(group=team, user=alice)
    grant(admin, bob, group=team)
    assert engine.authorize(alice, UPDATE, on(bob))
    services.group_delete(group=team)
    assert not GroupObjectPermission.objects.exists()
    assert not engine.authorize(alice, UPDATE, on(bob))
