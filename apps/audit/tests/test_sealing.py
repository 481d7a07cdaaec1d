"""Sealing off the request path: the Temporal schedule and workflow (real dev server), and crash-safe batches."""

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from unittest import mock

import pytest
from django.conf import settings
from django.db import connections
from django.utils import timezone
from django_tenants.utils import schema_context
from temporalio.client import Client, WorkflowExecutionStatus

from apps.audit import activities, recorder
from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.services import seal_pending, verify_chain
from apps.audit.workflows import SealInput, SealPendingWorkflow
from apps.tenancy.models import Tenant
from nimbus import temporal

pytestmark = pytest.mark.django_db

ACTIVE = ("public", "t_acme_dev", "t_vandelay")  # written to by these tests; initech (suspended) too


def committed(func, *args):
    """Run ``func`` on a connection of its own, committing, as the worker's threads see only committed rows."""

    def in_thread():
        try:
            return func(*args)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(in_thread).result(timeout=60)


def _record_in(schema: str, n: int) -> None:
    with schema_context(schema):
        for i in range(n):
            recorder.record("audit:test:sealing", resource_type="test", resource_id=i)


def _state(schema: str) -> dict:
    with schema_context(schema):
        return {
            "unsealed": AuditEvent.objects.filter(seq__isnull=True, action="audit:test:sealing").count(),
            "sealed": AuditEvent.objects.filter(seq__isnull=False, action="audit:test:sealing").count(),
            "checkpoint": AuditCheckpoint.objects.order_by("-seq").values_list("seq", flat=True).first(),
            # Provisioning recorded events too (the system roles' model changes): the chain holds those as well.
            "events": AuditEvent.objects.count(),
            "verified": verify_chain().ok,
        }


@pytest.fixture
def restore_committed_audit():
    """Put every schema's committed audit rows back as they were: the workflow seals whatever is committed."""
    schemas = ["public", *Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True)]

    def snapshot():
        marks = {}
        for schema in schemas:
            with schema_context(schema):
                last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
                last_mark = AuditCheckpoint.objects.order_by("-id").values_list("id", flat=True).first() or 0
                marks[schema] = (last_event, last_mark)
        return marks

    def restore(marks, started):
        for schema, (last_event, last_mark) in marks.items():
            with schema_context(schema):
                AuditCheckpoint.objects.filter(id__gt=last_mark).delete()
                AuditEvent.objects.filter(id__gt=last_event).delete()
                resealed = AuditEvent.objects.filter(sealed_at__gte=started)
                resealed.update(seq=None, prev_hash="", hash="", sealed_at=None)

    started, marks = timezone.now(), committed(snapshot)
    yield
    committed(restore, marks, started)


async def _with_worker(body):
    client = await Client.connect(settings.TEMPORAL_ADDRESS, namespace=settings.TEMPORAL_NAMESPACE)
    async with temporal.build_worker(client):
        return await body(client)


def test_the_seal_schedule_is_installed_and_seals(restore_committed_audit, acme_dev, initech, run_async):
    committed(_record_in, "t_acme_dev", 3)

    async def body(client):
        ids = await temporal.ensure_schedules(client)
        handles = [client.get_schedule_handle(schedule_id) for schedule_id in ids]
        try:
            await temporal.ensure_schedules(client)  # a second deploy updates in place
            handle = client.get_schedule_handle(f"{settings.TEMPORAL_TASK_QUEUE}.audit-seal")
            description = await handle.describe()
            seen = len(description.info.recent_actions)  # a schedule left by an earlier session may have acted
            await handle.trigger()
            for _ in range(200):
                described = await handle.describe()
                if len(described.info.recent_actions) > seen:
                    break
                await asyncio.sleep(0.05)
            action = described.info.recent_actions[-1].action
            run = client.get_workflow_handle(action.workflow_id, run_id=action.first_execution_run_id)
            return ids, description, await run.result()
        finally:
            for handle in handles:
                await handle.delete()

    ids, description, result = run_async(_with_worker, body)
    assert f"{settings.TEMPORAL_TASK_QUEUE}.audit-seal" in ids
    assert f"{settings.TEMPORAL_TASK_QUEUE}.tenant-heartbeat" in ids
    assert description.schedule.spec.intervals[0].every == timedelta(seconds=settings.AUDIT_SEAL_INTERVAL_SECONDS)
    assert description.schedule.action.workflow == "audit.SealPending"
    assert result["schemas"] == 5 and result["failed"] == []  # public, acme, acme-dev, globex, vandelay
    # The schedule also fires on its own every few seconds: this run or an earlier one sealed the events.
    state = committed(_state, "t_acme_dev")
    assert state["unsealed"] == 0 and state["sealed"] >= 3 and state["verified"]
    state = committed(_state, "t_acme_dev")
    assert (state["unsealed"], state["sealed"], state["verified"]) == (0, 3, True)
    assert state["checkpoint"] == state["events"]  # signed at the chain's last event
    assert SealPendingWorkflow in temporal.registered_workflows()


