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


@dataclass
class HeartbeatInput:
    """Where a heartbeat run resumes: tenants are visited in schema-name order, a page at a time."""

    after: str = ""
    reached: int = 0
    page_size: int = 200
    # Bounds one run's event history (Temporal caps it): past this, the run continues as a new one.
    pages_per_run: int = 20


@workflow.defn(name="tenancy.TenantHeartbeat")
class TenantHeartbeatWorkflow:
    """Run by a Temporal Schedule: records 'last seen' inside every active tenant's schema."""

    @workflow.run
    async def run(self, data: HeartbeatInput | None = None) -> int:
        data = data or HeartbeatInput()
        after, reached = data.after, data.reached
        for _page in range(data.pages_per_run):
            schemas: list[str] = await workflow.execute_activity(
                "tenancy.list_active_schemas",
                args=[after, data.page_size],
                start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY,
            )
            for start in range(0, len(schemas), HEARTBEAT_BATCH):
                await asyncio.gather(
                    *(
                        workflow.execute_activity(
                            "tenancy.record_heartbeat",
                            schema,
                            start_to_close_timeout=ACTIVITY_TIMEOUT,
                            retry_policy=RETRY,
                        )
                        for schema in schemas[start : start + HEARTBEAT_BATCH]
                    )
                )
            reached += len(schemas)
            if len(schemas) < data.page_size:
                return reached
            after = schemas[-1]
        workflow.continue_as_new(
            HeartbeatInput(after=after, reached=reached, page_size=data.page_size, pages_per_run=data.pages_per_run)
        )


WORKFLOWS = [TenantSummaryWorkflow, TenantHeartbeatWorkflow]
