"""Routing by Host: provider, tenants, unknown hosts and unavailable tenants; never a 500."""

import pytest

from apps.tenancy import services

pytestmark = pytest.mark.django_db


def test_provider_host_serves_the_provider_landing_page(host_client, provider):
    response = host_client("localhost").get("/")
    assert response.status_code == 200
    assert b"provider console" in response.content
    assert b"acme" not in response.content  # the tenant list is for signed-in staff only


def test_tenant_host_sends_visitors_to_its_own_sign_in_page(host_client, acme):
    response = host_client("acme.localhost").get("/", follow=True)
    assert response.redirect_chain == [("/sign-in/?next=/", 302)]
    assert b"Sign in to Acme Corporation" in response.content
    assert response.wsgi_request.tenant.schema_name == "t_acme"


def test_tenant_host_serves_the_dashboard_with_its_name_when_signed_in(signed_in_client, acme):
    response = signed_in_client(acme).get("/")
    assert response.status_code == 200
    assert b"Acme Corporation" in response.content


def test_sub_tenant_host_serves_its_own_page(signed_in_client, acme_dev):
    client = signed_in_client(acme_dev)
    client.defaults["HTTP_HOST"] = "acme-dev.localhost:8000"
    response = client.get("/")
    assert response.status_code == 200
    assert b"Acme Development" in response.content
    assert b"Sub-tenant of Acme Corporation" in response.content


@pytest.mark.parametrize("host", ["nobody.localhost", "ACME.other.localhost", "evil.example.com", "[::1]", ""])
def test_unknown_or_foreign_host_gets_a_friendly_404(host_client, host):
    response = host_client(host).get("/")
    assert response.status_code == 404
    assert b"No tenant lives at this address" in response.content


def test_host_names_are_case_insensitive(host_client, acme):
    assert b"Acme Corporation" in host_client("ACME.LocalHost").get("/sign-in/").content


def test_suspended_tenant_gets_a_403_page_that_says_so(host_client, initech):
    response = host_client("initech.localhost").get("/")
    assert response.status_code == 403
    assert b"Initech is suspended" in response.content


def test_archived_tenant_gets_410(host_client, globex):
    services.tenant_archive(tenant=globex)
    response = host_client("globex.localhost").get("/")
    assert response.status_code == 410
    assert b"Globex has been closed" in response.content


def test_sub_tenant_of_a_suspended_tenant_is_refused_too(host_client, acme):
    services.tenant_suspend(tenant=acme)
    response = host_client("acme-dev.localhost").get("/")
    assert response.status_code == 403


def test_admin_is_served_on_the_provider_host_only(host_client, acme):
    assert host_client("localhost").get("/admin/").status_code == 302  # to the admin login
    assert host_client("acme.localhost").get("/admin/").status_code == 404


def test_unknown_path_on_a_tenant_host_is_a_404_page(host_client, acme):
    response = host_client("acme.localhost").get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def test_unsafe_method_on_landing_page_is_refused_not_crashed(host_client, acme):
    assert host_client("acme.localhost").post("/").status_code in (403, 405)  # CSRF first, then method


def test_every_response_carries_a_request_id(host_client, acme):
    response = host_client("acme.localhost").get("/")
    assert len(response["X-Request-ID"]) == 32
