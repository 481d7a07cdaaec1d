"""The access-control pages of a tenant host (/access/): who may see them, what they show, what they change."""

import itertools
import re
from types import SimpleNamespace

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.access import registry, services
from apps.access.models import Group, Policy, Role, RoleAssignment
from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.accounts.tests import PASSWORD


# The pages are driven through clients: these override the behaviour tests' user fixtures of the same names.
@pytest.fixture
def alice(acme):
    """A plain user of acme, alice@acme.test, with the accounts tests' ``PASSWORD`` (as in apps/accounts/tests)."""
    with schema_context(acme.schema_name):
        return user_create(email="alice@acme.test", password=PASSWORD)


@pytest.fixture
def admin(signed_in_client, acme):
    """A client signed in to acme as a tenant administrator (``admin.user``)."""
    return signed_in_client(acme, email="boss@acme.test", is_tenant_admin=True)


@pytest.fixture
def plain(signed_in_client, acme):
    """A client signed in to acme as a user without any role."""
    return signed_in_client(acme, email="plain@acme.test")


pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
OFFICE_HOURS = (
    'forbid(principal in Nimbus::Group::"contractors", action, resource) '
    "when { context.hour < 9 || context.hour >= 18 };"
)


def flashes(response) -> list[str]:
    """The flash messages shown on the page a redirect leads to."""
    assert response.status_code == 302, response.status_code
    page = response.client.get(response["Location"])
    return [str(message) for message in page.context["messages"]]


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def world(acme, admin, alice):
    """In acme: a custom role, groups contractors ⊂ staff (alice in contractors), a policy, an assignment."""
    with schema_context(acme.schema_name):
        helpdesk = services.role_create(
            actor=admin.user, name="helpdesk", label="Help desk", permissions=["accounts:user:view"]
        )
        contractors = services.group_create(name="contractors", description="People from outside")
        staff = services.group_create(name="staff")
        services.group_member_add(group=contractors, user=alice)
        services.group_nest(parent=staff, child=contractors)
        operator = Role.objects.get(name="operator")
        assignment = services.role_assign(actor=admin.user, role=operator, group=staff)
        policy = services.policy_save(
            actor=admin.user,
            name="no-deletes",
            text='forbid(principal, action == Nimbus::Action::"access:role:delete", resource)\n'
            "when { principal.delegated };",
        )
    return SimpleNamespace(
        helpdesk=helpdesk, contractors=contractors, staff=staff, operator=operator, assignment=assignment, policy=policy
    )


def pages(world, alice) -> list[str]:
    return [
        "/access/roles/",
        "/access/roles/add/",
        f"/access/roles/{world.helpdesk.pk}/",
        f"/access/roles/{world.operator.pk}/",
        f"/access/roles/{world.helpdesk.pk}/edit/",
        f"/access/roles/{world.helpdesk.pk}/delete/",
        "/access/groups/",
        "/access/groups/add/",
        f"/access/groups/{world.staff.pk}/",
        f"/access/groups/{world.staff.pk}/delete/",
        "/access/assignments/",
        "/access/assignments/add/",
        f"/access/assignments/{world.assignment.pk}/delete/",
        "/access/policies/",
        "/access/policies/add/",
        f"/access/policies/{world.policy.pk}/",
        f"/access/policies/{world.policy.pk}/delete/",
        f"/access/users/{alice.pk}/permissions/",
        "/access/simulator/",
        "/access/grants/",
    ]


LISTS = ["/access/roles/", "/access/groups/", "/access/assignments/", "/access/policies/", "/access/grants/"]


# --- Who may see the pages ---------------------------------------------------------------------


def test_every_page_renders_for_a_tenant_admin(admin, world, alice):
    for url in pages(world, alice):
        response = admin.get(url)
        assert response.status_code == 200, url
        assert text(response).startswith("<!doctype html>"), url


def test_lists_answer_htmx_with_the_table_fragment_only(admin, world, alice):
    for url in [*LISTS, f"/access/users/{alice.pk}/permissions/"]:
        response = admin.get(url, **HTMX)
        fragment = text(response)
        assert response.status_code == 200 and "HX-Request" in response["Vary"], url
        assert fragment.lstrip().startswith('<div class="htmx-container"') and "<html" not in fragment, url
        assert "<nav class=" not in fragment


