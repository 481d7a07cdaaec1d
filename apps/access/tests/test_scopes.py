"""Role assignments over a scope node: they apply to resources inside that node (or below it), nowhere else.

No app declares a scope type yet, so the tests register one, ``access:testscope``, whose nodes are rows of
``access.Group`` (any model would do), and remove it afterwards.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.access import engine, registry, services
from apps.access.models import Group, RoleAssignment
from apps.access.selectors import principal_tier
from apps.core.authorization import Resource
from apps.core.permissions import ScopeType, Tier

pytestmark = pytest.mark.django_db

SCOPE = "access:testscope"
VIEW = "accounts:user:view"


@pytest.fixture(autouse=True)
def scope_type():
    registry.add_scope_type(ScopeType(SCOPE, "Test scope", "access.Group"))
    yield registry.scope_type(SCOPE)
    registry.remove_scope_type(SCOPE)


@pytest.fixture
def nodes(in_acme):
    """Scope nodes: root ⊃ middle ⊃ leaf, and a sibling of middle (containment is given by each resource)."""
    return {name: Group.objects.create(name=f"node-{name}") for name in ("root", "middle", "leaf", "sibling")}


def under(*path) -> Resource:
    """A user object inside the given scope nodes, nearest first."""
    return Resource("accounts:user", "7", scopes=tuple((SCOPE, str(node.pk)) for node in path))


def test_a_role_over_a_scope_node_applies_inside_it_only(admin, make_user, role, nodes):
    alice = make_user()
    assignment = services.role_assign(
        actor=admin, role=role("operator"), user=alice, scope_type=SCOPE, scope_id=nodes["leaf"].pk
    )
    assert (assignment.scope_type, assignment.scope_id) == (SCOPE, str(nodes["leaf"].pk))

    inside = engine.authorize(alice, VIEW, under(nodes["leaf"]))
    assert inside and inside.reasons == (f"assignment/{assignment.pk}",)
    assert not engine.authorize(alice, VIEW, Resource("accounts:user", "7"))  # no scope given
    assert not engine.authorize(alice, VIEW)  # the tenant itself
    assert not engine.authorize(alice, VIEW, under(nodes["sibling"]))
    assert not engine.authorize(alice, "accounts:user:create", under(nodes["leaf"]))  # not in the role
    assert engine.explain(inside.reasons[0])["text"] == (
        f"Role 'operator' given to user {alice.email} over {SCOPE} {nodes['leaf'].pk}."
    )
    # A node id that looks like another type's is not the same node.
    assert not engine.authorize(
        alice, VIEW, Resource("accounts:user", "7", scopes=(("other:scope", str(nodes["leaf"].pk)),))
    )


def test_a_scoped_role_reaches_group_members(admin, make_user, role, nodes):
    alice = make_user()
    team = services.group_create(name="Team")
    services.group_member_add(group=team, user=alice)
    services.role_assign(actor=admin, role=role("read_only"), group=team, scope_type=SCOPE, scope_id=nodes["root"].pk)
    assert engine.authorize(alice, VIEW, under(nodes["root"]))
    services.group_member_remove(group=team, user=alice)
    assert not engine.authorize(alice, VIEW, under(nodes["root"]))


def test_nested_scopes_nearest_first_an_assignment_above_reaches_below(admin, make_user, role, nodes):
    alice, bob = make_user(), make_user()
    services.role_assign(actor=admin, role=role("operator"), user=alice, scope_type=SCOPE, scope_id=nodes["root"].pk)
    services.role_assign(actor=admin, role=role("operator"), user=bob, scope_type=SCOPE, scope_id=nodes["middle"].pk)
    leaf_chain = under(nodes["leaf"], nodes["middle"], nodes["root"])
    sibling_chain = under(nodes["sibling"], nodes["root"])

    assert engine.authorize(alice, VIEW, leaf_chain)
    assert engine.authorize(alice, VIEW, sibling_chain)
    assert engine.authorize(bob, VIEW, leaf_chain)
    assert not engine.authorize(bob, VIEW, sibling_chain)
    assert not engine.authorize(bob, VIEW, under(nodes["leaf"]))  # the chain is the resource's to give
    assert not engine.authorize(alice, VIEW, under(nodes["leaf"], nodes["middle"]))


def test_unknown_scope_types_and_missing_nodes_are_refused(admin, make_user, role, nodes):
    alice = make_user()
    operator = role("operator")
    refusals = [
        ({"scope_type": "cmdb:compartment", "scope_id": "1"}, "scope_type", "Unknown scope type 'cmdb:compartment'"),
        ({"scope_type": "cmdb:compartment", "scope_id": "1"}, "scope_type", f"{SCOPE})"),
        ({"scope_type": SCOPE, "scope_id": "999999999"}, "scope_id", "There is no test scope '999999999'"),
        ({"scope_type": SCOPE, "scope_id": "leaf"}, "scope_id", "There is no test scope 'leaf'"),
        ({"scope_type": SCOPE, "scope_id": ""}, "scope_id", "Name the test scope the role applies to"),
        ({"scope_type": SCOPE, "scope_id": "9" * 65}, "scope_id", "Name the test scope"),
    ]
    for scope, field, message in refusals:
        with pytest.raises(ValidationError) as refused:
            services.role_assign(actor=admin, role=operator, user=alice, **scope)
        assert message in " ".join(refused.value.message_dict[field]), scope
    assert not RoleAssignment.objects.filter(user=alice).exists()


def test_once_the_scope_type_is_gone_new_assignments_to_it_are_refused(admin, make_user, role, nodes):
    registry.remove_scope_type(SCOPE)
    with pytest.raises(ValidationError, match="Unknown scope type"):
        services.role_assign(
            actor=admin, role=role("operator"), user=make_user(), scope_type=SCOPE, scope_id=nodes["root"].pk
        )


def test_a_scoped_role_does_not_raise_the_holders_tier_and_shows_in_lists(admin, make_user, role, nodes):
    alice, bob = make_user(), make_user()
    services.role_assign(
        actor=admin, role=role("tenant_admin"), user=alice, scope_type=SCOPE, scope_id=nodes["root"].pk
    )
    assert principal_tier(alice) == Tier.USER
    with pytest.raises(PermissionDenied, match="above your tier"):
        services.role_assign(actor=alice, role=role("security_admin"), user=bob)
    assert engine.holds_anywhere(alice, "accounts:user:create", None)
    assert not engine.holds_anywhere(bob, "accounts:user:create", None)
    assert not engine.authorize(alice, "accounts:user:create")


def test_malformed_scope_ids_are_denied(admin, make_user, role, nodes):
    alice = make_user()
    services.role_assign(actor=admin, role=role("operator"), user=alice, scope_type=SCOPE, scope_id=nodes["root"].pk)
    forged = Resource("accounts:user", "7", scopes=((SCOPE, f'{nodes["root"].pk}" || true'),))
    decision = engine.authorize(alice, VIEW, forged)
    assert not decision and decision.errors == ("malformed resource id",)
