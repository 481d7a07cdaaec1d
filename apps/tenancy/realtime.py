"""Tenant context for async code: database calls and channel-layer group names.

The schema lives on the database connection, and ``database_sync_to_async``
runs each call in a pool thread whose connection may still point at another
tenant. Every call therefore opens the tenant's schema itself and always
returns to ``public`` afterwards.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async
from django.db import close_old_connections
from django_tenants.utils import schema_context


def tenant_database_sync_to_async(schema_name: str, func: Callable[..., Any]):
    """Wrap a sync ORM function to run in ``schema_name`` from async code."""

    @functools.wraps(func)
    def in_schema(*args, **kwargs):
        try:
            with schema_context(schema_name):
                return func(*args, **kwargs)
        finally:
            release_connections()

    return database_sync_to_async(in_schema)


def release_connections() -> None:
    """Close expired connections from inside the call that used them.

    channels' ``database_sync_to_async`` closes old connections around the
    call, but with asgiref 3.13 the call runs in a copied context that holds
    its own connection objects, which that cleanup cannot see: connections
    opened in the call stayed open (seen with the test database, which could
    not be dropped). Closing them from inside the call reaches them.
    """
    close_old_connections()


def tenant_group(schema_name: str, name: str) -> str:
    """Channel-layer group names start with the schema, so tenants never share a group."""
    return f"{schema_name}.{name}"
