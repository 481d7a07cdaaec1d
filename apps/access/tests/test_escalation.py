"""Nobody hands out what they do not hold: a slice of administration never widens itself."""

import pytest
from django.core.exceptions import PermissionDenied

from apps.access import engine, services


@pytest.fixture
def slice_of(admin, make_user):
    """``slice_of(*permissions)``: a user holding exactly these permissions, through a custom role of their own."""

    def make(*permissions):
        user = make_user()
        role = services.role_create(actor=admin, name=f"slice-{user.pk}", label="Slice", permissions=list(permissions))
        services.role_assign(actor=admin, role=role, user=user)
        return user

    return make


def test_a_group_editor_cannot_join_a_group_that_holds_more_than_they_do(admin, slice_of, role):
    editor = slice_of("access:group:view", "access:group:update")
    admins = services.group_create(name="admins")
    services.role_assign(actor=admin, role=role("tenant_admin"), group=admins)
    inner = services.group_create(name="inner")
    with pytest.raises(PermissionDenied, match="add people to 'admins'"):
        services.group_member_add(group=admins, user=editor, actor=editor)
    with pytest.raises(PermissionDenied, match="put groups inside 'admins'"):
        services.group_nest(parent=admins, child=inner, actor=editor)
    assert not engine.authorize(editor, "accounts:user:create")
    # A group that confers nothing beyond what the editor holds is theirs to manage.
    plain = services.group_create(name="plain")
    services.group_member_add(group=plain, user=editor, actor=editor)
    # And tenant administrators manage every group.
    services.group_member_add(group=admins, user=editor, actor=admin)
    assert engine.authorize(editor, "accounts:user:create")


def test_a_permit_policy_naming_a_group_counts_as_what_the_group_confers(admin, slice_of):
    editor = slice_of("access:group:update")
    vip = services.group_create(name="vip")
    services.policy_save(
        actor=admin,
        name="vip-unlock",
        text='permit(principal in Nimbus::Group::"vip", action == Nimbus::Action::"accounts:user:unlock", resource);',
    )
    with pytest.raises(PermissionDenied, match=r"accounts:user:unlock"):
        services.group_member_add(group=vip, user=editor, actor=editor)


def test_an_assigner_cannot_give_themself_or_others_a_role_they_do_not_hold(admin, slice_of, role):
    assigner = slice_of("access:assignment:create")
    with pytest.raises(PermissionDenied, match="hand out the role 'tenant_admin'"):
        services.role_assign(actor=assigner, role=role("tenant_admin"), user=assigner)
    with pytest.raises(PermissionDenied, match="hand out the role 'operator'"):
        services.role_assign(actor=assigner, role=role("operator"), user=assigner)


def test_a_policy_editor_cannot_permit_what_they_do_not_hold(admin, slice_of, make_user):
    author = slice_of("access:policy:view", "access:policy:update", "accounts:user:view")
    with pytest.raises(PermissionDenied, match="save that policy"):
        services.policy_save(
            actor=author,
            name="me-everything",
            text=f'permit(principal == Nimbus::User::"{author.pk}", action, resource);',
        )
    # Forbids give nothing away; permits of what they hold are theirs to write.
    services.policy_save(
        actor=author, name="nights", text="forbid(principal, action, resource) when { context.hour > 22 };"
    )
    other = make_user()
    services.policy_save(
        actor=author,
        name="share-view",
        text=f'permit(principal == Nimbus::User::"{other.pk}", '
        'action == Nimbus::Action::"accounts:user:view", resource);',
    )


def test_a_role_editor_cannot_widen_a_role(admin, slice_of):
    editor = slice_of("access:role:update", "accounts:user:view")
    shared = services.role_create(actor=admin, name="shared", label="Shared", permissions=["accounts:user:view"])
    with pytest.raises(PermissionDenied, match=r"accounts:user:disable"):
        services.role_update(actor=editor, role=shared, permissions=["accounts:user:view", "accounts:user:disable"])
