"""Temporal workflow that seals the audit chains: the provider's (``public``) and every active tenant's.

Deterministic code only: no Django imports (the workflow sandbox re-imports
this module); activities are called by name. Tenants are visited a page at a
time in schema-name order, one activity per page, and a run continues as new
past ``pages_per_run`` pages, like the tenant heartbeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

# A page seals up to page_size schemas, each up to a bounded number of batches; it heartbeats per schema.
PAGE_TIMEOUT = timedelta(minutes=5)
PAGE_HEARTBEAT = timedelta(seconds=60)
LIST_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200))


@dataclass
class SealInput:
    """Where a sealing run resumes (the provider's stream is sealed first, once per schedule action)."""

    after: str = ""
    provider_done: bool = False
    page_size: int = 100
    pages_per_run: int = 20
    schemas: int = 0
    sealed: int = 0
    failed: list[str] = field(default_factory=list)


@dataclass
class SealResult:
    schemas: int
    sealed: int
    failed: list[str]


@workflow.defn(name="audit.SealPending")
class SealPendingWorkflow:
    """Run by a Temporal Schedule: seals every schema's pending audit events and signs a checkpoint per schema."""

    @workflow.run
    async def run(self, data: SealInput | None = None) -> SealResult:
        data = data or SealInput()
        after, schemas, sealed, failed = data.after, data.schemas, data.sealed, list(data.failed)
        if not data.provider_done:
            page = await workflow.execute_activity(
                "audit.seal_provider",
                start_to_close_timeout=PAGE_TIMEOUT,
                heartbeat_timeout=PAGE_HEARTBEAT,
                retry_policy=RETRY,
            )
            schemas, sealed, failed = schemas + 1, sealed + page["sealed"], failed + page["failed"]
        for _page in range(data.pages_per_run):
            names: list[str] = await workflow.execute_activity(
                "tenancy.list_active_schemas",
                args=[after, data.page_size],
                start_to_close_timeout=LIST_TIMEOUT,
                retry_policy=RETRY,
            )
            if names:
                page = await workflow.execute_activity(
                    "audit.seal_schemas",
                    names,
                    start_to_close_timeout=PAGE_TIMEOUT,
                    heartbeat_timeout=PAGE_HEARTBEAT,
                    retry_policy=RETRY,
                )
                schemas, sealed, failed = schemas + len(names), sealed + page["sealed"], failed + page["failed"]
            if len(names) < data.page_size:
                return SealResult(schemas=schemas, sealed=sealed, failed=failed)
            after = names[-1]
        workflow.continue_as_new(
            SealInput(
                after=after,
                provider_done=True,
                page_size=data.page_size,
                pages_per_run=data.pages_per_run,
                schemas=schemas,
                sealed=sealed,
                failed=failed,
            )
        )


# Archiving writes whole chunks to storage: a page of schemas gets longer, heartbeating per schema.
ARCHIVE_PAGE_TIMEOUT = timedelta(minutes=30)
ARCHIVE_PAGE_HEARTBEAT = timedelta(minutes=5)


@dataclass
class ArchiveInput:
    """Where an archive run resumes; same paging as sealing (the provider's stream first)."""

    after: str = ""
    provider_done: bool = False
    page_size: int = 20
    pages_per_run: int = 20
    schemas: int = 0
    archived: int = 0
    failed: list[str] = field(default_factory=list)


@dataclass
class ArchiveResult:
    schemas: int
    archived: int
    failed: list[str]


@workflow.defn(name="audit.ArchiveEvents")
class ArchiveEventsWorkflow:
    """Run by a Temporal Schedule: moves every schema's old sealed events to archives (``archives.archive_run``)."""

    @workflow.run
    async def run(self, data: ArchiveInput | None = None) -> ArchiveResult:
        data = data or ArchiveInput()
        after, schemas, archived, failed = data.after, data.schemas, data.archived, list(data.failed)
        if not data.provider_done:
            page = await workflow.execute_activity(
                "audit.archive_provider",
                start_to_close_timeout=ARCHIVE_PAGE_TIMEOUT,
                heartbeat_timeout=ARCHIVE_PAGE_HEARTBEAT,
                retry_policy=RETRY,
            )
            schemas, archived, failed = schemas + 1, archived + page["archived"], failed + page["failed"]
        for _page in range(data.pages_per_run):
            names: list[str] = await workflow.execute_activity(
                "tenancy.list_active_schemas",
                args=[after, data.page_size],
                start_to_close_timeout=LIST_TIMEOUT,
                retry_policy=RETRY,
            )
            if names:
                page = await workflow.execute_activity(
                    "audit.archive_schemas",
                    names,
                    start_to_close_timeout=ARCHIVE_PAGE_TIMEOUT,
                    heartbeat_timeout=ARCHIVE_PAGE_HEARTBEAT,
                    retry_policy=RETRY,
                )
                schemas, archived = schemas + len(names), archived + page["archived"]
                failed = failed + page["failed"]
            if len(names) < data.page_size:
                return ArchiveResult(schemas=schemas, archived=archived, failed=failed)
            after = names[-1]
        workflow.continue_as_new(
            ArchiveInput(
                after=after,
                provider_done=True,
                page_size=data.page_size,
                pages_per_run=data.pages_per_run,
                schemas=schemas,
                archived=archived,
                failed=failed,
            )
        )


WORKFLOWS = [SealPendingWorkflow, ArchiveEventsWorkflow]
