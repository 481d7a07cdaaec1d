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


def seal_schedule() -> tuple[str, Schedule]:
    queue = settings.TEMPORAL_TASK_QUEUE
    schedule_id = f"{queue}.audit-seal"
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(SealPendingWorkflow.run, id=schedule_id, task_queue=queue),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.AUDIT_SEAL_INTERVAL_SECONDS))]
        ),
        # A run still sealing when the next is due: skip the next (the running one reaches the same events).
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    return schedule_id, schedule


def archive_schedule() -> tuple[str, Schedule]:
    queue = settings.TEMPORAL_TASK_QUEUE
    schedule_id = f"{queue}.audit-archive"
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(ArchiveEventsWorkflow.run, id=schedule_id, task_queue=queue),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.AUDIT_ARCHIVE_INTERVAL_SECONDS))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    return schedule_id, schedule


def export_purge_schedule() -> tuple[str, Schedule]:
    queue = settings.TEMPORAL_TASK_QUEUE
    schedule_id = f"{queue}.audit-export-purge"
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(PurgeExportsWorkflow.run, id=schedule_id, task_queue=queue),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.AUDIT_EXPORT_PURGE_INTERVAL_SECONDS))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    return schedule_id, schedule


SCHEDULES = [seal_schedule, archive_schedule, export_purge_schedule]
