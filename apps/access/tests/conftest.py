"""Fixtures shared by the access-control behaviour tests: a tenant's schema entered for the whole test, people in it."""

from __future__ import annotations

import itertools

import pytest
from django_tenants.utils import schema_context

from apps.access.models import Role
from apps.accounts.services import user_create


@pytest.fixture
def in_acme(acme):
    """The whole test runs in acme's schema (the root conftest returns to public afterwards)."""
    with schema_context(acme.schema_name):
        yield acme


@pytest.fixture
def make_user():
    """``make_user(**flags)``: a new user of the current schema that cannot sign in with a password."""
    numbers = itertools.count(1)

    def make(email: str | None = None, **flags):
        return user_create(email=email or f"person-{next(numbers)}@people.test", password=None, **flags)

    return make


@pytest.fixture
def admin(in_acme, make_user):
    """A tenant administrator of acme (by the account flag): the actor of most writes."""
    return make_user("admin@acme.test", is_tenant_admin=True)


@pytest.fixture
def role():
    """``role("operator")``: a role of the current schema by name."""
    return lambda name: Role.objects.get(name=name)
