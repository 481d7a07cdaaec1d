"""The issue's "done when", in a real browser against the app server, with real IdPs and a real SCIM client.

A tenant admin of vandelay creates a SCIM token and configures an OIDC IdP (node oidc-provider) and a SAML
IdP (samlify) in the pages, each with a mapping of ``groups`` = ``nimbus-admins`` to a group. The IdP's SCIM
client (httpx2 over HTTP) creates the people and that group; each person signs in through one IdP in
Chromium and lands in the group; the SCIM client renames a person and the group and deactivates a person,
whose browser session ends at once. Every step is in the audit log. (scim2-tester's full run is
``test_scim_compliance``.)
"""

from __future__ import annotations

import os
import re
import uuid

import pytest
import requests
from django_tenants.utils import schema_context

from conftest import BROWSER_VANDELAY_ADMIN
from nimbus.testing.helpers import committed, loopback_http

from .oidc_peer import CLIENT_ID, CLIENT_SECRET, _start_op, _stop
from .saml_peer import saml_idp_process  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

SCIM = "application/scim+json"


@pytest.fixture
def vandelay_cleanup(settings):
    """Loopback IdPs allowed for the test; vandelay's identity rows and the test's people removed afterwards."""
    settings.NIMBUS_OUTBOUND_ALLOW = ["127.0.0.1"]
    marker = uuid.uuid4().hex[:6]
    yield marker

    def remove():
        from apps.access.models import Group
        from apps.accounts.models import User
        from apps.identity.models import IdentityProvider, IdentitySettings, ScimToken
        from apps.tenancy.models import Tenant

        with schema_context(Tenant.objects.get(slug="vandelay").schema_name):
            IdentityProvider.objects.all().delete()
            IdentitySettings.objects.all().delete()
            ScimToken.objects.filter(name__startswith="done-when").delete()
            User.objects.filter(email__contains=marker).delete()
            Group.objects.filter(name__contains=marker).delete()

    committed(remove)


def _sign_in_with_password(page, base: str) -> None:
    page.goto(f"{base}/sign-in/")
    page.get_by_label("Email").fill(BROWSER_VANDELAY_ADMIN["email"])
    page.get_by_label("Password").fill(BROWSER_VANDELAY_ADMIN["password"])
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(f"{base}/")


def _add_mapping(page, group_name: str) -> None:
    page.get_by_label("Claim", exact=True).fill("groups")
    page.get_by_label("Value", exact=True).fill("nimbus-admins")
    page.get_by_label("Grant").select_option(label=group_name)
    page.get_by_role("button", name="Add mapping").click()
    page.get_by_text("The mapping was added").wait_for()


def _members(group_name: str) -> set[str]:
    from apps.access.models import Group
    from apps.tenancy.models import Tenant

    def read():
        with schema_context(Tenant.objects.get(slug="vandelay").schema_name):
            return set(Group.objects.get(name=group_name).members.values_list("email", flat=True))

    return committed(read)


def _actions() -> list[str]:
    from apps.audit.models import AuditEvent
    from apps.tenancy.models import Tenant

    def read():
        with schema_context(Tenant.objects.get(slug="vandelay").schema_name):
            return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))

    return committed(read)


