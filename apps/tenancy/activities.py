"""Temporal activities of the tenancy app: idempotent, each inside the schema it names."""

from __future__ import annotations

from django.db import connection

from . import selectors, services
from .context import provider_activity, tenant_activity


@tenant_activity("tenancy.describe_tenant")
def describe_tenant(schema_name: str) -> dict:
    tenant = selectors.tenant_by_schema(schema_name)
    return {"schema": connection.schema_name, "slug": tenant.slug, "name": tenant.name}


@provider_activity("tenancy.list_active_schemas")
def list_active_schemas(after: str, limit: int) -> list[str]:
    return selectors.active_tenant_schemas(after=after, limit=limit)


@tenant_activity("tenancy.record_heartbeat")
def record_heartbeat(schema_name: str) -> str:
    return services.heartbeat_record(schema_name=schema_name).last_seen_at.isoformat()


ACTIVITIES = [describe_tenant, list_active_schemas, record_heartbeat]
