"""The issue's "done when", through the pages alone, and the API and pages enforcing exactly what was set up.

A tenant admin creates a custom role, nests groups, scopes an assignment to
a group (an administrative unit), writes a Cedar policy forbidding a group
outside office hours, and asks the simulator why; then the people concerned
try, at 17:30 and at 18:30, through the users pages and the users API.
"""

from datetime import UTC, datetime

import pytest
import time_machine
from django.test import Client
from django_tenants.utils import schema_context

from apps.access.models import Group, Policy, Role, RoleAssignment
from apps.accounts.models import User
from apps.accounts.services import api_token_create, user_create

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 11, 30, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return DAY.replace(hour=hour, minute=minute)


def _ok(response, where: str):
    assert response.status_code == 302, (where, response.status_code, response.content.decode()[:2000])
    return response


def test_a_tenant_admin_sets_it_all_up_in_the_pages_and_the_pages_and_api_enforce_it(signed_in_client, acme):
    with time_machine.travel(at(17), tick=False):
        admin = signed_in_client(acme, email="boss@acme.test", is_tenant_admin=True)
        with schema_context(acme.schema_name):
            carl = user_create(email="carl@acme.test", password=None, display_name="Carl Contractor")
            eve = user_create(email="eve@acme.test", password=None, display_name="Eve Engineer")
            sam = user_create(email="sam@acme.test", password=None, display_name="Sam Sales")

        # A custom role.
        _ok(
            admin.post(
                "/access/roles/add/",
                {
                    "name": "password-desk",
                    "label": "Password desk",
                    "description": "Look up people and send them a password reset",
                    "permissions": ["accounts:user:view", "accounts:user:reset_password"],
                },
            ),
            "role",
        )
        # Groups, nested: contractors sit inside the helpdesk.
        for name in ("helpdesk", "contractors", "engineering"):
            _ok(admin.post("/access/groups/add/", {"name": name, "description": ""}), name)
        with schema_context(acme.schema_name):
            groups = {group.name: group for group in Group.objects.all()}
            role = Role.objects.get(name="password-desk")
        _ok(
            admin.post(f"/access/groups/{groups['helpdesk'].pk}/groups/add/", {"child": groups["contractors"].pk}),
            "nest",
        )
        _ok(admin.post(f"/access/groups/{groups['contractors'].pk}/members/add/", {"user": carl.pk}), "carl")
        _ok(admin.post(f"/access/groups/{groups['engineering'].pk}/members/add/", {"user": eve.pk}), "eve")
        # The role to the helpdesk, scoped to engineering's people only.
        _ok(
            admin.post(
                "/access/assignments/add/",
                {
                    "role": role.pk,
                    "group": groups["helpdesk"].pk,
                    "scope_type": "access:group",
                    "scope_id": str(groups["engineering"].pk),
                },
            ),
            "assignment",
        )
        # Contractors work 9 to 18.
        _ok(
            admin.post(
                "/access/policies/add/",
                {
                    "name": "office-hours",
                    "description": "Contractors work 9 to 18",
                    "enabled": "on",
                    "text": 'forbid(principal in Nimbus::Group::"contractors", action, resource)\n'
                    "when { context.hour < 9 || context.hour >= 18 };",
                },
            ),
            "policy",
        )
        with schema_context(acme.schema_name):
            assignment = RoleAssignment.objects.get(role=role)
            assert Policy.objects.get(name="office-hours").enabled

        # The simulator says why.
        def simulate(when: str) -> str:
            response = admin.post(
                "/access/simulator/",
                {
                    "user": carl.pk,
                    "action": "accounts:user:reset_password",
                    "resource_kind": "accounts:user",
                    "resource_id": str(eve.pk),
                    "now": when,
                },
            )
            assert response.status_code == 200
            return response.content.decode()

        night = simulate("2026-11-30T22:00")
        assert "Denied" in night and "policy/office-hours" in night and "Contractors work 9 to 18" in night
        day = simulate("2026-11-30T10:00")
        assert "Allowed" in day and f"assignment/{assignment.pk}" in day

        carl_browser = Client(HTTP_HOST="acme.localhost")
        carl_browser.force_login(carl)
        with schema_context(acme.schema_name):
            _, token = api_token_create(user=carl, name="desk")
        carl_api = Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")

    with time_machine.travel(at(17, 30), tick=False):
        # Within office hours: engineering's people only, through the pages and the API.
        assert _ok(carl_browser.post(f"/users/{eve.pk}/reset-password/"), "reset in hours")
        assert carl_browser.get(f"/users/{sam.pk}/").status_code == 404  # not in the unit: not there at all
        listing = carl_api.get("/api/v1/users/").json()
        assert [row["email"] for row in listing["results"]] == ["eve@acme.test"]
        assert carl_api.post(f"/api/v1/users/{eve.pk}/reset-password/").status_code == 202
        refused = carl_api.post(f"/api/v1/users/{eve.pk}/disable/")
        assert refused.status_code == 403 and "accounts:user:disable" in refused.json()["detail"]

    with time_machine.travel(at(18, 30), tick=False):
        # After hours the forbid wins, everywhere, and says so; the one object he could reach is out of sight.
        carl_browser.force_login(carl)
        page = carl_browser.get("/users/")
        assert page.status_code == 403 and "office-hours" in page.content.decode()
        assert carl_browser.post(f"/users/{eve.pk}/reset-password/").status_code == 403
        api_list = carl_api.get("/api/v1/users/")
        assert api_list.status_code == 403 and "office-hours" in api_list.json()["detail"]
        assert carl_api.post(f"/api/v1/users/{eve.pk}/reset-password/").status_code == 404
        # The administrators are not contractors: nothing changes for them.
        assert admin.post(f"/users/{eve.pk}/reset-password/").status_code == 302
    with schema_context(acme.schema_name):
        assert User.objects.get(pk=eve.pk).is_active
