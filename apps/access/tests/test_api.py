"""The access-control API (/api/v1/access/): roles, groups, assignments, policies, grants and decisions."""

import itertools

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.access import services
from apps.access.models import Group, Policy, Role, RoleAssignment
from apps.accounts.models import User
from apps.accounts.tests.test_users_api import api_client, make_user, problem, sign_in

pytestmark = pytest.mark.django_db

API = "/api/v1/access"
ELSEWHERE = 2_000_000_000  # an id that exists in one schema only (ids repeat across schemas)


def post(client, path, body=None):
    return client.post(f"{API}/{path}", body if body is not None else {}, content_type="application/json")


def patch(client, path, body):
    return client.patch(f"{API}/{path}", body, content_type="application/json")


def get(client, path, params=None):
    return client.get(f"{API}/{path}", params or {})


def delete(client, path):
    return client.delete(f"{API}/{path}")


def ok(response, status=200):
    assert response.status_code == status, response.content
    return response.json() if response.content else None


# --- Fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def boss(acme):
    return make_user(acme, "boss@acme.test", is_tenant_admin=True)


@pytest.fixture
def admin_api(acme, boss):
    return api_client(acme, boss)


@pytest.fixture
def carol(acme):
    return make_user(acme, "carol@acme.test", display_name="Carol")


@pytest.fixture
def holder(acme, boss):
    """``holder(email, role_name)``: an acme user holding that role over the whole tenant, and their API client."""

    def make(email: str, role_name: str):
        user = make_user(acme, email)
        with schema_context(acme.schema_name):
            services.role_assign(actor=boss, role=Role.objects.get(name=role_name), user=user)
        return user, api_client(acme, user)

    return make


@pytest.fixture
def custom_role(acme, boss):
    with schema_context(acme.schema_name):
        return services.role_create(
            actor=boss, name="helpdesk", label="Helpdesk", permissions=["accounts:user:view", "accounts:user:unlock"]
        )


@pytest.fixture
def group(acme):
    with schema_context(acme.schema_name):
        return services.group_create(name="Engineers", description="Builders")


def _in(tenant, function, *args, **kwargs):
    with schema_context(tenant.schema_name):
        return function(*args, **kwargs)


# --- Roles ---------------------------------------------------------------------------------------------


def test_roles_list_system_and_custom_with_their_permissions_and_tier(admin_api, custom_role):
    body = ok(get(admin_api, "roles/"))
    assert body["count"] == 9
    helpdesk = next(row for row in body["results"] if row["name"] == "helpdesk")
    assert helpdesk["permissions"] == ["accounts:user:unlock", "accounts:user:view"]
    assert (helpdesk["tier"], helpdesk["is_system"], helpdesk["assignment_count"]) == ("tenant_admin", False, 0)
    system = ok(get(admin_api, "roles/", {"system": "true"}))["results"]
    assert len(system) == 8 and all(row["is_system"] for row in system)
    assert [row["name"] for row in ok(get(admin_api, "roles/", {"system": "false"}))["results"]] == ["helpdesk"]
    assert [row["name"] for row in ok(get(admin_api, "roles/", {"q": "HELPDESK"}))["results"]] == ["helpdesk"]
    granting = {row["name"] for row in ok(get(admin_api, "roles/", {"permission": "accounts:user:unlock"}))["results"]}
    assert "helpdesk" in granting and "read_only" not in granting
    assert "system" in problem(get(admin_api, "roles/", {"system": "banana"}), 400)["errors"]


def test_a_role_is_created_read_changed_and_deleted(admin_api, acme):
    created = ok(
        post(
            admin_api,
            "roles/",
            {"label": "Support desk", "description": "First line", "permissions": ["accounts:user:view"]},
        ),
        201,
    )
    assert (created["name"], created["tier"], created["permissions"]) == (
        "support-desk",
        "user",
        ["accounts:user:view"],
    )
    role_id = created["id"]
    assert ok(get(admin_api, f"roles/{role_id}/"))["label"] == "Support desk"
    changed = ok(patch(admin_api, f"roles/{role_id}/", {"permissions": ["accounts:user:view", "accounts:user:unlock"]}))
    assert changed["tier"] == "tenant_admin" and changed["description"] == "First line"
    ok(delete(admin_api, f"roles/{role_id}/"), 204)
    assert not _in(acme, Role.objects.filter(pk=role_id).exists)


def test_unknown_permissions_and_bad_fields_are_400_problems(admin_api):
    body = problem(post(admin_api, "roles/", {"label": "X", "permissions": ["accounts:user:fly"]}), 400)
    assert body["errors"]["permissions"] == ["Unknown permissions: accounts:user:fly."]
    assert "permissions" in problem(post(admin_api, "roles/", {"label": "X", "permissions": "accounts"}), 400)["errors"]
    assert problem(post(admin_api, "roles/", {"label": "X", "permissions": [], "is_system": True}), 400)["errors"][
        "is_system"
    ] == ["This field is not accepted here."]
    ok(post(admin_api, "roles/", {"label": "Twice", "permissions": []}), 201)
    assert (
        "already exists"
        in problem(post(admin_api, "roles/", {"label": "Twice", "permissions": []}), 400)["errors"]["name"][0]
    )


