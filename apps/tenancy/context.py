"""Explicit tenant and provider context for code that runs outside a request.

A request gets its context from its Host. Everything else says which context
it runs in: management commands and provider services use
``provider_context()``; Temporal activities are declared with
``tenant_activity`` (first argument: the schema) or ``provider_activity``.
Activities run in the worker's thread pool, so each one also releases its
database connection the way Django's request cycle does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

from django.db import close_old_connections, connections
from django_tenants.utils import get_public_schema_name, get_tenant_database_alias, schema_context
from temporalio import activity

F = TypeVar("F", bound=Callable[..., Any])


@contextmanager
def provider_context() -> Iterator[None]:
    """Work in the public schema with the provider's right to every tenant's rows in RLS-guarded tables."""
    connection = connections[get_tenant_database_alias()]
    with schema_context(get_public_schema_name()):
        connection.rls_provider_depth += 1
        connection.search_path_set_schemas = None
        try:
            yield
        finally:
            connection.rls_provider_depth -= 1
            connection.search_path_set_schemas = None


def _activity(name: str, enter: Callable[[tuple], AbstractContextManager]) -> Callable[[F], F]:
    def decorate(func: F) -> F:
        @functools.wraps(func)
        def run(*args, **kwargs):
            close_old_connections()
            try:
                with enter(args):
                    return func(*args, **kwargs)
            finally:
                close_old_connections()

        return activity.defn(name=name)(run)

    return decorate


def tenant_activity(name: str) -> Callable[[F], F]:
    """Declare an activity whose first argument is the schema it must run in."""
    return _activity(name, lambda args: schema_context(args[0]))


def provider_activity(name: str) -> Callable[[F], F]:
    """Declare an activity that runs in provider context."""
    return _activity(name, lambda args: provider_context())