def test_plain_users_get_403_everywhere_and_no_menu_entry(acme, plain, world, alice):
    for url in ["/access/", *pages(world, alice)]:
        response = plain.get(url)
        assert response.status_code == 403 and "You may not do that" in text(response), url
    posts = [
        "/access/roles/add/",
        f"/access/roles/{world.helpdesk.pk}/delete/",
        f"/access/groups/{world.staff.pk}/members/add/",
        f"/access/groups/{world.staff.pk}/groups/add/",
        "/access/assignments/add/",
        "/access/policies/validate/",
        f"/access/policies/{world.policy.pk}/",
        "/access/simulator/",
        "/access/grants/add/",
    ]
    for url in posts:
        assert plain.post(url, {"text": "permit(principal, action, resource);"}).status_code == 403, url
    with schema_context(acme.schema_name):
        assert Role.objects.filter(pk=world.helpdesk.pk).exists() and not Policy.objects.exclude(name="no-deletes")
    assert "Access" not in [link.label for link in plain.get("/").context["main_menu"]]


def test_admins_have_an_access_menu_entry_and_section_tabs(admin):
    links = {link.label: link.url for link in admin.get("/").context["main_menu"]}
    assert links["Access"] == "/access/"
    response = admin.get("/access/")
    assert response.status_code == 302 and response["Location"] == "/access/roles/"
    page = text(admin.get("/access/groups/"))
    for label, url in [
        ("Roles", "/access/roles/"),
        ("Policies", "/access/policies/"),
        ("Simulator", "/access/simulator/"),
    ]:
        assert f'href="{url}"' in page and label in page
    assert '<a class="nav-link active" href="/access/groups/" aria-current="page">Groups</a>' in page


def test_a_role_gives_exactly_the_sections_it_grants(signed_in_client, acme, admin):
    auditor = signed_in_client(acme, email="auditor@acme.test")
    with schema_context(acme.schema_name):
        services.role_assign(actor=admin.user, role=Role.objects.get(name="auditor"), user=auditor.user)
    assert auditor.get("/access/roles/").status_code == 200
    assert auditor.get("/access/policies/").status_code == 200
    assert auditor.get("/access/roles/add/").status_code == 403  # auditors look, they do not change
    assert auditor.get("/access/simulator/").status_code == 403
    page = text(auditor.get("/access/roles/"))
    assert "New custom role" not in page and 'href="/access/simulator/"' not in page
    assignments = text(auditor.get("/access/assignments/"))
    # Without the simulator permission a user is not linked to their effective permissions, nor offered removal.
    assert "user auditor@acme.test" in assignments and "/permissions/" not in assignments
    assert ">Remove</a>" not in assignments and "Assign a role" not in assignments


def test_visitors_are_sent_to_sign_in(host_client, acme):
    for url in ("/access/", "/access/roles/", "/access/simulator/"):
        response = host_client("acme.localhost").get(url)
        assert response.status_code == 302 and response["Location"] == f"/sign-in/?next={url}"


def test_objects_of_another_tenant_are_404(admin, globex):
    with schema_context(globex.schema_name):
        # Ids repeat across schemas: these are out of acme's range, so only globex has them.
        role = Role.objects.create(pk=2_000_000_001, name="theirs", label="Theirs", tier="user")
        group = Group.objects.create(pk=2_000_000_001, name="their-group")
        policy = Policy.objects.create(
            pk=2_000_000_001, name="their-policy", text="permit(principal, action, resource);"
        )
        user = User.objects.create(pk=2_000_000_001, email="them@globex.test", password="!x")
        assignment = RoleAssignment.objects.create(pk=2_000_000_001, role=role, group=group)
    for url in (
        f"/access/roles/{role.pk}/",
        f"/access/roles/{role.pk}/edit/",
        f"/access/groups/{group.pk}/",
        f"/access/policies/{policy.pk}/",
        f"/access/assignments/{assignment.pk}/delete/",
        f"/access/users/{user.pk}/permissions/",
    ):
        assert admin.get(url).status_code == 404, url
    assert admin.post(f"/access/groups/{group.pk}/delete/").status_code == 404
    assert admin.post(f"/access/roles/{role.pk}/delete/").status_code == 404
    with schema_context(globex.schema_name):
        assert Group.objects.filter(pk=group.pk).exists() and Role.objects.filter(pk=role.pk).exists()