def test_system_roles_and_assigned_roles_are_not_changed_or_deleted(admin_api, acme, boss, carol, custom_role):
    operator = _in(acme, Role.objects.get, name="operator")
    assert "cannot be changed" in problem(patch(admin_api, f"roles/{operator.pk}/", {"label": "Mine"}), 400)["detail"]
    assert "cannot be deleted" in problem(delete(admin_api, f"roles/{operator.pk}/"), 400)["detail"]
    _in(acme, services.role_assign, actor=boss, role=custom_role, user=carol)
    assert "still assigned" in problem(delete(admin_api, f"roles/{custom_role.pk}/"), 400)["detail"]
    assert _in(acme, Role.objects.filter(pk=custom_role.pk).exists)


def test_a_role_maker_cannot_write_a_role_above_their_own_tier(acme, boss):
    """Tiers come from the roles one holds: a role of access:* permissions lifts its holder to Tenant admin."""
    with schema_context(acme.schema_name):
        maker_role = services.role_create(
            actor=boss, name="role-maker", label="Role maker", permissions=["access:role:create"]
        )
    bob = make_user(acme, "bob@acme.test")
    _in(acme, services.role_assign, actor=boss, role=maker_role, user=bob)
    bob_api = api_client(acme, bob)
    refused = problem(post(bob_api, "roles/", {"label": "Tenants", "permissions": ["tenancy:tenant:create"]}), 403)
    assert refused["detail"] == (
        "A role you write cannot grant more than your own tier (Tenant admin): tenancy:tenant:create."
    )
    # Within that tier, still only what he holds himself: no escalation by writing roles.
    refused = problem(post(bob_api, "roles/", {"label": "Unlockers", "permissions": ["accounts:user:unlock"]}), 403)
    assert "do not hold yourself (accounts:user:unlock)" in refused["detail"]
    ok(post(bob_api, "roles/", {"label": "Role makers too", "permissions": ["access:role:create"]}), 201)
    # And nothing else: he may not list roles or delete them.
    problem(get(bob_api, "roles/"), 403)


def test_someone_allowed_to_create_roles_by_a_policy_stays_in_the_user_tier(admin_api, acme, carol):
    """A tenant policy may open ``access:role:create`` to a plain user; the roles she writes stay at her tier."""
    text = f'permit(principal == Nimbus::User::"{carol.pk}", action == Nimbus::Action::"access:role:create", resource);'
    ok(post(admin_api, "policies/", {"name": "carol-makes-roles", "text": text}), 201)
    carol_api = api_client(acme, carol)
    refused = problem(post(carol_api, "roles/", {"label": "Admins", "permissions": ["accounts:user:create"]}), 403)
    assert refused["detail"] == ("A role you write cannot grant more than your own tier (User): accounts:user:create.")
    assert not _in(acme, Role.objects.filter(name="admins").exists)
    refused = problem(post(carol_api, "roles/", {"label": "Viewers", "permissions": ["accounts:user:view"]}), 403)
    assert "do not hold yourself (accounts:user:view)" in refused["detail"]
    ok(post(carol_api, "roles/", {"label": "Empty for now", "permissions": []}), 201)


def test_a_plain_user_gets_403_on_lists_and_writes_and_404_on_objects(acme, carol, custom_role, group):
    carol_api = api_client(acme, carol)
    for path in ("roles/", "permissions/", "groups/", "assignments/", "policies/", "grants/"):
        assert problem(get(carol_api, path), 403)["code"] == "permission_denied", path
    for path, body in [
        ("roles/", {"label": "X", "permissions": []}),
        ("groups/", {"name": "X"}),
        ("assignments/", {"role": custom_role.pk, "user": carol.pk}),
        ("policies/", {"name": "x", "text": "permit(principal, action, resource);"}),
        ("policies/validate/", {"text": "permit(principal, action, resource);"}),
        ("grants/", {"permission": "access:group:view", "kind": "access:group", "object_id": "1", "user": carol.pk}),
        ("grants/remove/", {"permission": "access:group:view", "kind": "access:group", "object_id": "1"}),
        ("simulate/", {"user": carol.pk, "action": "accounts:user:view"}),
    ]:
        detail = problem(post(carol_api, path, body), 403)["detail"]
        assert detail.startswith("You do not hold the permission 'access:"), (path, detail)
    problem(get(carol_api, f"roles/{custom_role.pk}/"), 404)
    problem(patch(carol_api, f"roles/{custom_role.pk}/", {"label": "Mine"}), 404)
    problem(delete(carol_api, f"groups/{group.pk}/"), 404)
    problem(post(carol_api, f"groups/{group.pk}/members/", {"user": carol.pk}), 404)
    assert not _in(acme, Group.objects.get, pk=group.pk).members.exists()


