"""Provider staff manage the provider's own roles, groups, assignments and policies in the admin, by the rules."""

import pytest

from apps.access.models import Group, GroupNesting, Policy, Role, RoleAssignment
from apps.accounts.models import User

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("as_provider")]


@pytest.fixture
def staff(provider):
    return User.objects.create_superuser("staff@nimbus.test", "a-long-staff-password")


@pytest.fixture
def staff_client(host_client, staff):
    client = host_client("localhost")
    client.force_login(staff)
    return client


def nesting_management(total=0, initial=0) -> dict:
    return {
        "child_links-TOTAL_FORMS": total,
        "child_links-INITIAL_FORMS": initial,
        "child_links-MIN_NUM_FORMS": 0,
        "child_links-MAX_NUM_FORMS": 1000,
    }


def test_system_roles_are_listed_but_not_editable_or_deletable(staff_client):
    listing = staff_client.get("/admin/access/role/").content.decode()
    assert "provider_admin" in listing and "read_only" in listing
    role = Role.objects.get(name="operator")
    page = staff_client.get(f"/admin/access/role/{role.pk}/change/")
    assert page.status_code == 200 and 'name="label"' not in page.content.decode()  # shown read-only
    assert staff_client.post(f"/admin/access/role/{role.pk}/change/", {"label": "Mine"}).status_code == 403
    assert staff_client.get(f"/admin/access/role/{role.pk}/delete/").status_code == 403


def test_a_custom_role_is_created_through_the_service_and_bad_permissions_are_form_errors(staff_client):
    bad = staff_client.post(
        "/admin/access/role/add/", {"name": "x", "label": "X", "description": "", "permissions": ["nope:no:no"]}
    )
    assert bad.status_code == 200 and "not one of the available choices" in bad.content.decode()
    response = staff_client.post(
        "/admin/access/role/add/",
        {
            "name": "tenant-viewers",
            "label": "Tenant viewers",
            "description": "",
            "permissions": ["tenancy:tenant:view"],
        },
    )
    assert response.status_code == 302
    role = Role.objects.get(name="tenant-viewers")
    assert role.permissions == ["tenancy:tenant:view"] and role.tier == "provider"


def test_a_group_nesting_that_makes_a_cycle_is_refused_and_nothing_is_saved(staff_client):
    outer = Group.objects.create(name="outer")
    inner = Group.objects.create(name="inner")
    GroupNesting.objects.create(parent=outer, child=inner)
    response = staff_client.post(
        f"/admin/access/group/{inner.pk}/change/",
        {
            "name": "inner renamed",
            "description": "",
            **nesting_management(total=1),
            "child_links-0-child": outer.pk,
            "child_links-0-parent": inner.pk,
        },
    )
    assert response.status_code == 200 and "would make a cycle" in response.content.decode()
    inner.refresh_from_db()
    assert inner.name == "inner"  # the rename in the same form was rolled back
    assert not GroupNesting.objects.filter(parent=inner).exists()


def test_group_members_and_effective_members(staff_client, staff):
    ops = Group.objects.create(name="ops")
    oncall = Group.objects.create(name="oncall")
    GroupNesting.objects.create(parent=ops, child=oncall)
    response = staff_client.post(
        f"/admin/access/group/{oncall.pk}/change/",
        {"name": "oncall", "description": "", "members": [staff.pk], **nesting_management()},
    )
    assert response.status_code == 302 and list(oncall.members.all()) == [staff]
    assert "staff@nimbus.test" in staff_client.get(f"/admin/access/group/{ops.pk}/change/").content.decode()


def test_an_assignment_and_an_invalid_policy(staff_client, staff):
    role = Role.objects.get(name="provider_operator")
    response = staff_client.post(
        "/admin/access/roleassignment/add/",
        {"role": role.pk, "user": staff.pk, "group": "", "scope_type": "tenant", "scope_id": ""},
    )
    assert response.status_code == 302 and RoleAssignment.objects.filter(role=role, user=staff).exists()
    twice = staff_client.post(
        "/admin/access/roleassignment/add/",
        {"role": role.pk, "user": staff.pk, "group": "", "scope_type": "tenant", "scope_id": ""},
    )
    assert "already assigned" in twice.content.decode()

    bad = staff_client.post(
        "/admin/access/policy/add/",
        {
            "name": "late",
            "description": "",
            "text": "forbid(principal, action, resource)\nwhen { context.hours > 20 };",
            "enabled": "on",
        },
    )
    assert bad.status_code == 200 and "line 2, column 16" in bad.content.decode()
    assert not Policy.objects.exists()
    good = staff_client.post(
        "/admin/access/policy/add/",
        {
            "name": "late",
            "description": "",
            "text": "forbid(principal, action, resource)\nwhen { context.hour > 20 };",
            "enabled": "on",
        },
    )
    assert good.status_code == 302 and list(Policy.objects.get().compiled) == ["policy/late"]
