"""Saved audit queries: validated like the events list's filters; one's own, or shared in the tenant."""

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.services import api_token_create, user_create

pytestmark = pytest.mark.django_db


def client_for(tenant, user) -> Client:
    with schema_context(tenant.schema_name):
        _, token = api_token_create(user=user, name="saved queries")
    return Client(HTTP_HOST=f"{tenant.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.fixture
def two_admins(acme):
    with schema_context(acme.schema_name):
        return (
            user_create(email="one@saved.test", password=None, is_tenant_admin=True),
            user_create(email="two@saved.test", password=None, is_tenant_admin=True),
        )


def post(api, body):
    return api.post("/api/v1/audit/saved-queries/", body, content_type="application/json")


def test_saving_listing_sharing_and_deleting(acme, two_admins):
    one, two = (client_for(acme, user) for user in two_admins)
    mine = post(one, {"name": "Denied today", "params": {"outcome": "denied", "action": "accounts:"}})
    assert mine.status_code == 201 and mine.json()["params"] == {"outcome": "denied", "action": "accounts:"}
    shared = post(one, {"name": "Role changes", "params": {"action": "access:role:"}, "shared": True}).json()
    assert [q["name"] for q in two.get("/api/v1/audit/saved-queries/").json()] == ["Role changes"]
    assert sorted(q["name"] for q in one.get("/api/v1/audit/saved-queries/").json()) == ["Denied today", "Role changes"]
    assert two.delete(f"/api/v1/audit/saved-queries/{shared['id']}/").status_code == 403  # not the owner's
    assert two.delete(f"/api/v1/audit/saved-queries/{mine.json()['id']}/").status_code == 404  # not even visible
    assert one.delete(f"/api/v1/audit/saved-queries/{shared['id']}/").status_code == 204


@pytest.mark.parametrize(
    ("params", "complaint"),
    [({"colour": "red"}, "Unknown filters: colour"), ({"outcome": "maybe"}, "outcome"), ({"since": "soon"}, "since")],
)
def test_bad_filters_are_refused(acme, two_admins, params, complaint):
    response = post(client_for(acme, two_admins[0]), {"name": "x", "params": params})
    assert response.status_code == 400 and complaint in str(response.json())


def test_plain_users_have_no_saved_queries(acme):
    with schema_context(acme.schema_name):
        plain = user_create(email="plain@saved.test", password=None)
    assert client_for(acme, plain).get("/api/v1/audit/saved-queries/").status_code == 403


def test_losing_the_right_to_read_the_trail_leaves_no_say_over_ones_saved_queries(acme, two_admins):
    one = client_for(acme, two_admins[0])
    saved = post(one, {"name": "Mine", "params": {"outcome": "denied"}}).json()
    with schema_context(acme.schema_name):
        two_admins[0].is_tenant_admin = False
        two_admins[0].save(update_fields=["is_tenant_admin"])
    assert one.delete(f"/api/v1/audit/saved-queries/{saved['id']}/").status_code in (403, 404)
    with schema_context(acme.schema_name):
        from apps.audit.models import SavedQuery

        assert SavedQuery.objects.filter(pk=saved["id"]).exists()