def test_a_tenant_policy_hides_one_object_or_forbids_one_change(admin, acme, world):
    with schema_context(acme.schema_name):
        services.policy_save(
            actor=admin.user,
            name="guard",
            text=(
                f'forbid(principal, action == Nimbus::Action::"access:group:view", '
                f'resource == Nimbus::AccessGroup::"{world.staff.pk}");\n'
                f'forbid(principal, action == Nimbus::Action::"access:group:delete", '
                f'resource == Nimbus::AccessGroup::"{world.contractors.pk}");'
            ),
        )
    assert admin.get(f"/access/groups/{world.staff.pk}/").status_code == 404  # may not even read it
    refused = admin.post(f"/access/groups/{world.contractors.pk}/delete/")
    assert refused.status_code == 403  # may read it, may not delete it
    assert admin.get("/access/groups/").status_code == 200
    with schema_context(acme.schema_name):
        assert Group.objects.filter(pk=world.contractors.pk).exists()


def test_state_changes_need_post_and_csrf(acme, admin, world, alice):
    assert admin.get(f"/access/groups/{world.staff.pk}/members/add/").status_code == 405
    assert admin.get(f"/access/groups/{world.staff.pk}/groups/{world.contractors.pk}/remove/").status_code == 405
    assert admin.get("/access/policies/validate/").status_code == 405
    assert admin.get("/access/grants/remove/").status_code == 405
    strict = Client(HTTP_HOST="acme.localhost", enforce_csrf_checks=True)
    strict.cookies["sessionid"] = admin.cookies["sessionid"].value
    assert strict.post(f"/access/roles/{world.helpdesk.pk}/delete/").status_code == 403
    assert strict.post(f"/access/groups/{world.contractors.pk}/members/{alice.pk}/remove/").status_code == 403
    with schema_context(acme.schema_name):
        assert Role.objects.filter(pk=world.helpdesk.pk).exists()
        assert world.contractors.members.filter(pk=alice.pk).exists()


# --- Roles --------------------------------------------------------------------------------------


def test_roles_list_marks_system_roles_read_only(admin, world):
    page = text(admin.get("/access/roles/"))
    assert "System · read-only" in page and "Custom" in page
    assert f'<a href="/access/roles/{world.helpdesk.pk}/">helpdesk</a>' in page
    system = text(admin.get(f"/access/roles/{world.operator.pk}/"))
    assert "System · read-only" in system
    assert f"/access/roles/{world.operator.pk}/edit/" not in system and "/delete/" not in system
    custom = text(admin.get(f"/access/roles/{world.helpdesk.pk}/"))
    assert (
        f"/access/roles/{world.helpdesk.pk}/edit/" in custom and f"/access/roles/{world.helpdesk.pk}/delete/" in custom
    )
    assert admin.get("/access/roles/", {"is_system": "false"}, **HTMX).content.decode().count("/access/roles/") == 1


def test_role_detail_groups_permissions_by_app_with_labels_and_tier(admin, world):
    page = text(admin.get(f"/access/roles/{world.operator.pk}/"))
    assert ">accounts</h3>" in page
    assert "<code>accounts:user:view</code></td><td>See the tenant&#x27;s users</td><td>User</td>" in page
    assert "accounts:user:create" not in page


def test_role_form_shows_permissions_by_app_and_above_tier_ones_disabled(admin):
    page = text(admin.get("/access/roles/add/"))
    assert ">tenancy</h2>" in page and ">access</h2>" in page
    create_tenant = re.search(r'<input[^>]*value="tenancy:tenant:create"[^>]*>', page).group()
    view_users = re.search(r'<input[^>]*value="accounts:user:view"[^>]*>', page).group()
    assert "disabled" in create_tenant and "disabled" not in view_users
    assert "Provider" in page and "(above your tier)" in page


def test_creating_and_editing_a_custom_role(acme, admin):
    created = admin.post(
        "/access/roles/add/",
        {"label": "Password desk", "permissions": ["accounts:user:view", "accounts:user:reset_password"]},
    )
    with schema_context(acme.schema_name):
        role = Role.objects.get(name="password-desk")
    assert created["Location"] == f"/access/roles/{role.pk}/"
    assert flashes(created) == ["The role 'password-desk' was created."]
    assert role.permissions == ["accounts:user:reset_password", "accounts:user:view"] and role.tier == "tenant_admin"
    edited = admin.post(f"/access/roles/{role.pk}/edit/", {"label": "Desk", "permissions": ["accounts:user:view"]})
    assert edited.status_code == 302
    with schema_context(acme.schema_name):
        role.refresh_from_db()
    assert (role.label, role.permissions, role.tier) == ("Desk", ["accounts:user:view"], "user")


