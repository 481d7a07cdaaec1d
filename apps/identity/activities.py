"""Temporal activities of identity: idempotent, each inside the schema it names."""

from __future__ import annotations

from apps.tenancy.context import tenant_activity

from . import services


@tenant_activity("identity.refresh_providers")
def refresh_providers(schema_name: str) -> dict[str, int]:
    return services.providers_refresh()


ACTIVITIES = [refresh_providers]