def test_who_may_see_a_role_but_not_delete_it_gets_403_with_the_reason(holder, custom_role):
    _auditor, auditor_api = holder("audrey@acme.test", "auditor")
    assert ok(get(auditor_api, f"roles/{custom_role.pk}/"))["name"] == "helpdesk"
    body = problem(delete(auditor_api, f"roles/{custom_role.pk}/"), 403)
    assert body["detail"] == "You do not hold the permission 'access:role:delete' (delete custom roles)."
    # Someone who may not even see roles is told nothing about this one.
    _operator, operator_api = holder("otto@acme.test", "operator")
    assert problem(get(operator_api, f"roles/{custom_role.pk}/"), 404)["detail"] == "No such object."
    problem(delete(operator_api, f"roles/{custom_role.pk}/"), 404)


def test_the_registry_lists_each_permission_with_its_tier_and_granting_system_roles(admin_api):
    body = ok(get(admin_api, "permissions/"))
    rows = {row["name"]: row for row in body["results"]}
    assert rows["access:role:view"]["tier"] == "tenant_admin"
    assert rows["access:role:view"]["label"] == "See roles and what they grant"
    assert set(rows["access:role:view"]["system_roles"]) == {
        "provider_admin",
        "provider_operator",
        "tenant_admin",
        "security_admin",
        "auditor",
    }
    assert rows["tenancy:tenant:delete"]["system_roles"] == ["provider_admin"]
    provider_only = ok(get(admin_api, "permissions/", {"tier": "provider"}))["results"]
    assert provider_only and {row["tier"] for row in provider_only} == {"provider"}
    assert {row["name"] for row in ok(get(admin_api, "permissions/", {"q": "unlock"}))["results"]} == {
        "accounts:user:unlock"
    }
    assert "tier" in problem(get(admin_api, "permissions/", {"tier": "god"}), 400)["errors"]


# --- Groups --------------------------------------------------------------------------------------------


def test_a_group_is_created_listed_renamed_and_deleted(admin_api, acme):
    created = ok(post(admin_api, "groups/", {"name": "Operations", "description": "Night shift"}), 201)
    assert (created["member_count"], created["children"], created["parents"]) == (0, [], [])
    group_id = created["id"]
    assert [row["name"] for row in ok(get(admin_api, "groups/", {"q": "opera"}))["results"]] == ["Operations"]
    renamed = ok(patch(admin_api, f"groups/{group_id}/", {"name": "Ops"}))
    assert (renamed["name"], renamed["description"]) == ("Ops", "Night shift")
    assert "already exists" in problem(post(admin_api, "groups/", {"name": "ops"}), 400)["errors"]["name"][0]
    assert "name" in problem(post(admin_api, "groups/", {"name": 'a"b'}), 400)["errors"]
    ok(delete(admin_api, f"groups/{group_id}/"), 204)
    assert not _in(acme, Group.objects.exists)


def test_members_are_added_listed_and_removed(admin_api, acme, group, carol):
    path = f"groups/{group.pk}/members/"
    assert ok(post(admin_api, path, {"user": carol.pk}), 201)["email"] == "carol@acme.test"
    assert ok(post(admin_api, path, {"user": carol.pk}), 200)["id"] == carol.pk
    body = ok(get(admin_api, path))
    assert body["count"] == 1 and body["results"][0]["email"] == "carol@acme.test"
    assert ok(get(admin_api, f"groups/{group.pk}/"))["member_count"] == 1
    ok(delete(admin_api, f"{path}{carol.pk}/"), 204)
    problem(delete(admin_api, f"{path}{carol.pk}/"), 404)
    assert problem(post(admin_api, path, {"user": 987654}), 400)["errors"]["user"] == [
        "There is no user with id 987654 in this tenant."
    ]


def test_nesting_shows_in_effective_members_and_refuses_cycles_and_depth(admin_api, acme, group, carol):
    with schema_context(acme.schema_name):
        team = services.group_create(name="Team")
        everyone = services.group_create(name="Everyone")
        services.group_member_add(group=team, user=carol)
    ok(post(admin_api, f"groups/{group.pk}/children/", {"group": team.pk}), 201)
    ok(post(admin_api, f"groups/{group.pk}/children/", {"group": team.pk}), 200)
    ok(post(admin_api, f"groups/{everyone.pk}/children/", {"group": group.pk}), 201)
    assert [row["name"] for row in ok(get(admin_api, f"groups/{group.pk}/children/"))["results"]] == ["Team"]
    assert ok(get(admin_api, f"groups/{group.pk}/"))["parents"] == [everyone.pk]
    members = ok(get(admin_api, f"groups/{everyone.pk}/effective-members/"))
    assert [row["email"] for row in members["results"]] == ["carol@acme.test"]
    assert ok(get(admin_api, f"groups/{everyone.pk}/members/"))["count"] == 0

    cycle = problem(post(admin_api, f"groups/{team.pk}/children/", {"group": everyone.pk}), 400)
    assert cycle["detail"] == "'Everyone' already contains 'Team': nesting it would make a cycle."
    assert "cycle" in problem(post(admin_api, f"groups/{team.pk}/children/", {"group": team.pk}), 400)["detail"]

    with schema_context(acme.schema_name):
        chain = [services.group_create(name=f"level-{n}") for n in range(10)]
        for outer, inner in itertools.pairwise(chain):
            services.group_nest(parent=outer, child=inner)
        eleventh = services.group_create(name="level-10")
    deep = problem(post(admin_api, f"groups/{chain[-1].pk}/children/", {"group": eleventh.pk}), 400)
    assert deep["detail"] == "Groups nest at most 10 levels deep."

    ok(delete(admin_api, f"groups/{group.pk}/children/{team.pk}/"), 204)
    problem(delete(admin_api, f"groups/{group.pk}/children/{team.pk}/"), 404)
    assert ok(get(admin_api, f"groups/{everyone.pk}/effective-members/"))["count"] == 0


