"""Temporal Schedules owned by the audit app: sealing the audit chains off the request path, archiving, and
removing expired exports."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from temporalio.client import (
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
)

from .workflows import ArchiveEventsWorkflow, PurgeExportsWorkflow, SealPendingWorkflow


def _every(workflow_run, name: str, seconds: int) -> tuple[str, Schedule]:
    """A schedule ``<queue>.<name>`` starting ``workflow_run`` every ``seconds``; a run still going when the next
    is due makes it skip (the running one reaches the same events)."""
    queue = settings.TEMPORAL_TASK_QUEUE
    schedule_id = f"{queue}.{name}"
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(workflow_run, id=schedule_id, task_queue=queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=seconds))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    return schedule_id, schedule


def seal_schedule() -> tuple[str, Schedule]:
    return _every(SealPendingWorkflow.run, "audit-seal", settings.AUDIT_SEAL_INTERVAL_SECONDS)


def archive_schedule() -> tuple[str, Schedule]:
    return _every(ArchiveEventsWorkflow.run, "audit-archive", settings.AUDIT_ARCHIVE_INTERVAL_SECONDS)


def export_purge_schedule() -> tuple[str, Schedule]:
    return _every(PurgeExportsWorkflow.run, "audit-export-purge", settings.AUDIT_EXPORT_PURGE_INTERVAL_SECONDS)


SCHEDULES = [seal_schedule, archive_schedule, export_purge_schedule]
