"""Shared pytest fixtures: the tenants every test may use, host-bound clients, real workers.

The session creates, once per test database (so once per xdist worker), and
commits: the provider, tenants ``acme`` and ``globex``, sub-tenant
``acme-dev``, ``vandelay`` (for browser tests that change data) and a suspended tenant ``initech``. Tests run inside a
transaction and may provision more tenants; those roll back with the test.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import Client
from django_tenants.utils import schema_context

# Committed with the session tenants, so servers running in other threads (the browser tests') see it.
BROWSER_ADMIN = {"email": "admin@acme.localhost", "password": "nimbus-browser-test-password", "name": "Acme Admin"}
# Browser tests that change data (add users, open a tenant as a delegate) do it in vandelay, a tenant no
# other test looks at, so what they commit cannot disturb tests that count acme's rows.
BROWSER_VANDELAY_ADMIN = {
    "email": "admin@vandelay.localhost",
    "password": BROWSER_ADMIN["password"],
    "name": "Vandelay Admin",
}
# Provider staff, committed likewise, for browser tests of the provider admin.
BROWSER_STAFF = {"email": "staff@nimbus.localhost", "password": "nimbus-browser-test-password"}

SESSION_TENANTS = [
    {
        "slug": "acme",
        "name": "Acme Corporation",
        "plan": "standard",
        "options": {
            "admin_email": BROWSER_ADMIN["email"],
            "admin_password": BROWSER_ADMIN["password"],
            "admin_name": BROWSER_ADMIN["name"],
        },
    },
    {
        "slug": "globex",
        "name": "Globex",
        "plan": "standard",
        "options": {"admin_email": "admin@globex.localhost", "admin_password": BROWSER_ADMIN["password"]},
    },
    {"slug": "acme-dev", "name": "Acme Development", "plan": "starter", "parent": "acme"},
    {
        "slug": "vandelay",
        "name": "Vandelay Industries",
        "plan": "standard",
        "options": {
            "admin_email": BROWSER_VANDELAY_ADMIN["email"],
            "admin_password": BROWSER_VANDELAY_ADMIN["password"],
            "admin_name": BROWSER_VANDELAY_ADMIN["name"],
        },
    },
    {"slug": "initech", "name": "Initech", "plan": "starter", "suspend": True},
]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    from apps.accounts.services import user_create
    from apps.tenancy import schemas, services
    from apps.tenancy.models import Tenant, TenantKind

    if not connection.settings_dict["NAME"].startswith("test_"):
        # pytest-django sets up the test database only when a collected test is marked for it; never seed
        # the session's tenants into whatever database the settings name instead.
        pytest.fail(
            "No test database was set up: browser tests reach the database only through the app server. "
            "Select at least one database test with them (e.g. 'pytest apps/accounts')."
        )
    with django_db_blocker.unblock():
        provider = services.provider_ensure()
        with schema_context(provider.schema_name):
            user_create(
                email=BROWSER_STAFF["email"], password=BROWSER_STAFF["password"], is_staff=True, is_superuser=True
            )
        schemas.template_ensure(force=True)
        for spec in SESSION_TENANTS:
            parent = Tenant.objects.get(slug=spec["parent"]) if "parent" in spec else None
            tenant = services.tenant_provision(
                name=spec["name"],
                slug=spec["slug"],
                kind=TenantKind.SUB_TENANT if parent else TenantKind.TENANT,
                parent=parent,
                plan=spec["plan"],
                options=spec.get("options"),
            )
            if spec.get("suspend"):
                services.tenant_suspend(tenant=tenant)


@pytest.fixture(autouse=True)
def _back_to_public_schema():
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fresh_access_caches():
    # A test's rows roll back but the process keeps PolicySets prepared from them: start each test clean.
    from apps.access import engine

    engine.forget()
    yield
    engine.forget()


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
    It also keeps clear of Playwright's event loop, which a browser test leaves
    on the main thread for the rest of the session (``asyncio.run`` refuses to
    start beside it).
    """

    def in_thread(coroutine_function, args):
        try:
            return asyncio.run(coroutine_function(*args))
        finally:
            # The thread ends here; so must any database connection it opened.
            connections.close_all()

    def run(coroutine_function, *args):
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(in_thread, coroutine_function, args).result(timeout=120)

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


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """Playwright drives Debian's Chromium (installed by 'make test'); it never downloads a browser."""
    return {
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def app_server(_app_server, django_db_blocker):
    """The port of the running app server; its request threads may use the database during the test."""
    with django_db_blocker.unblock():
        yield _app_server


@pytest.fixture(scope="session")
def _app_server(django_db_setup):
    """The whole Django app served over HTTP on a free port of 127.0.0.1, in threads of this process.

    Unlike pytest-django's live_server it does not force a flushing transactional database, which would
    wipe the session's tenants. It sees committed data only. Browsers reach tenants at
    ``http://<slug>.localhost:<port>/`` (Chromium resolves ``*.localhost`` to loopback by itself).
    """
    import threading

    from django.core.handlers.wsgi import WSGIHandler
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

    class OneRequestPerConnection(WSGIRequestHandler):
        def handle_one_request(self):
            super().handle_one_request()
            # No keep-alive: each request thread ends, and closes its database connection, right away,
            # instead of idling on a browser socket while the test database is being dropped.
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), OneRequestPerConnection, allow_reuse_address=False)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, name="app-server", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture
def committed_session():
    """``committed_session(tenant, email)``: the key of a committed session of that session-level user.

    Written on a connection of its own, so that servers and consumers running in other threads,
    which see committed data only, find it.
    """
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.models import User

    def create(tenant, email: str) -> str:
        def in_thread() -> str:
            try:
                with schema_context(tenant.schema_name):
                    user = User.objects.get(email=email)
                    store = SessionStore()
                    store[SESSION_KEY] = str(user.pk)
                    store[BACKEND_SESSION_KEY] = "apps.accounts.backends.AccountBackend"
                    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
                    store.create()
                    return store.session_key
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(in_thread).result(timeout=30)

    return create
