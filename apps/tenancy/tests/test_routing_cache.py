"""The routing cache: one cache read per request, and a status change takes effect on the next request."""

import pytest
from django.test import override_settings

from apps.tenancy import routing_cache, services

pytestmark = pytest.mark.django_db
HOSTS = ["globex.localhost", "acme.localhost", "acme-dev.localhost", "www2.globex.localhost"]


@pytest.fixture
def cached_routing():
    routing_cache.forget(HOSTS)
    with override_settings(NIMBUS_ROUTING_CACHE_SECONDS=60):
        yield
    routing_cache.forget(HOSTS)


def test_a_cached_host_is_routed_without_a_database_query(
    cached_routing, host_client, globex, django_assert_num_queries
):
    client = host_client("globex.localhost")
    client.get("/sign-in/")
    with django_assert_num_queries(0):
        assert client.get("/sign-in/").status_code == 200


def test_suspending_is_seen_by_the_very_next_request(cached_routing, host_client, globex):
    client = host_client("globex.localhost")
    assert client.get("/sign-in/").status_code == 200
    services.tenant_suspend(tenant=globex)
    assert client.get("/sign-in/").status_code == 403
    services.tenant_resume(tenant=globex)
    assert client.get("/sign-in/").status_code == 200


def test_suspending_a_parent_reaches_its_sub_tenants_cached_routes(cached_routing, host_client, acme, acme_dev):
    client = host_client("acme-dev.localhost")
    assert client.get("/sign-in/").status_code == 200
    services.tenant_suspend(tenant=acme)
    assert client.get("/sign-in/").status_code == 403


def test_a_removed_domain_stops_routing(cached_routing, host_client, globex):
    extra = services.domain_add(tenant=globex, domain="www2.globex.localhost")
    client = host_client("www2.globex.localhost")
    assert client.get("/sign-in/").status_code == 200
    services.domain_remove(domain=extra)
    assert client.get("/sign-in/").status_code == 404
