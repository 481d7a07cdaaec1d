"""Temporal client and worker entry point.

Each app may ship ``workflows.py`` (``WORKFLOWS``), ``activities.py``
(``ACTIVITIES``) and ``schedules.py`` (``SCHEDULES``: callables returning
``(schedule_id, Schedule)``). The worker serves them all on one task queue;
``ensure_schedules`` creates or updates every schedule so that a deploy
changes them in place.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from concurrent.futures import ThreadPoolExecutor

from django.apps import apps
from django.conf import settings
from temporalio.client import Client, ScheduleAlreadyRunningError, ScheduleUpdate, WorkflowHandle
from temporalio.worker import Worker

logger = logging.getLogger(__name__)


async def connect() -> Client:
    return await Client.connect(settings.TEMPORAL_ADDRESS, namespace=settings.TEMPORAL_NAMESPACE)


async def start_tenant_workflow(client: Client, workflow_run, data, *, name: str) -> WorkflowHandle:
    """Start a workflow for one tenant on the Nimbus task queue.

    ``data`` must carry ``schema_name``: activities open that schema, never the
    caller's. The workflow id starts with the schema, so two tenants' runs of
    the same name never collide and a tenant's runs are easy to list.
    """
    schema_name = getattr(data, "schema_name", None)
    if not schema_name:
        raise ValueError("Tenant workflow input must carry schema_name.")
    return await client.start_workflow(
        workflow_run, data, id=f"{schema_name}.{name}", task_queue=settings.TEMPORAL_TASK_QUEUE
    )


# How long a web request waits to hand work to Temporal before telling the person it could not.
START_TIMEOUT_SECONDS = 10


def start_tenant_workflow_now(workflow_run, data, *, name: str) -> str:
    """From synchronous code (a view, a service's on-commit hook): start a tenant workflow and return its id.

    Runs the client on a short-lived thread with its own event loop, so it works whether or not the calling
    thread has a loop running (ASGI runs sync views in worker threads). Raises ``TemporalUnavailable`` when
    the server cannot be reached in ``START_TIMEOUT_SECONDS``.
    """

    async def start() -> str:
        client = await asyncio.wait_for(connect(), START_TIMEOUT_SECONDS)
        handle = await asyncio.wait_for(
            start_tenant_workflow(client, workflow_run, data, name=name), START_TIMEOUT_SECONDS
        )
        return handle.id

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="temporal-start") as pool:
        try:
            return pool.submit(asyncio.run, start()).result()
        except Exception as exc:  # connection, RPC or timeout: whatever it is, the workflow did not start
            raise TemporalUnavailable(f"Temporal at {settings.TEMPORAL_ADDRESS} did not take the work: {exc}") from exc


class TemporalUnavailable(Exception):
    """The Temporal server could not be reached, or refused to start a workflow."""


def _collect(module_name: str, attribute: str) -> list:
    found = []
    for config in apps.get_app_configs():
        if not config.name.startswith("apps."):
            continue
        try:
            module = importlib.import_module(f"{config.name}.{module_name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.{module_name}":
                raise
            continue
        found.extend(getattr(module, attribute, []))
    return found


def registered_workflows() -> list:
    return _collect("workflows", "WORKFLOWS")


def registered_activities() -> list:
    return _collect("activities", "ACTIVITIES")


def registered_schedules() -> list:
    return _collect("schedules", "SCHEDULES")


def build_worker(client: Client, *, task_queue: str | None = None, max_concurrent_activities: int = 16) -> Worker:
    return Worker(
        client,
        task_queue=task_queue or settings.TEMPORAL_TASK_QUEUE,
        workflows=registered_workflows(),
        activities=registered_activities(),
        activity_executor=ThreadPoolExecutor(max_workers=max_concurrent_activities, thread_name_prefix="activity"),
        max_concurrent_activities=max_concurrent_activities,
    )


async def ensure_schedules(client: Client) -> list[str]:
    """Create every registered schedule, or bring an existing one up to date."""
    ids = []
    for factory in registered_schedules():
        schedule_id, schedule = factory()
        try:
            await client.create_schedule(schedule_id, schedule)
        except ScheduleAlreadyRunningError:
            await client.get_schedule_handle(schedule_id).update(lambda _input, s=schedule: ScheduleUpdate(schedule=s))
        ids.append(schedule_id)
    return ids


async def run_worker(*, schedules: bool = True, stop: asyncio.Event | None = None) -> None:
    client = await connect()
    if schedules:
        logger.info("temporal schedules ensured", extra={"schedules": await ensure_schedules(client)})
    worker = build_worker(client)
    logger.info("temporal worker started", extra={"task_queue": settings.TEMPORAL_TASK_QUEUE})
    async with worker:
        await (stop or asyncio.Event()).wait()