def test_the_workflow_seals_every_active_schema_a_page_at_a_time(restore_committed_audit, acme_dev, initech, run_async):
    for schema, n in (*((schema, 2) for schema in ACTIVE), ("t_initech", 2)):
        committed(_record_in, schema, n)

    async def body(client):
        handle = await client.start_workflow(
            SealPendingWorkflow.run,
            SealInput(page_size=1, pages_per_run=2),
            id=f"test-audit-seal-{uuid.uuid4()}",
            task_queue=settings.TEMPORAL_TASK_QUEUE,
        )
        result = await handle.result()
        first_run = await client.get_workflow_handle(handle.id, run_id=handle.result_run_id).describe()
        return result, first_run.status

    result, first_status = run_async(_with_worker, body)
    assert first_status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    assert result.schemas == 5 and result.failed == [] and result.sealed >= 6
    for schema in ACTIVE:
        state = committed(_state, schema)
        assert state["unsealed"] == 0 and state["sealed"] == 2 and state["verified"], schema
        assert state["checkpoint"] is not None, schema
    assert committed(_state, "t_initech")["unsealed"] == 2  # suspended: never reached


def test_a_second_run_finds_nothing_to_seal(restore_committed_audit, acme_dev, run_async):
    committed(_record_in, "t_acme_dev", 2)

    async def body(client):
        results = []
        for _ in range(2):
            results.append(
                await client.execute_workflow(
                    SealPendingWorkflow.run,
                    SealInput(),
                    id=f"test-audit-seal-{uuid.uuid4()}",
                    task_queue=settings.TEMPORAL_TASK_QUEUE,
                )
            )
        return results

    first, second = run_async(_with_worker, body)
    assert first.sealed >= 2 and second.sealed == 0
    state = committed(_state, "t_acme_dev")
    assert state["checkpoint"] == state["events"]  # at the last event: no new checkpoint when nothing was sealed


# --- Crash safety (no Temporal needed: the activity's code, in the test's transaction) --------------


@pytest.fixture
def in_acme(acme, empty_streams):
    with schema_context(acme.schema_name):
        yield acme


def test_a_sealer_that_dies_between_batches_loses_nothing(in_acme):
    _record_in("t_acme", 5)
    assert activities.seal_schema("t_acme", batch=2, max_batches=1) == 2  # ...and then the worker dies
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 3
    assert verify_chain().ok  # what was sealed holds, with its checkpoint at event 2
    _record_in("t_acme", 2)  # writers carry on meanwhile
    assert activities.seal_schema("t_acme", batch=2) == 5  # the next run (or the retry) resumes at the head
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4, 5, 6, 7]
    assert not AuditEvent.objects.filter(seq__isnull=True).exists()
    # written order is chain order, across the crash
    assert list(AuditEvent.objects.order_by("id").values_list("seq", flat=True)) == [1, 2, 3, 4, 5, 6, 7]
    result = verify_chain()
    assert result.ok and result.checked == 7 and result.checkpoints == 4  # at 2, 4, 6 and 7


def test_a_sealer_that_dies_inside_a_batch_leaves_it_unsealed(in_acme):
    _record_in("t_acme", 3)
    seal_pending(limit=1)
    with mock.patch("apps.audit.checkpoints.store", side_effect=RuntimeError("killed")), pytest.raises(RuntimeError):
        seal_pending()
    assert AuditEvent.objects.filter(seq__isnull=True).count() == 2  # the batch rolled back whole
    assert list(AuditCheckpoint.objects.values_list("seq", flat=True)) == [1]
    assert seal_pending() == 2 and verify_chain().ok and verify_chain().checkpoints == 2


def test_one_failing_schema_does_not_hold_back_the_others(in_acme):
    _record_in("t_acme", 1)
    with mock.patch.object(activities, "close_old_connections"):  # keep the test's transaction open
        result = activities.seal_schemas(["t_no_such_schema", "t_acme"])
    assert result == {"sealed": 1, "failed": ["t_no_such_schema"]}
    with schema_context("public"):
        assert not AuditCheckpoint.objects.exists() or verify_chain().ok  # public's chain was not touched


def test_concurrent_writers_and_sealers_keep_one_valid_chain(restore_committed_audit, acme_dev):
    """Four writers commit events in their own transactions while two sealers run at once: every event ends in
    one gap-free chain that verifies; no writer waited on another (an INSERT each, no shared row lock)."""
    import threading

    writers, per_writer = 4, 40
    done = threading.Event()

    def write(worker: int) -> None:
        try:
            with schema_context("t_acme_dev"):
                for i in range(per_writer):
                    recorder.record("audit:test:sealing", resource_type="writer", resource_id=f"{worker}-{i}")
        finally:
            connections.close_all()

    def seal_until_done() -> int:
        sealed = 0
        try:
            with schema_context("t_acme_dev"):
                while not done.is_set():
                    sealed += seal_pending(limit=25)
                sealed += seal_pending(limit=1000)
        finally:
            connections.close_all()
        return sealed

    with ThreadPoolExecutor(max_workers=writers + 2) as pool:
        sealers = [pool.submit(seal_until_done) for _ in range(2)]
        for future in [pool.submit(write, worker) for worker in range(writers)]:
            future.result(timeout=120)
        done.set()
        sealed_by_sealers = sum(future.result(timeout=120) for future in sealers)

    def final() -> dict:
        with schema_context("t_acme_dev"):
            seal_pending(limit=1000)
            seqs = list(AuditEvent.objects.filter(seq__isnull=False).order_by("seq").values_list("seq", flat=True))
            return {**_state("t_acme_dev"), "seqs": seqs}

    state = committed(final)
    assert state["unsealed"] == 0 and state["sealed"] == writers * per_writer
    assert state["seqs"] == list(range(state["seqs"][0], state["seqs"][0] + len(state["seqs"])))  # no gaps
    assert state["verified"] and sealed_by_sealers >= writers * per_writer  # the sealers kept up, together
