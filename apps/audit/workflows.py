"""Temporal workflow that seals the audit chains: the provider's (``public``) and every active tenant's.

Deterministic code only: no Django imports (the workflow sandbox re-imports
this module); activities are called by name. Tenants are visited a page at a
time in schema-name order, one activity per page, and a run continues as new
past ``pages_per_run`` pages, like the tenant heartbeat.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

# A page seals up to page_size schemas, each up to a bounded number of batches; it heartbeats per schema.
PAGE_TIMEOUT = timedelta(minutes=5)
PAGE_HEARTBEAT = timedelta(seconds=60)
LIST_TIMEOUT = timedelta(seconds=30)
RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(milliseconds=200))


@dataclass
class VisitInput:
    """Where a run over every schema resumes: the provider's stream first, once, then active tenants a page at a
    time; each workflow adds the field it counts into."""

    after: str = ""
    provider_done: bool = False
    page_size: int = 100
    pages_per_run: int = 20
    schemas: int = 0
    failed: list[str] = field(default_factory=list)


@dataclass
class SealInput(VisitInput):
    """Where a sealing run resumes."""

    sealed: int = 0


@dataclass
class SealResult:
    schemas: int
    sealed: int
    failed: list[str]


@dataclass
class Visit:
    """How far a run over every schema got: done, or where the next run (continued as new) resumes."""

    done: bool
    after: str
    schemas: int
    count: int
    failed: list[str]


async def _visit_every_schema(
    data, *, count: int, provider_activity: str, page_activity: str, key: str, timeout, heartbeat
) -> Visit:
    """The provider's stream once, then active tenants a page at a time (``page_activity`` per page), summing
    each activity's ``key`` and its failed schemas; stops after ``data.pages_per_run`` pages."""
    after, schemas, failed = data.after, data.schemas, list(data.failed)
    if not data.provider_done:
        page = await workflow.execute_activity(
            provider_activity, start_to_close_timeout=timeout, heartbeat_timeout=heartbeat, retry_policy=RETRY
        )
        schemas, count, failed = schemas + 1, count + page[key], failed + page["failed"]
    for _page in range(data.pages_per_run):
        names: list[str] = await workflow.execute_activity(
            "tenancy.list_active_schemas",
            args=[after, data.page_size],
            start_to_close_timeout=LIST_TIMEOUT,
            retry_policy=RETRY,
        )
        if names:
            page = await workflow.execute_activity(
                page_activity,
                names,
                start_to_close_timeout=timeout,
                heartbeat_timeout=heartbeat,
                retry_policy=RETRY,
            )
            schemas, count, failed = schemas + len(names), count + page[key], failed + page["failed"]
        if len(names) < data.page_size:
            return Visit(True, after, schemas, count, failed)
        after = names[-1]
    return Visit(False, after, schemas, count, failed)


async def _visit_or_continue(data, *, key: str, **visit_options) -> Visit:
    """``_visit_every_schema`` from where ``data`` resumes, counting into ``data.<key>``; when pages are left,
    the run continues as new from there (``continue_as_new`` does not return)."""
    visit = await _visit_every_schema(data, count=getattr(data, key), key=key, **visit_options)
    if not visit.done:
        workflow.continue_as_new(
            replace(
                data,
                after=visit.after,
                provider_done=True,
                schemas=visit.schemas,
                failed=visit.failed,
                **{key: visit.count},
            )
        )
    return visit


@workflow.defn(name="audit.SealPending")
class SealPendingWorkflow:
    """Run by a Temporal Schedule: seals every schema's pending audit events and signs a checkpoint per schema."""

    @workflow.run
    async def run(self, data: SealInput | None = None) -> SealResult:
        data = data or SealInput()
        visit = await _visit_or_continue(
            data,
            key="sealed",
            provider_activity="audit.seal_provider",
            page_activity="audit.seal_schemas",
            timeout=PAGE_TIMEOUT,
            heartbeat=PAGE_HEARTBEAT,
        )
        return SealResult(schemas=visit.schemas, sealed=visit.count, failed=visit.failed)


# Archiving writes whole chunks to storage: a page of schemas gets longer, heartbeating per schema.
ARCHIVE_PAGE_TIMEOUT = timedelta(minutes=30)
ARCHIVE_PAGE_HEARTBEAT = timedelta(minutes=5)


@dataclass
class ArchiveInput(VisitInput):
    """Where an archive run resumes (smaller pages: archiving a schema takes longer than sealing it)."""

    page_size: int = 20
    archived: int = 0


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
        visit = await _visit_or_continue(
            data,
            key="archived",
            provider_activity="audit.archive_provider",
            page_activity="audit.archive_schemas",
            timeout=ARCHIVE_PAGE_TIMEOUT,
            heartbeat=ARCHIVE_PAGE_HEARTBEAT,
        )
        return ArchiveResult(schemas=visit.schemas, archived=visit.count, failed=visit.failed)


# An export writes one file; it heartbeats per chunk, so a stuck one is retried long before the timeout.
EXPORT_TIMEOUT = timedelta(hours=2)
EXPORT_HEARTBEAT = timedelta(minutes=2)
EXPORT_RETRY = RetryPolicy(maximum_attempts=3, initial_interval=timedelta(seconds=1))


@dataclass
class ExportInput:
    """Which export, in which schema (``exports.export_create`` starts the workflow with it)."""

    schema_name: str
    export_id: int


@workflow.defn(name="audit.ExportEvents")
class ExportEventsWorkflow:
    """Started by ``exports.export_create``: writes one export's file; when every attempt fails, marks it failed."""

    @workflow.run
    async def run(self, data: ExportInput) -> str:
        try:
            return await workflow.execute_activity(
                "audit.export_write",
                args=[data.schema_name, data.export_id],
                start_to_close_timeout=EXPORT_TIMEOUT,
                heartbeat_timeout=EXPORT_HEARTBEAT,
                retry_policy=EXPORT_RETRY,
            )
        except ActivityError as error:
            cause = error.cause
            reason = getattr(cause, "message", None) or str(cause or error)
            await workflow.execute_activity(
                "audit.export_fail",
                args=[data.schema_name, data.export_id, f"The export failed: {reason}"],
                start_to_close_timeout=LIST_TIMEOUT,
                retry_policy=RETRY,
            )
            return "failed"


@dataclass
class PurgeInput(VisitInput):
    """Where a purge run of expired exports resumes."""

    expired: int = 0


@dataclass
class PurgeResult:
    schemas: int
    expired: int
    failed: list[str]


@workflow.defn(name="audit.PurgeExports")
class PurgeExportsWorkflow:
    """Run by a Temporal Schedule: removes every schema's expired export files (``exports.purge_expired_exports``)."""

    @workflow.run
    async def run(self, data: PurgeInput | None = None) -> PurgeResult:
        data = data or PurgeInput()
        visit = await _visit_or_continue(
            data,
            key="expired",
            provider_activity="audit.purge_exports_provider",
            page_activity="audit.purge_exports_schemas",
            timeout=PAGE_TIMEOUT,
            heartbeat=PAGE_HEARTBEAT,
        )
        return PurgeResult(schemas=visit.schemas, expired=visit.count, failed=visit.failed)


WORKFLOWS = [SealPendingWorkflow, ArchiveEventsWorkflow, ExportEventsWorkflow, PurgeExportsWorkflow]
