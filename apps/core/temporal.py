"""Helpers for Temporal activities that touch the database in a tenant's schema.

Workflow code never touches the ORM; it passes the schema name in its input.
Activities are plain synchronous functions run by the worker's thread pool,
and each opens the schema itself, like a request would, and releases its
connection the way Django's request cycle does.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import close_old_connections
from django_tenants.utils import get_public_schema_name, schema_context
from temporalio import activity

F = TypeVar("F", bound=Callable[..., Any])


def tenant_activity(name: str) -> Callable[[F], F]:
    """Declare an activity whose first argument is the schema it must run in."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def run(schema_name: str, *args, **kwargs):
            close_old_connections()
            try:
                with schema_context(schema_name):
                    return func(schema_name, *args, **kwargs)
            finally:
                close_old_connections()

        return activity.defn(name=name)(run)

    return decorate


def provider_activity(name: str) -> Callable[[F], F]:
    """Declare an activity that runs in the provider (public) schema."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def run(*args, **kwargs):
            close_old_connections()
            try:
                with schema_context(get_public_schema_name()):
                    return func(*args, **kwargs)
            finally:
                close_old_connections()

        return activity.defn(name=name)(run)

    return decorate