def test_role_form_errors_come_back_next_to_the_form(acme, admin, world):
    above = admin.post("/access/roles/add/", {"label": "Too much", "permissions": ["tenancy:tenant:create"]})
    assert above.status_code == 400
    assert "cannot grant more than your own tier (Tenant admin): tenancy:tenant:create" in text(above)
    twice = admin.post("/access/roles/add/", {"name": "helpdesk", "label": "Again"})
    assert twice.status_code == 400 and "A role named &#x27;helpdesk&#x27; already exists." in text(twice)
    unknown = admin.post("/access/roles/add/", {"label": "X", "permissions": ["accounts:user:fly"]})
    assert unknown.status_code == 400
    with schema_context(acme.schema_name):
        assert not Role.objects.filter(label__in=["Too much", "X"]).exists()


def test_system_roles_cannot_be_edited_or_deleted(acme, admin, world):
    edit = admin.post(f"/access/roles/{world.operator.pk}/edit/", {"label": "Mine now"})
    assert flashes(edit) == ["System roles cannot be changed: they follow the permission registry."]
    delete = admin.post(f"/access/roles/{world.operator.pk}/delete/")
    assert flashes(delete) == ["System roles cannot be deleted."]
    with schema_context(acme.schema_name):
        assert Role.objects.get(pk=world.operator.pk).label == "Operator"


def test_deleting_an_assigned_role_is_refused_with_a_message(acme, admin, alice, world):
    with schema_context(acme.schema_name):
        services.role_assign(actor=admin.user, role=world.helpdesk, user=alice)
    confirm = text(admin.get(f"/access/roles/{world.helpdesk.pk}/delete/"))
    assert "Delete the role &#x27;helpdesk&#x27;?" in confirm and 'name="csrfmiddlewaretoken"' in confirm
    refused = admin.post(f"/access/roles/{world.helpdesk.pk}/delete/")
    assert refused["Location"] == f"/access/roles/{world.helpdesk.pk}/"
    assert flashes(refused) == ["The role 'helpdesk' is still assigned; remove its assignments first."]
    with schema_context(acme.schema_name):
        RoleAssignment.objects.filter(role=world.helpdesk).delete()
    deleted = admin.post(f"/access/roles/{world.helpdesk.pk}/delete/")
    assert deleted["Location"] == "/access/roles/" and flashes(deleted) == ["The role 'helpdesk' was deleted."]


# --- Groups -------------------------------------------------------------------------------------


def test_groups_list_counts_direct_members(admin, world):
    page = text(admin.get("/access/groups/"))
    rows = dict(
        re.findall(r'<a href="/access/groups/\d+/">([^<]+)</a></td>\s*<td[^>]*>[^<]*</td>\s*<td[^>]*>(\d+)', page)
    )
    assert rows == {"contractors": "1", "staff": "0"}


def test_group_page_shows_members_nesting_and_effective_members(admin, alice, world):
    staff = text(admin.get(f"/access/groups/{world.staff.pk}/"))
    assert f'href="/access/groups/{world.contractors.pk}/">contractors</a>' in staff  # nested inside
    effective = staff.split('id="effective-members-list"')[1].split("</ul>")[0]
    assert "alice@acme.test" in effective and f"/access/users/{alice.pk}/permissions/" in effective
    assert "No direct members." in staff
    assert "?group_id=" in staff and f"/access/assignments/add/?group={world.staff.pk}" in staff
    contractors = text(admin.get(f"/access/groups/{world.contractors.pk}/"))
    parents = contractors.split('id="parent-groups"')[1].split("</section>")[0]
    assert f'href="/access/groups/{world.staff.pk}/">staff</a>' in parents


def test_adding_and_removing_members_and_nested_groups(acme, admin, alice, world):
    with schema_context(acme.schema_name):
        bob = user_create(email="bob@acme.test", password=None)
        outside = services.group_create(name="outside")
    added = admin.post(f"/access/groups/{world.staff.pk}/members/add/", {"user": bob.pk})
    assert flashes(added) == ["bob@acme.test is now a member of 'staff'."]
    nested = admin.post(f"/access/groups/{world.staff.pk}/groups/add/", {"child": outside.pk})
    assert flashes(nested) == ["'outside' is now inside 'staff'."]
    with schema_context(acme.schema_name):
        assert set(world.staff.members.values_list("email", flat=True)) == {"bob@acme.test"}
        assert set(Group.objects.filter(parent_links__parent=world.staff).values_list("name", flat=True)) == {
            "contractors",
            "outside",
        }
    removed = admin.post(f"/access/groups/{world.staff.pk}/members/{bob.pk}/remove/")
    assert flashes(removed) == ["bob@acme.test is no longer a direct member of 'staff'."]
    left = admin.post(f"/access/groups/{world.staff.pk}/groups/{world.contractors.pk}/remove/", {"back": "child"})
    assert left["Location"] == f"/access/groups/{world.contractors.pk}/"
    with schema_context(acme.schema_name):
        assert not world.staff.members.exists()
        assert list(Group.objects.filter(parent_links__parent=world.staff).values_list("name", flat=True)) == [
            "outside"
        ]


