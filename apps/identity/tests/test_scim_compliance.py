"""The scim2-tester compliance checker against a live Nimbus: every check must pass (no ERROR or CRITICAL).

The app server (root conftest ``app_server``) serves the whole Django app over
real HTTP on loopback; scim2-client's httpx2 engine talks to it as an IdP would,
with a SCIM token of a tenant provisioned for this test (committed: the server's
threads see committed data only; the tenant is used by nothing else).
"""

from __future__ import annotations

from collections import Counter

import pytest
from django_tenants.utils import schema_context
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from nimbus.testing.helpers import committed, loopback_http

pytestmark = pytest.mark.django_db

SLUG = "scimcheck"


@pytest.fixture(scope="module")
def compliance_token(django_db_setup, django_db_blocker):
    """A committed tenant of its own and one of its SCIM tokens; the tenant is deleted afterwards.

    Deleted because other tests list the session's tenants and must not find it.
    """
    from apps.identity.services import scim_token_create
    from apps.tenancy import services
    from apps.tenancy.models import Tenant

    def provision() -> str:
        tenant = services.tenant_provision(name="SCIM check", slug=SLUG)
        with schema_context(tenant.schema_name):
            return scim_token_create(name="scim2-tester")[1]

    def delete() -> None:
        tenant = Tenant.objects.get(slug=SLUG)
        services.tenant_delete(tenant=services.tenant_archive(tenant=tenant))

    with django_db_blocker.unblock():
        token = committed(provision)
        try:
            yield token
        finally:
            committed(delete)


def test_scim2_tester_finds_no_error_against_a_live_server(app_server, compliance_token):
    http = loopback_http(
        f"http://{SLUG}.localhost:{app_server}/scim/v2",
        headers={"Authorization": f"Bearer {compliance_token}"},
        timeout=30,
    )
    with http:
        results = check_server(SyncSCIMClient(http))
    statuses = Counter(result.status for result in results)
    failures = [
        f"{r.status.name} {r.resource_type or ''} {r.title}: {str(r.reason)[:300]}"
        for r in results
        if r.status in (Status.ERROR, Status.CRITICAL)
    ]
    assert not failures, "\n".join(failures)
    # It did run the resource checks, not only discovery.
    assert statuses[Status.SUCCESS] >= 50, statuses
