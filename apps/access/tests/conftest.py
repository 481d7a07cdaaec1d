"""Fixtures shared by the access tests: acme's people and clients signed in as them."""

import pytest
from django_tenants.utils import schema_context

from apps.accounts.services import user_create
from apps.accounts.tests import PASSWORD


@pytest.fixture
def alice(acme):
    """A plain user of acme, alice@acme.test, with the accounts tests' ``PASSWORD`` (as in apps/accounts/tests)."""
    with schema_context(acme.schema_name):
        return user_create(email="alice@acme.test", password=PASSWORD)


@pytest.fixture
def admin(signed_in_client, acme):
    """A client signed in to acme as a tenant administrator (``admin.user``)."""
    return signed_in_client(acme, email="boss@acme.test", is_tenant_admin=True)


@pytest.fixture
def plain(signed_in_client, acme):
    """A client signed in to acme as a user without any role."""
    return signed_in_client(acme, email="plain@acme.test")