def test_a_nesting_cycle_is_refused_next_to_the_field(acme, admin, world):
    response = admin.post(f"/access/groups/{world.contractors.pk}/groups/add/", {"child": world.staff.pk})
    assert response.status_code == 400
    page = text(response)
    assert "&#x27;staff&#x27; already contains &#x27;contractors&#x27;: nesting it would make a cycle." in page
    assert 'class="form-select is-invalid"' in page
    with schema_context(acme.schema_name):
        assert not Group.objects.filter(parent_links__parent=world.contractors).exists()


def test_nesting_deeper_than_ten_levels_is_refused(acme, admin):
    with schema_context(acme.schema_name):
        chain = [services.group_create(name=f"level-{n}") for n in range(11)]
        for parent, child in itertools.pairwise(chain[:-1]):  # ten levels
            services.group_nest(parent=parent, child=child)
    response = admin.post(f"/access/groups/{chain[-2].pk}/groups/add/", {"child": chain[-1].pk})
    assert response.status_code == 400 and "Groups nest at most 10 levels deep." in text(response)


def test_creating_renaming_and_deleting_a_group(acme, admin):
    created = admin.post("/access/groups/add/", {"name": "night shift", "description": "After hours"})
    with schema_context(acme.schema_name):
        group = Group.objects.get(name="night shift")
    assert created["Location"] == f"/access/groups/{group.pk}/"
    clash = admin.post("/access/groups/add/", {"name": "Night Shift"})
    assert clash.status_code == 400 and "already exists" in text(clash)
    renamed = admin.post(f"/access/groups/{group.pk}/edit/", {"name": "late shift", "description": ""})
    assert flashes(renamed) == ["The group 'late shift' was saved."]
    bad = admin.post(f"/access/groups/{group.pk}/edit/", {"name": 'quo"te'})
    assert bad.status_code == 400 and "without quotes" in text(bad)
    deleted = admin.post(f"/access/groups/{group.pk}/delete/")
    assert deleted["Location"] == "/access/groups/"
    with schema_context(acme.schema_name):
        assert not Group.objects.filter(pk=group.pk).exists()


def test_a_group_named_by_a_policy_is_neither_renamed_nor_deleted(acme, admin, world):
    with schema_context(acme.schema_name):
        services.policy_save(actor=admin.user, name="office-hours", text=OFFICE_HOURS)
    renamed = admin.post(f"/access/groups/{world.contractors.pk}/edit/", {"name": "freelancers"})
    assert renamed.status_code == 400 and "Policies name this group (office-hours)" in text(renamed)
    deleted = admin.post(f"/access/groups/{world.contractors.pk}/delete/")
    assert flashes(deleted) == ["Policies name the group 'contractors' (office-hours): change them first."]


# --- Assignments --------------------------------------------------------------------------------


def test_assigning_a_role_to_a_user_or_a_group_and_filtering(acme, admin, alice, world):
    to_alice = admin.post(
        "/access/assignments/add/", {"role": world.helpdesk.pk, "user": alice.pk, "scope_type": "tenant"}
    )
    assert flashes(to_alice) == ["The role 'helpdesk' was given to alice@acme.test over whole tenant."]
    to_group = admin.post(
        "/access/assignments/add/", {"role": world.helpdesk.pk, "group": world.contractors.pk, "scope_type": "tenant"}
    )
    assert to_group.status_code == 302
    by_user = text(admin.get("/access/assignments/", {"user_id": alice.pk}, **HTMX))
    assert "alice@acme.test" in by_user and "contractors" not in by_user
    by_group = text(admin.get("/access/assignments/", {"group_id": world.staff.pk}, **HTMX))
    assert "operator" in by_group and "helpdesk" not in by_group
    by_role = text(admin.get("/access/assignments/", {"role_id": world.helpdesk.pk}, **HTMX))
    assert "2 results" in by_role and "operator" not in by_role
    bad_filter = text(admin.get("/access/assignments/", {"role_id": "nope"}))
    assert "This filter is ignored." in bad_filter


