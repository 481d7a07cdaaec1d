"""Fixtures shared by the accounts tests."""

import pytest
from django_tenants.utils import schema_context

from apps.accounts.services import user_create
from apps.accounts.tests import PASSWORD


@pytest.fixture
def alice(acme):
    """A plain user of acme, alice@acme.test, with ``PASSWORD``."""
    with schema_context(acme.schema_name):
        return user_create(email="alice@acme.test", password=PASSWORD)
