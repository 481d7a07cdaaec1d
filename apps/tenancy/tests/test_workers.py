"""Tenant context in background work: a real Celery worker, the Temporal dev server, websockets."""

import asyncio
import uuid

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django_tenants.utils import schema_context
from temporalio.client import Client, WorkflowExecutionStatus

from apps.tenancy.context import provider_context
from apps.tenancy.models import TenantHeartbeat
from apps.tenancy.realtime import tenant_group
from apps.tenancy.tasks import context_probe
from apps.tenancy.workflows import HeartbeatInput, TenantHeartbeatWorkflow, TenantInput, TenantSummaryWorkflow
from nimbus import temporal

pytestmark = pytest.mark.django_db


# --- Celery ---------------------------------------------------------------------------------


def test_celery_task_sent_from_a_tenant_runs_in_that_tenant(celery_worker_thread, acme, globex):
    with schema_context(acme.schema_name):
        from_acme = context_probe.delay()
    with schema_context(globex.schema_name):
        from_globex = context_probe.delay()
    from_provider = context_probe.delay()

    assert from_acme.get(timeout=30) == {"schema": "t_acme", "slug": "acme"}
    assert from_globex.get(timeout=30) == {"schema": "t_globex", "slug": "globex"}
    assert from_provider.get(timeout=30)["schema"] == "public"


# --- Temporal -------------------------------------------------------------------------------


async def _with_worker(body):
    client = await Client.connect(settings.TEMPORAL_ADDRESS, namespace=settings.TEMPORAL_NAMESPACE)
    async with temporal.build_worker(client):
        return await body(client)


def test_example_workflow_reads_the_tenant_schema_named_in_its_input(acme, acme_dev, run_async):
    run_id = uuid.uuid4().hex

    async def body(client):
        handles = [
            await temporal.start_tenant_workflow(
                client, TenantSummaryWorkflow.run, TenantInput(schema_name=schema), name=f"summary-{run_id}"
            )
            for schema in ("t_acme", "t_acme_dev")
        ]
        return [handle.id for handle in handles], [await handle.result() for handle in handles]

    ids, results = run_async(_with_worker, body)
    assert ids == [f"t_acme.summary-{run_id}", f"t_acme_dev.summary-{run_id}"]
    assert results == [
        {"schema": "t_acme", "slug": "acme", "name": "Acme Corporation"},
        {"schema": "t_acme_dev", "slug": "acme-dev", "name": "Acme Development"},
    ]


def test_tenant_workflow_without_a_schema_is_refused(run_async):
    async def body(client):
        await temporal.start_tenant_workflow(client, TenantSummaryWorkflow.run, {"slug": "acme"}, name="x")

    with pytest.raises(ValueError, match="schema_name"):
        run_async(_with_worker, body)


def _beats() -> dict[str, int]:
    with provider_context():
        return dict(TenantHeartbeat.objects.values_list("tenant__slug", "beats"))


def test_heartbeat_schedule_records_last_seen_for_active_tenants_only(acme, globex, initech, run_async):
    before = _beats()

    async def body(client):
        ids = await temporal.ensure_schedules(client)  # every app's schedules; the heartbeat is one of them
        schedule_id = next(schedule_id for schedule_id in ids if schedule_id.endswith(".tenant-heartbeat"))
        handle = client.get_schedule_handle(schedule_id)
        try:
            await temporal.ensure_schedules(client)  # a second deploy updates in place
            await handle.trigger()
            for _ in range(200):
                description = await handle.describe()
                if description.info.recent_actions:
                    break
                await asyncio.sleep(0.05)
            action = description.info.recent_actions[-1].action
            run = client.get_workflow_handle(action.workflow_id, run_id=action.first_execution_run_id)
            return schedule_id, await run.result()
        finally:
            for each in ids:
                await client.get_schedule_handle(each).delete()

    schedule_id, reached = run_async(_with_worker, body)
    after = _beats()

    assert schedule_id == f"{settings.TEMPORAL_TASK_QUEUE}.tenant-heartbeat"
    assert reached == 4  # acme, acme-dev, globex, vandelay
    for slug in ("acme", "acme-dev", "globex", "vandelay"):
        assert after[slug] == before.get(slug, 0) + 1
    assert "initech" not in after  # suspended: never reached
    assert TenantHeartbeatWorkflow.__name__ in [w.__name__ for w in temporal.registered_workflows()]


