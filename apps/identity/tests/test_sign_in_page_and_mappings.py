"""The sign-in page's SSO buttons, SSO-only with its break-glass, and the claim-mapping pages and API."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.access import services as access_services
from apps.access.models import Role
from apps.accounts.services import user_create
from apps.audit.models import AuditEvent
from apps.identity import selectors, services
from apps.identity.models import ClaimMapping

from .conftest import idp_metadata
from .test_pages_and_api import api_for

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def corp(acme):
    with schema_context(acme.schema_name):
        return services.provider_create_saml(name="Corp", slug="corp", metadata_xml=idp_metadata(), is_default=True)


def _page(client) -> str:
    return client.get("/sign-in/").content.decode()


def test_the_sign_in_page_shows_a_button_per_enabled_provider_default_first(acme, corp):
    with schema_context(acme.schema_name):
        other = services.provider_create_saml(name="Another", slug="another", metadata_xml=idp_metadata())
        services.provider_create_saml(name="Off", slug="off", metadata_xml=idp_metadata(), enabled=False)
    page = _page(Client(HTTP_HOST="acme.localhost"))
    assert "Sign in with Corp" in page and "Sign in with Another" in page and "Sign in with Off" not in page
    assert page.index("Sign in with Corp") < page.index("Sign in with Another")
    assert "/identity/sso/corp/" in page and 'name="password"' in page
    assert other.slug not in _page(Client(HTTP_HOST="globex.localhost"))  # another tenant's providers never show


def test_an_unknown_or_disabled_provider_start_is_404(acme, corp):
    client = Client(HTTP_HOST="acme.localhost")
    assert client.get("/identity/sso/nobody/").status_code == 404
    with schema_context(acme.schema_name):
        services.provider_disable(provider=corp)
    assert client.get("/identity/sso/corp/").status_code == 404


def test_sso_only_hides_the_password_form_and_refuses_passwords_except_for_admins(acme, corp):
    with schema_context(acme.schema_name):
        user_create(email="plain@acme.test", password=PASSWORD)
        user_create(email="boss@acme.test", password=PASSWORD, is_tenant_admin=True)
        services.settings_update(sso_only=True)
    client = Client(HTTP_HOST="acme.localhost")
    page = _page(client)
    assert 'name="password"' not in page and "Sign in with Corp" in page and "?local=1" in page
    assert 'name="password"' in client.get("/sign-in/?local=1").content.decode()

    refused = client.post("/sign-in/?local=1", {"username": "plain@acme.test", "password": PASSWORD})
    assert refused.status_code == 200 and b"signs in through its identity provider" in refused.content
    assert not client.session.get("_auth_user_id")
    with schema_context(acme.schema_name):
        event = AuditEvent.objects.filter(action="accounts:session:login_failed").latest("id")
        assert event.metadata == {"reason": "sso_only"} and event.resource_display == "plain@acme.test"

    api = Client(HTTP_HOST="acme.localhost")
    answer = api.post(
        "/api/v1/auth/token/", {"email": "plain@acme.test", "password": PASSWORD}, content_type="application/json"
    )
    assert answer.status_code == 401 and answer.json()["code"] == "sso_only"

    # Break-glass: a tenant admin still signs in with a password.
    allowed = client.post("/sign-in/?local=1", {"username": "boss@acme.test", "password": PASSWORD})
    assert allowed.status_code == 302 and client.session.get("_auth_user_id")


def test_without_an_enabled_provider_sso_only_does_not_lock_people_out(acme, corp):
    with schema_context(acme.schema_name):
        user_create(email="plain@acme.test", password=PASSWORD)
        services.settings_update(sso_only=True)
        # Forced off underneath (e.g. by the provider admin): passwords work again rather than nobody signing in.
        type(corp).objects.filter(pk=corp.pk).update(enabled=False)
        selectors.forget_sign_in_choices()  # a raw UPDATE sends no signal: the page's cache would keep it a minute
    client = Client(HTTP_HOST="acme.localhost")
    assert 'name="password"' in _page(client)
    assert client.post("/sign-in/", {"username": "plain@acme.test", "password": PASSWORD}).status_code == 302


# --- Mapping pages and API -----------------------------------------------------------------------------


def test_admin_adds_previews_and_removes_a_mapping_on_the_provider_page(admin, acme, corp):
    with schema_context(acme.schema_name):
        group = access_services.group_create(name="Cloud admins")
    url = f"/identity/{corp.pk}/"
    added = admin.post(
        f"{url}mappings/add/",
        {"claim": "groups", "operator": "has_value", "value": "nimbus-admins", "target": f"group:{group.pk}"},
    )
    assert added.status_code == 302
    page = admin.get(url).content.decode()
    assert "nimbus-admins" in page and "Cloud admins" in page

    preview = admin.post(f"{url}mappings/preview/", {"sample": '{"groups": ["nimbus-admins"]}'}, HTTP_HX_REQUEST="true")
    assert preview.status_code == 200 and "data-preview-result" in preview.content.decode()
    assert "Cloud admins" in preview.content.decode()
    bad = admin.post(f"{url}mappings/preview/", {"sample": "[1, 2"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and b"Not JSON" in bad.content

    refused = admin.post(
        f"{url}mappings/add/", {"claim": "groups", "operator": "has_value", "value": "", "target": f"group:{group.pk}"}
    )
    assert refused.status_code == 400 and b"Give the value to look for" in refused.content

    with schema_context(acme.schema_name):
        mapping = ClaimMapping.objects.get()
        assert AuditEvent.objects.filter(action="identity:provider:update", metadata__has_key="mapping_added").exists()
    assert admin.post(f"{url}mappings/{mapping.pk}/delete/").status_code == 302
    with schema_context(acme.schema_name):
        assert not ClaimMapping.objects.exists()


def test_people_without_update_cannot_add_mappings(plain, acme, corp):
    with schema_context(acme.schema_name):
        group = access_services.group_create(name="Cloud admins")
    answer = plain.post(
        f"/identity/{corp.pk}/mappings/add/",
        {"claim": "groups", "operator": "has_value", "value": "x", "target": f"group:{group.pk}"},
    )
    assert answer.status_code == 403
    with schema_context(acme.schema_name):
        assert not ClaimMapping.objects.exists()


def test_mapping_api_create_list_preview_delete(acme, corp):
    api = api_for(acme, is_tenant_admin=True)
    with schema_context(acme.schema_name):
        role = Role.objects.get(name="read_only")
    base = f"/api/v1/identity/providers/{corp.pk}/mappings/"
    created = api.post(
        base,
        {"claim": "groups", "operator": "starts_with", "value": "dev", "role": role.pk},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["role_name"] == "read_only"
    assert [m["claim"] for m in api.get(base).json()] == ["groups"]
    preview = api.post(f"{base}preview/", {"claims": {"groups": ["developers"]}}, content_type="application/json")
    assert preview.json() == {
        "groups": [],
        "roles": [{"id": role.pk, "name": "read_only"}],
        "matched": [created.json()["id"]],
    }
    both = api.post(base, {"claim": "g", "value": "x"}, content_type="application/json")
    assert both.status_code == 400 and "target" in str(both.json())
    assert api.delete(f"{base}{created.json()['id']}/").status_code == 204
    assert api.get(base).json() == []


def test_another_tenants_credentials_cannot_see_or_change_mappings(acme, globex, corp):
    intruder = api_for(globex, is_tenant_admin=True)
    with schema_context(acme.schema_name):
        group = access_services.group_create(name="Cloud admins")
    base = f"/api/v1/identity/providers/{corp.pk}/mappings/"
    assert intruder.get(base).status_code == 404
    answer = intruder.post(base, {"claim": "g", "value": "x", "group": group.pk}, content_type="application/json")
    assert answer.status_code in (400, 404)
    with schema_context(acme.schema_name):
        assert not ClaimMapping.objects.exists()


def test_a_role_holding_only_scim_token_permissions_opens_the_identity_page(acme, signed_in_client):
    keeper = signed_in_client(acme, email="keeper@acme.test")
    with schema_context(acme.schema_name):
        boss = user_create(email="boss@acme.test", password=None, is_tenant_admin=True)
        role = access_services.role_create(
            actor=boss, name="scim_keeper", label="SCIM keeper", permissions=["identity:scim_token:view"]
        )
        access_services.role_assign(actor=boss, role=role, user=keeper.user)
    page = keeper.get("/identity/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "SCIM tokens" in text and "No identity provider yet" not in text  # providers are not theirs to see
    assert keeper.get("/identity/add/oidc/").status_code == 403
    nobody = signed_in_client(acme, email="nobody@acme.test")
    assert nobody.get("/identity/").status_code == 403
