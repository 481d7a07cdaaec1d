"""Shared pytest fixtures: the tenants every test may use, host-bound clients, real workers.

The session creates, once per test database (so once per xdist worker), and
commits: the provider, tenants ``acme`` and ``globex``, sub-tenant
``acme-dev`` and a suspended tenant ``initech``. Tests run inside a
transaction and may provision more tenants; those roll back with the test.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import Client
from django_tenants.utils import schema_context

SESSION_TENANTS = [
    {"slug": "acme", "name": "Acme Corporation", "plan": "standard"},
    {"slug": "globex", "name": "Globex", "plan": "standard"},
    {"slug": "acme-dev", "name": "Acme Development", "plan": "starter", "parent": "acme"},
    {"slug": "initech", "name": "Initech", "plan": "starter", "suspend": True},
]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from apps.tenancy import schemas, services
    from apps.tenancy.models import Tenant, TenantKind

    with django_db_blocker.unblock():
        services.provider_ensure()
        schemas.template_ensure(force=True)
        for spec in SESSION_TENANTS:
            parent = Tenant.objects.get(slug=spec["parent"]) if "parent" in spec else None
            tenant = services.tenant_provision(
                name=spec["name"],
                slug=spec["slug"],
                kind=TenantKind.SUB_TENANT if parent else TenantKind.TENANT,
                parent=parent,
                plan=spec["plan"],
            )
            if spec.get("suspend"):
                services.tenant_suspend(tenant=tenant)


@pytest.fixture(autouse=True)
def _back_to_public_schema():
    yield
    connection.set_schema_to_public()


def _tenant(slug: str):
    from apps.tenancy.models import Tenant

    return Tenant.objects.select_related("parent").get(slug=slug)


@pytest.fixture
def provider(db):
    from apps.tenancy.selectors import provider_get

    return provider_get()


@pytest.fixture
def acme(db):
    return _tenant("acme")


@pytest.fixture
def globex(db):
    return _tenant("globex")


@pytest.fixture
def acme_dev(db):
    return _tenant("acme-dev")


@pytest.fixture
def initech(db):
    return _tenant("initech")


@pytest.fixture
def host_client():
    """``host_client("acme.localhost")``: a test client whose every request carries that Host."""

    def make(host: str) -> Client:
        return Client(HTTP_HOST=host)

    return make


@pytest.fixture
def in_schema():
    """Context manager that runs a block inside a tenant's schema."""
    return schema_context


@pytest.fixture(scope="session")
def celery_worker_thread(django_db_setup, django_db_blocker):
    """A real Celery worker, in a thread of this process, consuming this xdist worker's queue."""
    from celery.contrib.testing.worker import start_worker

    from nimbus.celery import app

    with django_db_blocker.unblock(), start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        yield app


@pytest.fixture
def run_async():
    """Run a coroutine function in its own thread and event loop, and return its result.

    Channels' ``database_sync_to_async`` closes "old" connections; run from the
    test's own thread it would close the test's transaction connection. From
    a separate thread it works on a connection of its own, as in production.
    """

    def in_thread(coroutine_function, args):
        try:
            return asyncio.run(coroutine_function(*args))
        finally:
            # The thread ends here; so must any database connection it opened.
            connections.close_all()

    def run(coroutine_function, *args):
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(in_thread, coroutine_function, args).result(timeout=60)

    return run


@pytest.fixture
def as_provider():
    """Run the whole test in provider context, where RLS-guarded shared tables show every tenant's rows."""
    from apps.tenancy.context import provider_context

    with provider_context():
        yield


@pytest.fixture
def signed_in_client(host_client):
    """``signed_in_client(tenant, email=…, is_tenant_admin=…)``: a client signed in as a new user of that tenant."""
    from apps.accounts.services import user_create

    def make(tenant, *, email: str | None = None, **flags):
        host = f"{tenant.slug}.localhost" if not tenant.is_provider else "localhost"
        with schema_context(tenant.schema_name):
            user = user_create(email=email or f"user@{host}", password=None, **flags)
            client = host_client(host)
            client.force_login(user)
        client.user = user
        return client

    return make