def test_heartbeat_pages_through_tenants_and_continues_as_new(acme, globex, initech, run_async):
    before = _beats()

    async def body(client):
        handle = await client.start_workflow(
            TenantHeartbeatWorkflow.run,
            HeartbeatInput(page_size=1, pages_per_run=1),
            id=f"test-heartbeat-{uuid.uuid4()}",
            task_queue=settings.TEMPORAL_TASK_QUEUE,
        )
        reached = await handle.result()
        first_run = await client.get_workflow_handle(handle.id, run_id=handle.result_run_id).describe()
        return reached, first_run.status

    reached, first_status = run_async(_with_worker, body)
    assert reached == 4
    assert first_status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    after = _beats()
    assert all(after[slug] == before.get(slug, 0) + 1 for slug in ("acme", "acme-dev", "globex"))


# --- Channels ---


@pytest.mark.parametrize("who", ["anonymous", "acme session on globex"])
def test_websocket_needs_a_session_of_the_hosts_own_tenant(run_async, committed_session, acme, globex, who):
    key = "" if who == "anonymous" else committed_session(acme, "admin@acme.localhost")

    async def scenario():
        socket = _socket("globex.localhost", key)
        connected, code = await socket.connect()
        await socket.disconnect()
        return connected, code

    assert run_async(scenario) == (False, 4401)


def _socket(host: str, session_key: str = "") -> WebsocketCommunicator:
    from nimbus.asgi import application

    headers = [(b"host", host.encode()), (b"origin", f"http://{host}".encode())]
    if session_key:
        headers.append((b"cookie", f"sessionid={session_key}".encode()))
    return WebsocketCommunicator(application, "/ws/tenant/", headers=headers)


def test_websocket_resolves_tenant_from_host_and_keeps_groups_apart(run_async, committed_session, acme, globex):
    acme_key = committed_session(acme, "admin@acme.localhost")
    globex_key = committed_session(globex, "admin@globex.localhost")

    async def scenario():
        acme_socket, globex_socket = _socket("acme.localhost", acme_key), _socket("globex.localhost", globex_key)
        assert (await acme_socket.connect())[0]
        assert (await globex_socket.connect())[0]
        hello_acme = await acme_socket.receive_json_from(timeout=5)
        hello_globex = await globex_socket.receive_json_from(timeout=5)

        await get_channel_layer().group_send(
            tenant_group("t_acme", "broadcast"), {"type": "tenant.broadcast", "payload": "for acme"}
        )
        relayed = await acme_socket.receive_json_from(timeout=5)
        globex_got_nothing = await globex_socket.receive_nothing(timeout=0.3)
        await acme_socket.disconnect()
        await globex_socket.disconnect()
        return hello_acme, hello_globex, relayed, globex_got_nothing

    hello_acme, hello_globex, relayed, globex_got_nothing = run_async(scenario)
    assert hello_acme == {"type": "hello", "tenant": "acme", "schema": "t_acme"}
    assert hello_globex == {"type": "hello", "tenant": "globex", "schema": "t_globex"}
    assert relayed == {"type": "broadcast", "payload": "for acme"}
    assert globex_got_nothing


@pytest.mark.parametrize("host", ["nobody.localhost", "initech.localhost"])
def test_websocket_to_unknown_or_suspended_tenant_is_closed(run_async, host, initech):
    async def scenario():
        socket = _socket(host)
        connected, code = await socket.connect()
        await socket.disconnect()
        return connected, code

    connected, code = run_async(scenario)
    assert not connected
    assert code == 4404


def test_websocket_from_a_foreign_origin_is_refused(run_async, acme):
    async def scenario():
        from nimbus.asgi import application

        socket = WebsocketCommunicator(
            application, "/ws/tenant/", headers=[(b"host", b"acme.localhost"), (b"origin", b"http://evil.example")]
        )
        connected, _ = await socket.connect()
        await socket.disconnect()
        return connected

    assert run_async(scenario) is False