def test_a_group_named_by_a_policy_is_neither_renamed_nor_deleted(admin_api, group):
    text = 'permit(principal in Nimbus::Group::"Engineers", action == Nimbus::Action::"accounts:user:view", resource);'
    ok(post(admin_api, "policies/", {"name": "engineers-see-users", "text": text}), 201)
    assert (
        "Policies name this group"
        in problem(patch(admin_api, f"groups/{group.pk}/", {"name": "Eng"}), 400)["errors"]["name"][0]
    )
    assert "engineers-see-users" in problem(delete(admin_api, f"groups/{group.pk}/"), 400)["detail"]


# --- Assignments -----------------------------------------------------------------------------------------


def test_roles_are_assigned_to_users_and_groups_listed_and_taken_away(admin_api, acme, custom_role, carol, group):
    to_carol = ok(post(admin_api, "assignments/", {"role": custom_role.pk, "user": carol.pk}), 201)
    assert (to_carol["role_name"], to_carol["user_email"], to_carol["group"], to_carol["scope_type"]) == (
        "helpdesk",
        "carol@acme.test",
        None,
        "tenant",
    )
    operator = _in(acme, Role.objects.get, name="operator")
    to_group = ok(post(admin_api, "assignments/", {"role": operator.pk, "group": group.pk}), 201)
    assert (to_group["group_name"], to_group["user"]) == ("Engineers", None)

    def ids(**params):
        return [row["id"] for row in ok(get(admin_api, "assignments/", params))["results"]]

    assert ids() == [to_carol["id"], to_group["id"]]
    assert ids(role=custom_role.pk) == [to_carol["id"]]
    assert ids(user=carol.pk) == [to_carol["id"]]
    assert ids(group=group.pk) == [to_group["id"]]
    assert ids(scope_type="tenant") == [to_carol["id"], to_group["id"]]
    assert ids(scope_type="cmdb:compartment") == []
    assert "role" in problem(get(admin_api, "assignments/", {"role": "abc"}), 400)["errors"]
    assert ok(get(admin_api, f"assignments/{to_carol['id']}/"))["role"] == custom_role.pk

    ok(delete(admin_api, f"assignments/{to_carol['id']}/"), 204)
    assert ids() == [to_group["id"]]


def test_assignments_are_refused_with_the_services_reasons(admin_api, acme, custom_role, carol, group):
    ok(post(admin_api, "assignments/", {"role": custom_role.pk, "user": carol.pk}), 201)
    assert problem(post(admin_api, "assignments/", {"role": custom_role.pk, "user": carol.pk}), 400)["detail"] == (
        "That role is already assigned there."
    )
    both = problem(post(admin_api, "assignments/", {"role": custom_role.pk, "user": carol.pk, "group": group.pk}), 400)
    assert both["detail"] == "Assign a role to exactly one user or one group."
    problem(post(admin_api, "assignments/", {"role": custom_role.pk}), 400)
    unknown_scope = problem(
        post(admin_api, "assignments/", {"role": custom_role.pk, "group": group.pk, "scope_type": "cmdb:rack"}), 400
    )
    assert unknown_scope["errors"]["scope_type"][0].startswith("Unknown scope type 'cmdb:rack'")
    with_id = problem(
        post(admin_api, "assignments/", {"role": custom_role.pk, "group": group.pk, "scope_id": "7"}), 400
    )
    assert with_id["errors"]["scope_id"] == ["The whole-tenant scope takes no id."]
    assert problem(post(admin_api, "assignments/", {"role": 424242, "user": carol.pk}), 400)["errors"]["role"] == [
        "There is no role with id 424242 in this tenant."
    ]


def test_a_tenant_admin_cannot_hand_out_a_provider_role(admin_api, acme, carol):
    provider_admin = _in(acme, Role.objects.get, name="provider_admin")
    body = problem(post(admin_api, "assignments/", {"role": provider_admin.pk, "user": carol.pk}), 403)
    assert "provider_admin" in body["detail"] and "above your tier" in body["detail"]
    assert not _in(acme, RoleAssignment.objects.exists)


# --- Policies ---------------------------------------------------------------------------------------------

PERMIT = 'permit(principal, action == Nimbus::Action::"accounts:user:view", resource);'