def test_admin_configures_oidc_and_saml_people_sign_in_and_scim_provisions(
    app_server,
    browser,
    saml_idp_process,  # noqa: F811 (the fixture imported above)
    vandelay_cleanup,
):
    marker = vandelay_cleanup
    base = f"http://vandelay.localhost:{app_server}"
    host = f"vandelay.localhost:{app_server}"
    group_name = f"Cloud admins {marker}"
    oidc_email, saml_email = f"alice-{marker}@oidc.test", f"sam-{marker}@example.test"
    op = _start_op(
        hosts=(host,),
        accounts={f"alice-{marker}": {"email": oidc_email, "email_verified": True, "groups": ["nimbus-admins"]}},
    )
    actions_before = len(_actions())
    try:
        admin = browser.new_context().new_page()
        _sign_in_with_password(admin, base)

        # 1. A SCIM token, shown once.
        admin.goto(f"{base}/identity/")
        admin.get_by_label("Name", exact=True).fill(f"done-when {marker}")
        admin.get_by_role("button", name="Create SCIM token").click()
        token = admin.locator("#scim-token-new").inner_text().strip()
        assert token.startswith("scim_")
        scim = loopback_http(
            f"{base}/scim/v2",
            headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM, "Accept": SCIM},
            timeout=30,
        )

        # 2. The IdP's SCIM client creates the people and the group.
        people = {}
        for email, given in ((oidc_email, "Alice"), (saml_email, "Sam")):
            created = scim.post(
                "/Users",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": email,
                    "name": {"givenName": given, "familyName": "Example"},
                    "emails": [{"value": email, "primary": True, "type": "work"}],
                    "active": True,
                },
            )
            assert created.status_code == 201, created.text
            people[email] = created.json()["id"]
        group = scim.post(
            "/Groups", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": group_name}
        )
        assert group.status_code == 201, group.text

        # 3. The admin adds an OIDC IdP and a SAML IdP in the pages, each mapping nimbus-admins to the group.
        admin.goto(f"{base}/identity/add/oidc/")
        admin.get_by_label("Name", exact=True).fill("Company OIDC")
        admin.get_by_label("Slug").fill("company")
        admin.get_by_label("Issuer").fill(op.issuer)
        admin.get_by_label("Client id").fill(CLIENT_ID)
        admin.get_by_label("Client secret").fill(CLIENT_SECRET)
        admin.get_by_label("Scopes").fill("openid email profile groups")
        admin.get_by_label("Link to existing users by verified email").check()
        admin.get_by_role("button", name="Add provider").click()
        admin.get_by_role("heading", name=re.compile("Company OIDC")).wait_for()
        _add_mapping(admin, group_name)

        admin.goto(f"{base}/identity/add/saml/")
        admin.get_by_label("Name", exact=True).fill("Company SAML")
        admin.get_by_label("Slug").fill("corp")
        admin.get_by_label("Metadata URL").fill(f"{saml_idp_process}/metadata")
        admin.get_by_label("Link to existing users by verified email").check()
        admin.get_by_role("button", name="Add provider").click()
        admin.get_by_role("heading", name=re.compile("Company SAML")).wait_for()
        _add_mapping(admin, group_name)
        # What the IdP's administrator does with Nimbus's SP metadata.
        metadata = requests.get(f"http://127.0.0.1:{app_server}/identity/saml/corp/metadata/", headers={"Host": host})
        requests.post(f"{saml_idp_process}/_sp", data=metadata.content, timeout=10).raise_for_status()
        requests.post(
            f"{saml_idp_process}/_mode", json={"user": {"email": saml_email, "groups": ["nimbus-admins"]}}, timeout=10
        ).raise_for_status()

        # 4. Alice signs in through OIDC (the OP's login and consent pages), Sam through SAML (auto-posted).
        alice = browser.new_context().new_page()
        alice.goto(f"{base}/sign-in/")
        alice.get_by_role("link", name="Sign in with Company OIDC").click()
        alice.locator("input[name=login]").fill(f"alice-{marker}")
        alice.locator("input[name=password]").fill("any")
        alice.locator("button[type=submit]").click()
        alice.locator("button[type=submit]").click()  # consent
        alice.wait_for_url(f"{base}/")
        sam = browser.new_context().new_page()
        sam.goto(f"{base}/sign-in/")
        sam.get_by_role("link", name="Sign in with Company SAML").click()
        sam.wait_for_url(f"{base}/")
        assert _members(group_name) == {oidc_email, saml_email}

        # 5. SCIM updates a person and the group, then deactivates Alice: her session ends at once.
        renamed = scim.patch(
            f"/Users/{people[oidc_email]}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "displayName", "value": "Alice Renamed"}],
            },
        )
        assert renamed.status_code == 200, renamed.text
        regrouped = scim.patch(
            f"/Groups/{group.json()['id']}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "displayName", "value": f"{group_name} (renamed)"}],
            },
        )
        assert regrouped.status_code in (200, 204), regrouped.text
        deactivated = scim.patch(
            f"/Users/{people[oidc_email]}",
            json={
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "value": {"active": "False"}}],  # Entra's dialect
            },
        )
        assert deactivated.status_code == 200 and deactivated.json()["active"] is False, deactivated.text
        alice.goto(f"{base}/")
        assert "/sign-in/" in alice.url
        sam.goto(f"{base}/")
        assert sam.url == f"{base}/"

        # 6. Every step is in the audit log, and the admin finds the sign-ins in the explorer.
        actions = _actions()[actions_before:]
        for action in (
            "identity:scim_token:create",
            "identity:scim:user:create",
            "identity:scim:group:create",
            "identity:provider:create",
            "identity:provider:update",
            "identity:sso:login",
            "identity:link:create",
            "identity:mapping:apply",
            "identity:scim:user:update",
            "identity:scim:group:update",
        ):
            assert action in actions, action
        assert actions.count("identity:sso:login") == 2
        admin.goto(f"{base}/audit/?action=identity:sso:login")
        rows = admin.locator("#audit-events tbody tr")
        assert rows.filter(has_text=oidc_email).count() >= 1 and rows.filter(has_text=saml_email).count() >= 1
    finally:
        _stop(op)
