"""Row-level security on shared tables, proven with raw SQL against PostgreSQL itself."""

import os

import pytest
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context

from apps.tenancy import services
from apps.tenancy.context import provider_context

pytestmark = pytest.mark.django_db


@pytest.fixture
def heartbeats(acme, globex):
    services.heartbeat_record(schema_name=acme.schema_name)
    services.heartbeat_record(schema_name=globex.schema_name)
    return {"acme": acme.id, "globex": globex.id}


@pytest.fixture
def as_ordinary_role():
    """Run the test's SQL as a role PostgreSQL applies RLS to.

    The embedded database connects as an ordinary role already. When
    DATABASE_URL names a superuser (who bypasses every policy), switch to a
    throwaway ordinary role for this transaction only.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
        if not cursor.fetchone()[0]:
            yield
            return
        role = f"nimbus_rls_probe_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        cursor.execute(f"GRANT USAGE ON SCHEMA public, t_acme, t_globex TO {role}")
        cursor.execute(
            f"GRANT SELECT, INSERT, UPDATE ON tenancy_tenantheartbeat, tenancy_tenant, tenancy_domain TO {role}"
        )
        cursor.execute(f"SET LOCAL ROLE {role}")
    yield


def visible_tenant_ids() -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tenant_id FROM public.tenancy_tenantheartbeat ORDER BY tenant_id")
        return [row[0] for row in cursor.fetchall()]


def test_tenant_context_sees_only_its_own_rows(heartbeats, as_ordinary_role):
    with schema_context("t_acme"):
        assert visible_tenant_ids() == [heartbeats["acme"]]
    with schema_context("t_globex"):
        assert visible_tenant_ids() == [heartbeats["globex"]]


def test_provider_context_sees_every_row_explicitly(heartbeats, as_ordinary_role):
    with provider_context():
        with connection.cursor() as cursor:
            cursor.execute("SHOW nimbus.tenant_schema")
            assert cursor.fetchone()[0] == "public"
        visible = visible_tenant_ids()
        assert set(heartbeats.values()) <= set(visible)
        with schema_context("t_acme"):
            assert len(visible_tenant_ids()) < len(visible)


def test_public_schema_without_provider_context_sees_nothing(heartbeats, as_ordinary_role):
    # Code that lost its tenant context lands in public: it must see no tenant's rows, not all of them.
    connection.set_schema_to_public()
    assert visible_tenant_ids() == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM public.tenancy_domain")
        assert cursor.fetchone()[0] == 0
    with provider_context(), connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM public.tenancy_domain")
        assert cursor.fetchone()[0] >= 5


def test_tenant_context_sees_only_its_own_domains(as_ordinary_role, acme):
    from apps.tenancy.models import Domain

    with schema_context("t_acme"):
        assert list(Domain.objects.values_list("domain", flat=True)) == ["acme.localhost"]


def test_connection_without_a_tenant_setting_sees_nothing(heartbeats, as_ordinary_role):
    with connection.cursor() as cursor:
        cursor.execute("RESET nimbus.tenant_schema")
        assert visible_tenant_ids() == []
        # Forge a setting for a schema that belongs to no tenant: still nothing.
        cursor.execute("SET nimbus.tenant_schema = 't_nobody'")
        assert visible_tenant_ids() == []
    connection.search_path_set_schemas = None  # make the backend re-issue its settings


def test_tenant_context_cannot_write_another_tenants_row(heartbeats, as_ordinary_role):
    with schema_context("t_acme"):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE public.tenancy_tenantheartbeat SET beats = 999 WHERE tenant_id = %s", [heartbeats["globex"]]
            )
            assert cursor.rowcount == 0  # the row is not even visible to update
        with (
            pytest.raises(DatabaseError, match="row-level security"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(
                "INSERT INTO public.tenancy_tenantheartbeat (tenant_id, last_seen_at, beats) VALUES (%s, now(), 1)",
                [heartbeats["globex"]],
            )


def test_orm_in_tenant_context_is_fenced_too(heartbeats, as_ordinary_role):
    from apps.tenancy.models import TenantHeartbeat

    with schema_context("t_acme"):
        assert list(TenantHeartbeat.objects.values_list("tenant_id", flat=True)) == [heartbeats["acme"]]