def test_a_policy_is_written_read_changed_and_deleted(admin_api, acme, boss):
    created = ok(post(admin_api, "policies/", {"name": "All see users", "description": "Open", "text": PERMIT}), 201)
    assert (created["name"], created["enabled"], created["statements"]) == (
        "all-see-users",
        True,
        ["policy/all-see-users"],
    )
    assert created["updated_by"] == boss.pk
    assert [row["name"] for row in ok(get(admin_api, "policies/"))["results"]] == ["all-see-users"]
    policy_id = created["id"]
    disabled = ok(patch(admin_api, f"policies/{policy_id}/", {"enabled": False}))
    assert (disabled["enabled"], disabled["description"], disabled["text"]) == (False, "Open", PERMIT)
    assert ok(get(admin_api, "policies/", {"enabled": "true"}))["count"] == 0
    two = PERMIT + "\n" + PERMIT.replace("permit", "forbid").replace("resource)", "resource) when { false }")
    assert ok(patch(admin_api, f"policies/{policy_id}/", {"text": two}))["statements"] == [
        "policy/all-see-users/1",
        "policy/all-see-users/2",
    ]
    problem(patch(admin_api, f"policies/{policy_id}/", {"name": "renamed"}), 400)
    ok(delete(admin_api, f"policies/{policy_id}/"), 204)
    assert not _in(acme, Policy.objects.exists)


def test_invalid_cedar_is_refused_with_line_and_column(admin_api, acme):
    text = "permit(principal, action, resource)\nwhen { principal.shoe_size > 3 };"
    body = problem(post(admin_api, "policies/", {"name": "shoes", "text": text}), 400)
    assert body["errors"]["text"] == [
        "line 2, column 18: statement 1: attribute `shoe_size` on entity type `Nimbus::User` not found"
    ]
    syntax = problem(
        post(admin_api, "policies/", {"name": "typo", "text": "permitt(principal, action, resource);"}), 400
    )
    assert syntax["errors"]["text"] == ["line 1, column 1: invalid policy effect: permitt"]
    assert not _in(acme, Policy.objects.exists)
    saved = ok(post(admin_api, "policies/", {"name": "fine", "text": PERMIT}), 201)
    assert (
        "line 1"
        in problem(patch(admin_api, f"policies/{saved['id']}/", {"text": "permit(;"}), 400)["errors"]["text"][0]
    )
    assert _in(acme, Policy.objects.get, pk=saved["id"]).text == PERMIT


def test_validate_reports_problems_with_positions_and_never_fails(admin_api):
    assert ok(post(admin_api, "policies/validate/", {"text": PERMIT})) == {"valid": True, "problems": []}
    body = ok(post(admin_api, "policies/validate/", {"text": "permit(principal, action, resource)\nwhen { nope };"}))
    assert body == {"valid": False, "problems": [{"message": "invalid variable: nope", "line": 2, "column": 8}]}
    unknown_group = 'permit(principal in Nimbus::Group::"Ghosts", action, resource);'
    assert ok(post(admin_api, "policies/validate/", {"text": unknown_group}))["problems"] == [
        {"message": "There is no group named 'Ghosts'.", "line": 1, "column": 36}
    ]
    hostile = [
        "",
        "permit(principal, action, resource) when { " + "(" * 1500 + "true" + ")" * 1500 + " };",
        "permit(principal, action, resource) when { " + " || ".join(["true"] * 1500) + " };",
        "permit(principal, action, resource) when { " + " || ".join(["true"] * 300) + " };",
        "permit(principal, action, resource) when { " + "[" * 900 + "]" * 900 + " == [] };",
        "x" * 30_000,
        "permit(?principal, action, resource);",
        'permit(principal, action == Nimbus::Action::"access:policy:update", resource);',
    ]
    for text in hostile:
        body = ok(post(admin_api, "policies/validate/", {"text": text}))
        assert body["valid"] is False and body["problems"], text[:60]
    deep = "permit(principal, action, resource) when { " + "(" * 60 + "true" + ")" * 60 + " };"
    assert ok(post(admin_api, "policies/validate/", {"text": deep}))["problems"] == [
        {"message": "Brackets nest more than 50 levels deep here; simplify the condition.", "line": 1, "column": 93}
    ]
    assert "text" in problem(post(admin_api, "policies/validate/", {"text": ["permit"]}), 400)["errors"]
    # Not text at all (PostgreSQL could not even store it): refused before Cedar sees it.
    assert "text" in problem(post(admin_api, "policies/validate/", {"text": "permit\x00"}), 400)["errors"]


# --- Object grants ----------------------------------------------------------------------------------------


