"""Temporal workflows of the tenancy app.

Deterministic code only: no Django imports here (the workflow sandbox
re-imports this module). Activities are called by name; their code lives in
``activities.py``. Every input that concerns one tenant carries its schema.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

ACTIVITY_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200))
HEARTBEAT_BATCH = 50


@dataclass
class TenantInput:
    schema_name: str


@workflow.defn(name="tenancy.TenantSummary")
class TenantSummaryWorkflow:
    """Example of the tenant path: reads the tenant's own schema through an activity."""

    @workflow.run
    async def run(self, data: TenantInput) -> dict:
        return await workflow.execute_activity(
            "tenancy.describe_tenant", data.schema_name, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY
        )


@workflow.defn(name="tenancy.TenantHeartbeat")
class TenantHeartbeatWorkflow:
    """Run by a Temporal Schedule: records 'last seen' inside every active tenant's schema."""

    @workflow.run
    async def run(self) -> int:
        schemas: list[str] = await workflow.execute_activity(
            "tenancy.list_active_schemas", start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY
        )
        for start in range(0, len(schemas), HEARTBEAT_BATCH):
            await asyncio.gather(
                *(
                    workflow.execute_activity(
                        "tenancy.record_heartbeat", schema, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY
                    )
                    for schema in schemas[start : start + HEARTBEAT_BATCH]
                )
            )
        return len(schemas)


WORKFLOWS = [TenantSummaryWorkflow, TenantHeartbeatWorkflow]
