"""Temporal Schedules owned by the tenancy app."""

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

from .workflows import TenantHeartbeatWorkflow


def heartbeat_schedule() -> tuple[str, Schedule]:
    queue = settings.TEMPORAL_TASK_QUEUE
    schedule = Schedule(
        action=ScheduleActionStartWorkflow(
            TenantHeartbeatWorkflow.run, id=f"{queue}.tenant-heartbeat", task_queue=queue
        ),
        spec=ScheduleSpec(
            intervals=[ScheduleIntervalSpec(every=timedelta(seconds=settings.TEMPORAL_HEARTBEAT_INTERVAL_SECONDS))]
        ),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
    )
    return f"{queue}.tenant-heartbeat", schedule


SCHEDULES = [heartbeat_schedule]