def test_a_grant_on_one_group_lets_a_plain_user_see_and_change_that_group_only(admin_api, acme, group, carol):
    with schema_context(acme.schema_name):
        other = services.group_create(name="Other")
    carol_api = api_client(acme, carol)
    problem(get(carol_api, f"groups/{group.pk}/"), 404)
    grant = {"kind": "access:group", "object_id": str(group.pk), "user": carol.pk}
    viewed = ok(post(admin_api, "grants/", {**grant, "permission": "access:group:view"}), 201)
    assert viewed == {
        "id": viewed["id"],
        "principal_type": "user",
        "principal_id": carol.pk,
        "principal_name": "carol@acme.test",
        "kind": "access:group",
        "object_id": str(group.pk),
        "permission": "access:group:view",
    }
    # She may list groups now, and sees the one granted to her only.
    assert [row["name"] for row in ok(get(carol_api, "groups/"))["results"]] == ["Engineers"]
    problem(get(carol_api, f"groups/{other.pk}/"), 404)
    assert (
        "access:group:update" in problem(patch(carol_api, f"groups/{group.pk}/", {"description": "x"}), 403)["detail"]
    )
    ok(post(admin_api, "grants/", {**grant, "permission": "access:group:update"}), 201)
    assert ok(patch(carol_api, f"groups/{group.pk}/", {"description": "Mine now"}))["description"] == "Mine now"

    listed = ok(get(admin_api, "grants/", {"kind": "access:group", "object_id": str(group.pk)}))
    assert sorted(row["permission"] for row in listed["results"]) == ["access:group:update", "access:group:view"]
    assert ok(get(admin_api, "grants/", {"object_id": str(other.pk), "kind": "access:group"}))["count"] == 0

    ok(post(admin_api, "grants/remove/", {**grant, "permission": "access:group:view"}), 204)
    ok(post(admin_api, "grants/remove/", {**grant, "permission": "access:group:update"}), 204)
    assert ok(get(admin_api, "grants/"))["count"] == 0
    problem(get(carol_api, f"groups/{group.pk}/"), 404)


def test_grants_to_groups_and_refusals(admin_api, acme, group, custom_role):
    granted = ok(
        post(
            admin_api,
            "grants/",
            {
                "permission": "access:role:view",
                "kind": "access:role",
                "object_id": str(custom_role.pk),
                "group": group.pk,
            },
        ),
        201,
    )
    assert (granted["principal_type"], granted["principal_id"], granted["principal_name"]) == (
        "group",
        group.pk,
        "Engineers",
    )
    base = {"kind": "access:group", "object_id": str(group.pk), "group": group.pk}
    assert problem(post(admin_api, "grants/", {**base, "permission": "access:group:fly"}), 400)["errors"][
        "permission"
    ] == ["Unknown permission 'access:group:fly'."]
    assert (
        "not a permission on groups"
        in problem(post(admin_api, "grants/", {**base, "permission": "access:role:view"}), 400)["errors"]["permission"][
            0
        ]
    )
    assert problem(post(admin_api, "grants/", {**base, "permission": "access:group:view", "object_id": "999999"}), 400)[
        "errors"
    ]["object_id"] == ["There is no group '999999'."]
    assert problem(post(admin_api, "grants/", {**base, "permission": "access:group:view", "kind": "x:y"}), 400)[
        "errors"
    ]["kind"] == ["'x:y' objects cannot be granted one by one."]
    assert problem(post(admin_api, "grants/", {**base, "permission": "access:group:view", "group": None}), 400)[
        "detail"
    ] == ("Grant to exactly one user or one group.")
    assert "kind" in problem(get(admin_api, "grants/", {"kind": "nope:nothing"}), 400)["errors"]
    provider = {"kind": "tenancy:tenant", "object_id": "1", "group": group.pk, "permission": "tenancy:tenant:view"}
    problem(post(admin_api, "grants/", provider), 403)


# --- Decisions ----------------------------------------------------------------------------------------------


def test_effective_permissions_show_each_decision_reasons_and_scopes(admin_api, holder, boss):
    alice, alice_api = holder("alice@acme.test", "operator")
    body = ok(get(admin_api, f"effective-permissions/{alice.pk}/"))
    assert body["user"]["email"] == "alice@acme.test"
    rows = {row["permission"]: row for row in body["permissions"]}
    view = rows["accounts:user:view"]
    assert view["allowed"] is True and view["tier"] == "user" and view["label"] == "See the tenant's users"
    assert view["scopes"] == [{"scope_type": "tenant", "scope_id": ""}]
    assert view["reasons"][0]["kind"] == "assignment" and "operator" in view["reasons"][0]["text"]
    assert rows["accounts:user:create"] == {
        "permission": "accounts:user:create",
        "label": "Add users and send invitations",
        "tier": "tenant_admin",
        "allowed": False,
        "reasons": [],
        "scopes": [],
    }
    # Everyone may look at their own; only simulators at others'.
    assert ok(get(alice_api, f"effective-permissions/{alice.pk}/"))["user"]["id"] == alice.pk
    assert "access:decision:simulate" in problem(get(alice_api, f"effective-permissions/{boss.pk}/"), 403)["detail"]
    problem(get(admin_api, "effective-permissions/987654/"), 404)
    boss_rows = {
        row["permission"]: row for row in ok(get(admin_api, f"effective-permissions/{boss.pk}/"))["permissions"]
    }
    assert boss_rows["access:role:create"]["reasons"][0]["id"] == "builtin/tenant-admin"
    assert boss_rows["tenancy:tenant:create"]["allowed"] is False