def test_assignment_errors_are_shown_on_the_form(acme, admin, alice, world):
    both = admin.post(
        "/access/assignments/add/",
        {"role": world.helpdesk.pk, "user": alice.pk, "group": world.staff.pk, "scope_type": "tenant"},
    )
    assert both.status_code == 400 and "Choose either a user or a group, not both." in text(both)
    scoped = admin.post(
        "/access/assignments/add/",
        {"role": world.helpdesk.pk, "user": alice.pk, "scope_type": "tenant", "scope_id": "7"},
    )
    assert scoped.status_code == 400 and "The whole-tenant scope takes no id." in text(scoped)
    again = admin.post(
        "/access/assignments/add/", {"role": world.operator.pk, "group": world.staff.pk, "scope_type": "tenant"}
    )
    assert again.status_code == 400 and "That role is already assigned there." in text(again)
    above = admin.post(
        "/access/assignments/add/",
        {"role": _role_pk(acme, "provider_admin"), "user": alice.pk, "scope_type": "tenant"},
    )
    assert above.status_code == 400 and "You cannot hand out the role &#x27;provider_admin&#x27;" in text(above)


def _role_pk(tenant, name: str) -> int:
    with schema_context(tenant.schema_name):
        return Role.objects.get(name=name).pk


def test_removing_an_assignment_after_confirming(acme, admin, world):
    confirm = text(admin.get(f"/access/assignments/{world.assignment.pk}/delete/"))
    assert "Take the role &#x27;operator&#x27; away from the group &#x27;staff&#x27; (whole tenant)?" in confirm
    removed = admin.post(f"/access/assignments/{world.assignment.pk}/delete/")
    assert removed["Location"] == "/access/assignments/"
    with schema_context(acme.schema_name):
        assert not RoleAssignment.objects.filter(pk=world.assignment.pk).exists()


# --- Policies -----------------------------------------------------------------------------------


def test_the_editor_checks_cedar_live_with_line_and_column(admin, world):
    editor = text(admin.get("/access/policies/add/"))
    assert 'hx-post="/access/policies/validate/"' in editor and 'hx-trigger="keyup changed delay:500ms"' in editor
    assert 'hx-target="#policy-validation"' in editor and 'id="policy-validation"' in editor
    bad = admin.post(
        "/access/policies/validate/",
        {"text": "permit(principal, action, resource);\npermitt(principal, action, resource);"},
        **HTMX,
    )
    assert bad.status_code == 200 and "<html" not in text(bad)
    assert "line 2, column 1: invalid policy effect: permitt" in text(bad)
    unknown = admin.post(
        "/access/policies/validate/",
        {"text": "permit(principal, action, resource) when {\n  principal.shoe_size };"},
        **HTMX,
    )
    assert "line 2, column 13: statement 1: attribute `shoe_size` on entity type `Nimbus::User` not found" in text(
        unknown
    )
    good = admin.post("/access/policies/validate/", {"text": OFFICE_HOURS.replace("contractors", "staff")}, **HTMX)
    assert "Valid: 1 statement." in text(good)


def test_the_editor_shows_what_policies_can_read(admin):
    page = text(admin.get("/access/policies/add/"))
    for needle in (
        "principal.email",
        "principal.tenant_admin",
        "principal.delegated",
        'principal in Nimbus::Group::"&lt;name&gt;"',
        'Nimbus::Action::"app:resource:action"',
        'resource.getTag("environment") == "prod"',
        "context.now",
        "context.weekday",
        'context has ip &amp;&amp; context.ip.isInRange(ip("10.0.0.0/8"))',
        "context.mfa",
        "forbid a group outside office hours",
    ):
        assert needle in page, needle


def test_saving_invalid_cedar_is_refused_with_the_problems(acme, admin):
    response = admin.post(
        "/access/policies/add/", {"name": "broken", "text": "permitt(principal, action, resource);", "enabled": "on"}
    )
    assert response.status_code == 400
    assert "line 1, column 1: invalid policy effect: permitt" in text(response)
    nobody = admin.post(
        "/access/policies/add/", {"name": "ghosts", "text": OFFICE_HOURS.replace("contractors", "ghosts")}
    )
    assert nobody.status_code == 400 and "line 1, column 36: There is no group named &#x27;ghosts&#x27;." in text(
        nobody
    )
    with schema_context(acme.schema_name):
        assert not Policy.objects.filter(name__in=["broken", "ghosts"]).exists()


