"""The audit events API: who may read it, its filters, cursor pages, and the chain check."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.services import api_token_create, user_create
from apps.audit import recorder
from apps.audit.models import AuditEvent
from apps.audit.services import seal_pending

pytestmark = pytest.mark.django_db


def client_for(tenant, user) -> Client:
    with schema_context(tenant.schema_name):
        _, token = api_token_create(user=user, name="audit tests")
    return Client(HTTP_HOST=f"{tenant.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def admin(acme):
    with schema_context(acme.schema_name):
        return user_create(email="boss@audit-api.test", password=None, is_tenant_admin=True)


@pytest.fixture
def stream(acme, empty_streams):
    # From empty: provisioning acme recorded its first admin's seeding (accounts:user:seed) on an accounts:user.
    with schema_context(acme.schema_name):
        for n in range(7):
            recorder.record(
                "accounts:user:update" if n % 2 else "access:role:create",
                resource_type="accounts:user",
                resource_id=n,
                resource_display=f"person{n}@example.test",
                outcome="denied" if n == 3 else "success",
            )


def test_admins_read_events_newest_first_in_cursor_pages(acme, admin, stream):
    api = client_for(acme, admin)
    first = api.get("/api/v1/audit/events/?page_size=3&resource_type=accounts:user").json()
    ids = [row["id"] for row in first["results"]]
    assert len(ids) == 3 and ids == sorted(ids, reverse=True) and first["next"]
    second = api.get(first["next"]).json()
    assert all(row["id"] < ids[-1] for row in second["results"])


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("action=accounts:", 3),
        ("action=access:role:", 4),
        ("outcome=denied", 1),
        ("q=person5@example.test", 1),
        ("resource_id=2", 1),
    ],
)
def test_filters(acme, admin, stream, query, count):
    rows = client_for(acme, admin).get(f"/api/v1/audit/events/?resource_type=accounts:user&{query}").json()["results"]
    assert len(rows) == count


@pytest.mark.parametrize("query", ["since=yesterday", "outcome=maybe", "ip=not-an-address", "actor_id=x"])
def test_bad_filters_are_400_naming_the_filter(acme, admin, query):
    response = client_for(acme, admin).get(f"/api/v1/audit/events/?{query}")
    assert response.status_code == 400 and query.split("=")[0] in response.json()["errors"]


def test_plain_users_may_not_read_the_trail(acme, stream):
    with schema_context(acme.schema_name):
        plain = user_create(email="plain@audit-api.test", password=None)
        some_id = AuditEvent.objects.values_list("pk", flat=True).first()
    api = client_for(acme, plain)
    assert api.get("/api/v1/audit/events/").status_code == 403
    assert api.get(f"/api/v1/audit/events/{some_id}/").status_code == 404


def test_one_tenants_events_are_not_anothers(acme, globex, admin, stream):
    with schema_context(globex.schema_name):
        other = user_create(email="boss@globex-audit.test", password=None, is_tenant_admin=True)
    rows = client_for(globex, other).get("/api/v1/audit/events/?resource_type=accounts:user").json()["results"]
    assert rows == []


def test_verify_says_whether_the_chain_holds(acme, admin, stream):
    api = client_for(acme, admin)  # making its token is itself recorded: before sealing
    with schema_context(acme.schema_name):
        seal_pending()
    body = api.post("/api/v1/audit/events/verify/").json()
    assert body["ok"] is True and body["checked"] >= 7 and body["unsealed"] == 0
    with schema_context(acme.schema_name):
        AuditEvent.objects.filter(seq=2).update(action="rewritten")
    body = api.post("/api/v1/audit/events/verify/").json()
    assert body == {**body, "ok": False, "first_bad_seq": 2}
    with schema_context(acme.schema_name):
        plain = user_create(email="viewer@audit-api.test", password=None)
    assert client_for(acme, plain).post("/api/v1/audit/events/verify/").status_code == 403