def test_the_simulator_answers_with_reasons_and_context(admin_api, holder):
    alice, _ = holder("alice@acme.test", "operator")
    allowed = ok(post(admin_api, "simulate/", {"user": alice.pk, "action": "accounts:user:view"}))
    assert (allowed["allowed"], allowed["decision"], allowed["message"]) == (True, "allow", "Allowed.")
    assert allowed["reasons"][0]["kind"] == "assignment" and allowed["context"]["source"] == "simulator"

    forbid = (
        'forbid(principal, action == Nimbus::Action::"accounts:user:view", resource)\n'
        "when { context has mfa && !context.mfa };"
    )
    ok(post(admin_api, "policies/", {"name": "mfa-for-users", "description": "MFA first", "text": forbid}), 201)
    question = {
        "user": alice.pk,
        "action": "accounts:user:view",
        "resource": {
            "kind": "accounts:user",
            "id": "42",
            "tags": {"env": "prod"},
            "scopes": [["cmdb:compartment", "7"]],
        },
        "context": {"now": "2026-01-05T09:30:00Z", "ip": "10.0.0.7", "mfa": False, "source": "web"},
    }
    denied = ok(post(admin_api, "simulate/", question))
    assert (denied["allowed"], denied["decision"]) == (False, "deny")
    assert denied["reasons"] == [
        {
            "id": "policy/mfa-for-users",
            "kind": "policy",
            "effect": "forbid",
            "text": "Tenant policy 'mfa-for-users': MFA first",
            "policy": "mfa-for-users",
        }
    ]
    assert denied["context"] == {
        "now": "2026-01-05T09:30:00Z",
        "ip": "10.0.0.7",
        "hour": 9,
        "minute_of_day": 570,
        "weekday": 1,
        "source": "web",
        "mfa": False,
    }
    question["context"]["mfa"] = True
    assert ok(post(admin_api, "simulate/", question))["allowed"] is True


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"action": "accounts:user:fly"}, "detail"),
        ({"action": "accounts:user:view", "resource": {"kind": "access:role", "id": "1"}}, "detail"),
        ({"action": "accounts:user:view", "context": {"weather": "rain"}}, "context"),
        ({"action": "accounts:user:view", "context": {"ip": "not-an-address"}}, "context"),
        ({"action": "accounts:user:view", "context": {"now": "yesterday"}}, "context"),
        ({"action": "accounts:user:view", "context": {"source": "carrier-pigeon"}}, "context"),
        ({"action": "accounts:user:view", "resource": {"scopes": [["tenant"]]}}, "resource"),
        ({"action": "accounts:user:view", "resource": {"tags": ["env"]}}, "resource"),
        ({"action": "accounts:user:view", "resource": "tenant"}, "resource"),
        ({"action": ["accounts:user:view"]}, "action"),
        ({"action": "accounts:user:view", "user": 987654}, "user"),
    ],
)
def test_the_simulator_refuses_bad_questions_with_400(admin_api, carol, body, where):
    response = post(admin_api, "simulate/", {"user": carol.pk, **body})
    answer = problem(response, 400)
    if where == "detail":
        assert answer["detail"] and "errors" not in answer
    else:
        assert where in answer["errors"]


# --- Tenancy --------------------------------------------------------------------------------------------------


def test_acme_credentials_are_worthless_on_globex(host_client, acme, globex, boss, admin_api):
    stolen_token = Client(HTTP_HOST="globex.localhost", HTTP_AUTHORIZATION=f"Bearer {admin_api.token}")
    problem(stolen_token.get(f"{API}/roles/"), 401)
    problem(stolen_token.post(f"{API}/groups/", {"name": "Pwned"}, content_type="application/json"), 401)
    acme_session, signed_in = sign_in(host_client, "acme.localhost", "boss@acme.test")
    assert signed_in
    stolen_session = host_client("globex.localhost")
    stolen_session.cookies["sessionid"] = acme_session.cookies["sessionid"].value
    problem(stolen_session.get(f"{API}/groups/"), 401)
    assert not _in(globex, Group.objects.filter(name="Pwned").exists)


def test_another_tenants_ids_do_not_exist_here(acme, globex):
    with schema_context(acme.schema_name):
        acme_group = Group.objects.create(pk=ELSEWHERE, name="Acme only")
        acme_user = User.objects.create(pk=ELSEWHERE, email="lonely@acme.test", password="!x")
    chief = make_user(globex, "chief@globex.test", is_tenant_admin=True)
    globex_api = api_client(globex, chief)
    for response in (
        get(globex_api, f"groups/{acme_group.pk}/"),
        patch(globex_api, f"groups/{acme_group.pk}/", {"name": "Mine"}),
        delete(globex_api, f"groups/{acme_group.pk}/"),
        get(globex_api, f"groups/{acme_group.pk}/members/"),
        post(globex_api, f"groups/{acme_group.pk}/members/", {"user": chief.pk}),
        get(globex_api, f"effective-permissions/{acme_user.pk}/"),
    ):
        problem(response, 404)
    assert ok(get(globex_api, "groups/"))["count"] == 0
    with schema_context(globex.schema_name):
        role = Role.objects.get(name="operator")
        globex_group = services.group_create(name="Globex people")
    assert problem(post(globex_api, "assignments/", {"role": role.pk, "user": acme_user.pk}), 400)["errors"][
        "user"
    ] == [f"There is no user with id {ELSEWHERE} in this tenant."]
    problem(post(globex_api, f"groups/{globex_group.pk}/members/", {"user": acme_user.pk}), 400)
    problem(post(globex_api, f"groups/{globex_group.pk}/children/", {"group": acme_group.pk}), 400)
    problem(post(globex_api, "simulate/", {"user": acme_user.pk, "action": "accounts:user:view"}), 400)
    assert _in(acme, Group.objects.get, pk=ELSEWHERE).name == "Acme only"