def test_writing_editing_and_deleting_a_policy(acme, admin, world):
    created = admin.post(
        "/access/policies/add/",
        {"name": "office hours", "description": "Contractors by day", "text": OFFICE_HOURS, "enabled": "on"},
    )
    with schema_context(acme.schema_name):
        policy = Policy.objects.get(name="office-hours")
    assert created["Location"] == f"/access/policies/{policy.pk}/" and policy.enabled
    assert list(policy.compiled) == ["policy/office-hours"]
    listed = text(admin.get("/access/policies/", {"q": "contractors"}, **HTMX))
    assert "office-hours" in listed and "1 forbid" in listed and "Enabled" in listed
    invalid_edit = admin.post(f"/access/policies/{policy.pk}/", {"text": "forbid(", "enabled": "on"})
    assert invalid_edit.status_code == 400 and "line 1, column" in text(invalid_edit)
    edited = admin.post(f"/access/policies/{policy.pk}/", {"text": OFFICE_HOURS, "description": "Off for now"})
    assert flashes(edited) == ["The policy 'office-hours' was saved."]
    with schema_context(acme.schema_name):
        policy.refresh_from_db()
    assert not policy.enabled and policy.description == "Off for now" and policy.updated_by_id == admin.user.pk
    deleted = admin.post(f"/access/policies/{policy.pk}/delete/")
    assert deleted["Location"] == "/access/policies/"
    with schema_context(acme.schema_name):
        assert not Policy.objects.filter(pk=policy.pk).exists()


def test_policy_readers_see_the_text_but_cannot_save(signed_in_client, acme, admin, world):
    auditor = signed_in_client(acme, email="auditor@acme.test")
    with schema_context(acme.schema_name):
        services.role_assign(actor=admin.user, role=Role.objects.get(name="auditor"), user=auditor.user)
    page = text(auditor.get(f"/access/policies/{world.policy.pk}/"))
    assert "disabled" in re.search(r"<textarea[^>]*>", page).group() and ">Save</button>" not in page
    assert auditor.post(f"/access/policies/{world.policy.pk}/", {"text": OFFICE_HOURS}).status_code == 403


# --- Effective permissions and the simulator ------------------------------------------------------


def test_effective_permissions_list_every_permission_with_reasons_and_scopes(admin, alice, world):
    response = admin.get(f"/access/users/{alice.pk}/permissions/")
    page = text(response)
    row = re.search(r"<code>accounts:user:view</code>.*?</tr>", page, re.S).group()
    assert (
        "Allowed" in row and "Role &#x27;operator&#x27; given to group &#x27;staff&#x27; over the whole tenant." in row
    )
    assert "whole tenant" in row
    denied = re.search(r"<code>accounts:user:create</code>.*?</tr>", page, re.S).group()
    assert "Denied" in denied
    assert all(f"<code>{p.name}</code>" in page for p in registry.all_permissions())
    assert f'href="/access/groups/{world.contractors.pk}/">contractors</a>' in page  # alice's groups, nested too
    assert f"/access/simulator/?user={alice.pk}" in page


def test_simulator_names_the_forbid_outside_office_hours(acme, admin, alice, world):
    with schema_context(acme.schema_name):
        services.policy_save(actor=admin.user, name="office-hours", text=OFFICE_HOURS, description="Daytime only")
    form = {"user": alice.pk, "action": "accounts:user:view", "now": "2026-03-04T22:00"}
    night = admin.post("/access/simulator/", form, **HTMX)
    panel = text(night)
    assert night.status_code == 200 and panel.lstrip().startswith('<div id="simulator"') and "<html" not in panel
    assert "Denied" in panel and "Allowed</span>" not in panel
    assert "<code>policy/office-hours</code>" in panel and ">forbid</span>" in panel
    assert "Forbidden by Tenant policy &#x27;office-hours&#x27;: Daytime only." in panel
    assert '<code>context.hour</code></dt><dd class="col-8">22</dd>' in panel
    assert '<code>context.weekday</code></dt><dd class="col-8">3</dd>' in panel
    day = text(admin.post("/access/simulator/", {**form, "now": "2026-03-04T10:00"}, **HTMX))
    assert "Allowed</span>" in day and f"<code>assignment/{world.assignment.pk}</code>" in day
    assert "policy/office-hours" not in day
    assert f"/access/users/{alice.pk}/permissions/" in day


