"""Temporal workflows of identity: the daily re-read of every tenant's IdP discovery documents and metadata.

Deterministic code only (the workflow sandbox re-imports this module):
activities are called by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

# Fetching a document may take the outbound guard's whole timeout per provider; a schema has a handful.
ACTIVITY_TIMEOUT = timedelta(minutes=2)
RETRY = RetryPolicy(maximum_attempts=2, initial_interval=timedelta(seconds=5))


@dataclass
class RefreshInput:
    """Where a run resumes: tenants in schema-name order, a page at a time, continuing as new past a bound."""

    after: str = ""
    reached: int = 0
    page_size: int = 200
    pages_per_run: int = 10


@workflow.defn(name="identity.RefreshProviders")
class RefreshProvidersWorkflow:
    @workflow.run
    async def run(self, data: RefreshInput | None = None) -> int:
        data = data or RefreshInput()
        after, reached = data.after, data.reached
        for _page in range(data.pages_per_run):
            schemas: list[str] = await workflow.execute_activity(
                "tenancy.list_active_schemas",
                args=[after, data.page_size],
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RETRY,
            )
            for schema in schemas:  # one at a time: a slow IdP holds up only its own tenant's turn
                await workflow.execute_activity(
                    "identity.refresh_providers", schema, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY
                )
            reached += len(schemas)
            if len(schemas) < data.page_size:
                return reached
            after = schemas[-1]
        workflow.continue_as_new(
            RefreshInput(after=after, reached=reached, page_size=data.page_size, pages_per_run=data.pages_per_run)
        )


WORKFLOWS = [RefreshProvidersWorkflow]
