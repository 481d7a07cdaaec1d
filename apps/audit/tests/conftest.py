"""Shared by the audit tests: start from empty streams where a test counts events.

The session tenants' streams are not empty at the start of a test: provisioning them records model
changes, and browser tests sign in through a live server, which commits. ``empty_streams`` deletes acme's
and globex's events and checkpoints inside the test's transaction (rolled back with it). It is not
autouse: tests that seal through another connection (the Temporal worker) would wait on those deletions.
"""

import pytest
from django_tenants.utils import schema_context

from apps.audit.models import AuditCheckpoint, AuditEvent


@pytest.fixture
def empty_streams(acme, globex):
    for tenant in (acme, globex):
        with schema_context(tenant.schema_name):
            AuditCheckpoint.objects.all().delete()
            AuditEvent.objects.all().delete()


@pytest.fixture
def admin(signed_in_client, acme):
    """A client signed in to acme as a tenant administrator (the audit pages' reader)."""
    return signed_in_client(acme, email="boss@audit-pages.test", is_tenant_admin=True)


@pytest.fixture
def plain(signed_in_client, acme):
    """A client signed in to acme as a user without any role."""
    return signed_in_client(acme, email="plain@audit-pages.test")
