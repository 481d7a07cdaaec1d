"""Identity pages, API and public SP metadata: who may do what, secrets never out, tenants never crossed."""

import pytest
from defusedxml.ElementTree import fromstring
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.services import api_token_create, user_create
from apps.identity.models import IdentityProvider

from .conftest import idp_metadata

pytestmark = pytest.mark.django_db

SECRET = "top-secret-value-123"
MD = "{urn:oasis:names:tc:SAML:2.0:metadata}"


def api_for(tenant, **flags) -> Client:
    with schema_context(tenant.schema_name):
        user = user_create(email=f"api-{len(flags)}@identity.test", password=None, **flags)
        _, token = api_token_create(user=user, name="identity tests")
    return Client(HTTP_HOST=f"{tenant.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_admin_adds_an_oidc_provider_through_the_page_and_never_sees_the_secret(admin, acme, peer):
    issuer = peer.discovery(f"{peer.base}/okta", path="/okta")
    form = {"name": "Okta", "slug": "okta", "issuer": issuer, "client_id": "nimbus", "client_secret": SECRET}
    response = admin.post("/identity/add/oidc/", {**form, "scopes": "openid email", "enabled": "on"})
    assert response.status_code == 302
    with schema_context(acme.schema_name):
        provider = IdentityProvider.objects.get(slug="okta")
    for url in ("/identity/", f"/identity/{provider.pk}/", f"/identity/{provider.pk}/edit/"):
        page = admin.get(url)
        assert page.status_code == 200 and SECRET not in page.content.decode()
    assert b"set (encrypted, never shown)" in admin.get(f"/identity/{provider.pk}/").content


def test_a_refused_page_form_shows_the_reason_next_to_the_field(admin, peer):
    issuer = peer.discovery(f"{peer.base}/bad", path="/bad", claimed_issuer="https://other.test")
    response = admin.post(
        "/identity/add/oidc/", {"name": "Bad", "slug": "bad", "issuer": issuer, "client_id": "x", "client_secret": "y"}
    )
    assert response.status_code == 400 and b"names the issuer" in response.content


def test_admin_adds_saml_by_upload_then_enables_disables_defaults_and_deletes(admin, acme):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("idp.xml", idp_metadata().encode(), content_type="text/xml")
    response = admin.post("/identity/add/saml/", {"name": "ADFS", "slug": "adfs", "metadata_file": upload})
    assert response.status_code == 302
    with schema_context(acme.schema_name):
        pk = IdentityProvider.objects.get(slug="adfs").pk
    assert admin.post(f"/identity/{pk}/default/").status_code == 302
    assert admin.post(f"/identity/{pk}/disable/").status_code == 302
    assert admin.post(f"/identity/{pk}/enable/").status_code == 302
    with schema_context(acme.schema_name):
        provider = IdentityProvider.objects.get(pk=pk)
    assert provider.enabled and not provider.is_default
    assert b"Delete the identity provider" in admin.get(f"/identity/{pk}/delete/").content
    assert admin.post(f"/identity/{pk}/delete/").status_code == 302
    with schema_context(acme.schema_name):
        assert not IdentityProvider.objects.filter(pk=pk).exists()


def test_plain_users_get_403_and_the_menu_hides_identity(admin, plain, acme, oidc_in):
    provider = oidc_in(acme)
    assert b'href="/identity/"' in admin.get("/").content
    for url in ("/identity/", "/identity/add/oidc/", f"/identity/{provider.pk}/"):
        assert plain.get(url).status_code == 403
    assert plain.post(f"/identity/{provider.pk}/delete/").status_code == 403
    assert b'href="/identity/"' not in plain.get("/").content


def test_sp_metadata_is_public_and_names_the_acs_and_certificate(acme, host_client):
    with schema_context(acme.schema_name):
        from apps.identity import services

        provider = services.provider_create_saml(name="Entra", slug="entra", metadata_xml=idp_metadata())
    client = host_client("acme.localhost")
    response = client.get("/identity/saml/entra/metadata/")
    assert response.status_code == 200 and response["Content-Type"] == "application/samlmetadata+xml"
    root = fromstring(response.content)
    assert root.get("entityID") == "http://acme.localhost/identity/saml/entra/metadata/"
    sp = root.find(f"{MD}SPSSODescriptor")
    assert sp.get("WantAssertionsSigned") == "true"
    acs = sp.find(f"{MD}AssertionConsumerService")
    assert acs.get("Location") == "http://acme.localhost/identity/saml/entra/acs/"
    certificate = "".join(provider.sp_certificate.splitlines()[1:-1])
    assert certificate in response.content.decode()
    assert b"PRIVATE" not in response.content
    # The ACS is live (apps/identity/tests/test_saml_signin.py): an empty POST is a clear 400, not a 500.
    assert client.post("/identity/saml/entra/acs/", {"nimbus_same_site": "1"}).status_code == 400
    assert client.get("/identity/saml/nobody/metadata/").status_code == 404
    # Another tenant's host does not know acme's provider.
    assert host_client("globex.localhost").get("/identity/saml/entra/metadata/").status_code == 404


def test_api_create_list_update_with_write_only_secret(acme, peer):
    api = api_for(acme, is_tenant_admin=True)
    issuer = peer.discovery(f"{peer.base}/kc", path="/kc")
    body = {
        "kind": "oidc",
        "name": "Keycloak",
        "slug": "kc",
        "issuer": issuer,
        "client_id": "n",
        "client_secret": SECRET,
    }
    created = api.post("/api/v1/identity/providers/", body, content_type="application/json")
    assert created.status_code == 201, created.content
    data = created.json()
    assert data["client_secret_set"] is True and "client_secret" not in data and SECRET not in created.content.decode()
    assert data["token_endpoint"] == f"{peer.base}/op/token"
    listed = api.get("/api/v1/identity/providers/")
    assert [p["slug"] for p in listed.json()["results"]] == ["kc"] and SECRET not in listed.content.decode()
    url = f"/api/v1/identity/providers/{data['id']}/"
    changed = api.patch(url, {"name": "Keycloak EU", "client_secret": "new"}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["name"] == "Keycloak EU"
    assert api.post(f"{url}default/").json()["is_default"] is True
    assert api.post(f"{url}disable/").json()["enabled"] is False
    assert api.delete(url).status_code == 204


def test_api_bad_input_is_400_with_the_reason(acme, peer):
    api = api_for(acme, is_tenant_admin=True)
    cases = [
        ({"kind": "oidc", "name": "X", "slug": "x", "metadata_xml": "<a/>"}, "metadata_xml"),
        ({"kind": "ldap", "name": "X", "slug": "x"}, "kind"),
        ({"kind": "saml", "name": "X", "slug": "x", "metadata_xml": "<!DOCTYPE a []><a/>"}, "DOCTYPE"),
        (
            {
                "kind": "oidc",
                "name": "X",
                "slug": "x",
                "issuer": "http://idp.test",
                "client_id": "a",
                "client_secret": "b",
            },
            "https",
        ),
        ({"kind": "oidc", "name": "X", "slug": "x", "surprise": 1}, "surprise"),
    ]
    for body, reason in cases:
        response = api.post("/api/v1/identity/providers/", body, content_type="application/json")
        assert response.status_code == 400 and reason in response.content.decode(), (body, response.content)


def test_api_plain_user_is_refused(acme, oidc_in):
    provider = oidc_in(acme)
    api = api_for(acme)
    assert api.get("/api/v1/identity/providers/").status_code == 403
    body = {"kind": "saml", "name": "X", "slug": "x", "metadata_xml": idp_metadata()}
    assert api.post("/api/v1/identity/providers/", body, content_type="application/json").status_code == 403
    assert api.post(f"/api/v1/identity/providers/{provider.pk}/disable/").status_code == 404
    assert api.get(f"/api/v1/identity/providers/{provider.pk}/").status_code == 404
    assert api.delete(f"/api/v1/identity/providers/{provider.pk}/").status_code == 404


def test_acme_credentials_never_reach_globex_providers(acme, globex, oidc_in, signed_in_client):
    theirs = oidc_in(globex, slug="globex-okta")
    ours = oidc_in(acme, slug="acme-okta")
    acme_api = api_for(acme, is_tenant_admin=True)
    # acme's token on globex's host: not a globex credential at all.
    stolen = Client(HTTP_HOST="globex.localhost", HTTP_AUTHORIZATION=acme_api.defaults["HTTP_AUTHORIZATION"])
    assert stolen.get("/api/v1/identity/providers/").status_code == 401
    assert stolen.delete(f"/api/v1/identity/providers/{theirs.pk}/").status_code == 401
    # globex's id on acme's host names nothing there (ids are per schema; pick one acme does not have).
    missing = theirs.pk if theirs.pk != ours.pk else theirs.pk + 1000
    assert acme_api.get(f"/api/v1/identity/providers/{missing}/").status_code == 404
    assert [p["slug"] for p in acme_api.get("/api/v1/identity/providers/").json()["results"]] == ["acme-okta"]
    # acme's admin's session cookie on globex's host: signed out there.
    admin = signed_in_client(acme, email="boss2@identity.test", is_tenant_admin=True)
    admin.defaults["HTTP_HOST"] = "globex.localhost"
    assert admin.get(f"/identity/{theirs.pk}/").status_code == 302
    with schema_context(globex.schema_name):
        assert IdentityProvider.objects.filter(pk=theirs.pk).exists()


def test_sso_only_switch_on_the_page(admin, acme, oidc_in):
    from apps.identity.selectors import identity_settings

    admin.post("/identity/settings/", {"sso_only": "on"})
    with schema_context(acme.schema_name):
        assert not identity_settings().sso_only  # no provider yet: refused with a message
    assert b"before making sign-in SSO-only" in admin.get("/identity/").content
    oidc_in(acme)
    assert admin.post("/identity/settings/", {"sso_only": "on"}).status_code == 302
    with schema_context(acme.schema_name):
        assert identity_settings().sso_only
