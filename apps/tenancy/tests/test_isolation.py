"""Tenant isolation from the attacker's side: tenant A's data, cache and schema seen from B."""

import pytest
from django.core.cache import cache
from django.db import connection
from django_tenants.utils import schema_context

from apps.accounts.models import User

pytestmark = pytest.mark.django_db


def test_row_created_in_one_tenant_is_invisible_from_another_by_orm(acme, globex):
    with schema_context(acme.schema_name):
        User.objects.create(email="secret@acme.test")
    with schema_context(globex.schema_name):
        assert not User.objects.filter(email="secret@acme.test").exists()
        assert list(User.objects.values_list("email", flat=True)) == ["admin@globex.localhost"]
    with schema_context(acme.schema_name):
        assert User.objects.filter(email="secret@acme.test").exists()


def test_row_created_in_one_tenant_is_invisible_from_another_by_raw_sql(acme, globex):
    with schema_context(acme.schema_name):
        User.objects.create(email="secret@acme.test")
    with schema_context(globex.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM accounts_user WHERE email = %s", ["secret@acme.test"])
        assert cursor.fetchone()[0] == 0
        cursor.execute("SELECT current_schemas(false)")
        assert cursor.fetchone()[0] == ["t_globex", "public"]


def test_provider_users_are_not_tenant_users(acme):
    User.objects.create(email="staff@provider.test", is_staff=True)
    with schema_context(acme.schema_name):
        assert not User.objects.filter(email="staff@provider.test").exists()


def test_same_email_may_exist_in_two_tenants_independently(acme, globex):
    for tenant in (acme, globex):
        with schema_context(tenant.schema_name):
            User.objects.create(email="same@person.test", display_name=tenant.slug)
    with schema_context(globex.schema_name):
        assert User.objects.get(email="same@person.test").display_name == "globex"


def test_cache_entries_are_per_tenant(acme, globex):
    with schema_context(acme.schema_name):
        cache.set("dashboard", "acme-secret", 30)
    with schema_context(globex.schema_name):
        assert cache.get("dashboard") is None
        cache.set("dashboard", "globex-data", 30)
    with schema_context(acme.schema_name):
        assert cache.get("dashboard") == "acme-secret"
        assert cache.make_key("dashboard").startswith("t_acme:")
    cache.delete_many(["dashboard"])
    for tenant in (acme, globex):
        with schema_context(tenant.schema_name):
            cache.delete("dashboard")


def test_tenant_request_cannot_reach_another_tenants_page_by_path(signed_in_client, acme, globex):
    # The tenant is chosen by Host alone: nothing in the path or query switches schema.
    response = signed_in_client(acme).get("/", {"tenant": "globex", "schema": "t_globex"})
    assert b"Acme Corporation" in response.content
    assert b"Globex" not in response.content