def test_the_provider_host_has_its_own_access_api(signed_in_client, provider):
    staff = signed_in_client(provider, email="root@nimbus.test", is_staff=True, is_superuser=True)
    names = {row["name"] for row in ok(staff.get(f"{API}/roles/", {"system": "true"}))["results"]}
    assert "provider_admin" in names


# --- Bad input ----------------------------------------------------------------------------------------------------


def test_anonymous_callers_get_401(host_client, acme, group):
    client = host_client("acme.localhost")
    assert problem(client.get(f"{API}/roles/"), 401)["code"] == "not_authenticated"
    problem(client.get(f"{API}/groups/{group.pk}/"), 401)
    problem(client.post(f"{API}/simulate/", {}, content_type="application/json"), 401)
    problem(client.get(f"{API}/effective-permissions/1/"), 401)


HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        (get, f"roles/{HUGE}/"),
        (delete, f"roles/{HUGE}/"),
        (get, f"groups/{HUGE}/members/"),
        (delete, "groups/{group}/members/" + HUGE + "/"),
        (delete, "groups/{group}/children/" + HUGE + "/"),
        (get, f"assignments/{HUGE}/"),
        (get, f"policies/{HUGE}/"),
        (get, f"effective-permissions/{HUGE}/"),
    ],
)
def test_huge_ids_in_urls_are_404(admin_api, group, method, path):
    problem(method(admin_api, path.format(group=group.pk)), 404)


def test_words_in_place_of_ids_are_not_routes(admin_api):
    assert admin_api.get(f"{API}/roles/abc/").status_code == 404
    assert admin_api.get(f"{API}/groups/-1/").status_code == 404


@pytest.mark.parametrize("user", [True, "abc", 1.5, [1], {"id": 1}, 99999999999999999999999, None])
def test_junk_ids_in_bodies_are_400(admin_api, group, user):
    body = problem(post(admin_api, f"groups/{group.pk}/members/", {"user": user}), 400)
    assert "user" in body["errors"]


def test_bodies_that_are_not_objects_are_400(admin_api, group):
    for path in (
        "roles/",
        "groups/",
        "assignments/",
        "policies/",
        "grants/",
        "simulate/",
        f"groups/{group.pk}/members/",
    ):
        problem(admin_api.post(f"{API}/{path}", "[1, 2]", content_type="application/json"), 400)
        problem(admin_api.post(f"{API}/{path}", "{nope", content_type="application/json"), 400)


# --- Query counts --------------------------------------------------------------------------------------------


def _grow(acme, boss, start: int, count: int) -> None:
    """``count`` more of everything the lists show: roles, groups with members and nesting, assignments, grants."""
    with schema_context(acme.schema_name):
        for n in range(start, start + count):
            person = User.objects.create(email=f"person{n}@acme.test", password="!x")
            role = services.role_create(actor=boss, name=f"role-{n}", label=f"Role {n}", permissions=[])
            group = services.group_create(name=f"Group {n}")
            services.group_member_add(group=group, user=person)
            if n > start:
                services.group_nest(parent=group, child=Group.objects.get(name=f"Group {n - 1}"))
            services.role_assign(actor=boss, role=role, user=person)
            services.role_assign(actor=boss, role=role, group=group)
            services.policy_save(actor=boss, name=f"policy-{n}", text=PERMIT)
            for grant in ({"user": person}, {"group": group}):
                services.object_grant_add(
                    actor=boss, permission="access:group:view", kind="access:group", object_id=group.pk, **grant
                )


def test_lists_cost_the_same_queries_for_many_rows_as_for_few(admin_api, acme, boss):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    paths = ["roles/", "permissions/", "groups/", "assignments/", "policies/", "grants/"]

    def counts():
        for path in paths:
            # Once first: after a change the engine prepares its policies again, and per-schema content-type ids
            # are looked up once per process; neither is a cost of the list.
            ok(get(admin_api, path))
        found = {}
        for path in paths:
            with CaptureQueriesContext(connection) as queries:
                ok(get(admin_api, path))
            found[path] = len(queries)
        return found

    _grow(acme, boss, 0, 2)
    few = counts()
    _grow(acme, boss, 2, 6)
    assert counts() == few


def test_other_methods_are_answered_without_errors(admin_api, group, custom_role):
    assert admin_api.options(f"{API}/roles/").status_code == 200
    assert admin_api.options(f"{API}/groups/{group.pk}/members/").status_code == 200
    assert admin_api.options(f"{API}/simulate/").status_code == 200
    assert admin_api.head(f"{API}/roles/").status_code == 200
    problem(admin_api.put(f"{API}/roles/{custom_role.pk}/", {}, content_type="application/json"), 405)
    problem(admin_api.get(f"{API}/simulate/"), 405)
    problem(admin_api.delete(f"{API}/grants/"), 405)