def test_simulator_reads_tags_address_and_mfa(acme, admin, alice, world):
    with schema_context(acme.schema_name):
        services.policy_save(
            actor=admin.user,
            name="prod-from-office",
            text=(
                'forbid(principal, action, resource) when { resource.hasTag("environment") && '
                'resource.getTag("environment") == "prod" && '
                '!(context has ip && context.ip.isInRange(ip("10.0.0.0/8"))) };'
            ),
        )
    form = {"user": alice.pk, "action": "accounts:user:view", "resource_kind": "accounts:user", "resource_id": "1"}
    outside = text(admin.post("/access/simulator/", {**form, "tags": "environment=prod", "ip": "192.0.2.1"}, **HTMX))
    assert "<code>policy/prod-from-office</code>" in outside and "192.0.2.1" in outside
    inside = text(
        admin.post("/access/simulator/", {**form, "tags": "environment=prod", "ip": "10.1.2.3", "mfa": "yes"}, **HTMX)
    )
    assert "Allowed</span>" in inside and '<code>context.mfa</code></dt><dd class="col-8">True</dd>' in inside


def test_simulator_shows_bad_input_as_form_errors(admin, alice):
    base = {"user": alice.pk, "action": "accounts:user:view"}
    tags = admin.post("/access/simulator/", {**base, "tags": "environment"}, **HTMX)
    assert tags.status_code == 200 and "Line 1: write key=value." in text(tags)
    kind = text(admin.post("/access/simulator/", {**base, "resource_kind": "access:role", "resource_id": "1"}, **HTMX))
    assert "&#x27;accounts:user:view&#x27; does not apply to a access:role." in kind
    address = admin.post("/access/simulator/", {**base, "ip": "not-an-ip"})
    assert address.status_code == 400 and text(address).startswith("<!doctype html>")
    assert "Enter a valid IPv4 or IPv6 address." in text(address)
    unknown = text(admin.post("/access/simulator/", {"user": 999999, "action": "nope"}, **HTMX))
    assert "Select a valid choice." in unknown
    prefilled = text(admin.get("/access/simulator/", {"user": alice.pk, "action": "accounts:user:view"}))
    assert f'<option value="{alice.pk}" selected>' in prefilled


# --- Object grants ------------------------------------------------------------------------------


def test_granting_and_withdrawing_a_permission_on_one_object(acme, admin, alice, world):
    page = text(admin.get("/access/grants/"))
    assert "No object grants yet." in page and 'name="kind"' in page and "access:group:view" in page
    granted = admin.post(
        "/access/grants/add/",
        {"permission": "access:group:view", "kind": "access:group", "object_id": world.staff.pk, "user": alice.pk},
    )
    assert flashes(granted) == ["'access:group:view' was granted."]
    listed = text(admin.get("/access/grants/", {"kind": "access:group"}, **HTMX))
    assert "alice@acme.test" in listed and "access:group:view" in listed and ">Withdraw</button>" in listed
    assert 'name="csrfmiddlewaretoken"' in listed
    assert "alice@acme.test" not in text(admin.get("/access/grants/", {"kind": "access:role"}, **HTMX))
    withdrawn = admin.post(
        "/access/grants/remove/",
        {"permission": "access:group:view", "kind": "access:group", "object_id": world.staff.pk, "user": alice.pk},
    )
    assert flashes(withdrawn) == ["'access:group:view' was withdrawn."]
    assert "No object grants yet." in text(admin.get("/access/grants/"))


def test_grant_errors_are_shown_on_the_form(admin, alice, world):
    missing = admin.post(
        "/access/grants/add/",
        {"permission": "access:group:view", "kind": "access:group", "object_id": "999999", "group": world.staff.pk},
    )
    assert missing.status_code == 400 and "There is no group &#x27;999999&#x27;." in text(missing)
    mismatch = admin.post(
        "/access/grants/add/",
        {"permission": "access:role:view", "kind": "access:group", "object_id": world.staff.pk, "user": alice.pk},
    )
    assert mismatch.status_code == 400 and "is not a permission on groups" in text(mismatch)
    for object_id in ("1", "999999"):
        # The same answer whether the (provider's) object exists or not: the tier is checked first.
        above = admin.post(
            "/access/grants/add/",
            {"permission": "tenancy:tenant:view", "kind": "tenancy:tenant", "object_id": object_id, "user": alice.pk},
        )
        assert above.status_code == 400
        assert "You cannot grant &#x27;tenancy:tenant:view&#x27;: it is above your tier (Tenant admin)." in text(above)
