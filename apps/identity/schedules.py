"""Temporal Schedules owned by identity: re-reading IdP discovery documents and metadata."""

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

from .workflows import RefreshProvidersWorkflow


def refresh_schedule() -> tuple[str, Schedule]:
    queue = settings.TEMPORAL_TASK_QUEUE
    schedule_id = f"{queue}.identity-refresh"
    hours = getattr(settings, "NIMBUS_IDENTITY_REFRESH_HOURS", 24)
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(RefreshProvidersWorkflow.run, id=schedule_id, task_queue=queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=hours))]),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    return schedule_id, schedule


SCHEDULES = [refresh_schedule]
