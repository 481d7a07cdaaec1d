"""Audit exports: filters validated, the file written right (CSV and JSON Lines), progress kept, downloads
recorded, expiry, permissions and isolation, pages and API, and the workflow on the real Temporal dev server."""

import asyncio
import csv
import hashlib
import io
import json
import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from temporalio.client import Client as TemporalClient

from apps.accounts.services import api_token_create, user_create
from apps.audit import exports, recorder
from apps.audit.exports import export_create, export_open, export_write, purge_expired_exports
from apps.audit.models import AuditCheckpoint, AuditEvent, AuditExport
from apps.audit.schedules import SCHEDULES
from apps.audit.storage import get_storage
from apps.audit.workflows import ExportEventsWorkflow, ExportInput
from nimbus import temporal
from nimbus.testing.helpers import committed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def export_dir(settings, tmp_path):
    settings.NIMBUS_AUDIT_ARCHIVE_DIR = tmp_path / "storage"
    return settings.NIMBUS_AUDIT_ARCHIVE_DIR


@pytest.fixture
def in_acme(acme, empty_streams):
    with schema_context(acme.schema_name):
        yield acme


@pytest.fixture
def auditor(in_acme):
    user = user_create(email="auditor@exports.test", password=None, is_tenant_admin=True)
    AuditEvent.objects.all().delete()  # its creation's event: tests count from an empty stream
    return user


def _events(n: int, action: str = "accounts:user:update") -> list[AuditEvent]:
    return [
        recorder.record(action, resource_type="accounts:user", resource_id=i, resource_display=f"user {i}")
        for i in range(n)
    ]


def _read(export: AuditExport) -> bytes:
    return get_storage().get(export.object_key)


# --- The service --------------------------------------------------------------------------------


def test_bad_format_and_filters_are_refused_with_the_reason(auditor):
    with pytest.raises(ValidationError) as caught:
        export_create(actor=auditor, format="xlsx", params={"colour": "red", "since": "yesterday"})
    errors = caught.value.message_dict
    assert "csv" in errors["format"][0] and "jsonl" in errors["format"][0]
    assert "Unknown filters: colour" in errors["params"][0]
    with pytest.raises(ValidationError) as caught:
        export_create(actor=auditor, format="csv", params={"since": "yesterday"})
    assert caught.value.message_dict["params"][0].startswith("since:")
    assert not AuditExport.objects.exists()


def test_asking_is_recorded_with_the_export_in_one_transaction(auditor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        export = export_create(actor=auditor, format="csv", params={"action": "accounts:", "outcome": ""})
    assert export.status == AuditExport.Status.QUEUED and export.params == {"action": "accounts:"}
    assert export.expires_at - export.created_at == timedelta(hours=settings.AUDIT_EXPORT_KEEP_HOURS)
    asked = AuditEvent.objects.get(action="audit:event:export")
    assert (asked.actor_id, asked.resource_id) == (auditor.pk, str(export.pk))
    assert asked.metadata == {"format": "csv", "filters": {"action": "accounts:"}}
    assert len(callbacks) == 1  # the workflow starts only once the request commits


def test_one_person_may_have_only_so_many_exports_in_progress(auditor, settings):
    settings.AUDIT_EXPORT_MAX_IN_PROGRESS = 2
    export_create(actor=auditor, format="csv", params={})
    export_create(actor=auditor, format="jsonl", params={})
    with pytest.raises(ValidationError, match="2 exports in progress"):
        export_create(actor=auditor, format="csv", params={})


def test_csv_has_every_column_and_defuses_spreadsheet_formulas(auditor):
    _events(3)
    recorder.record("accounts:session:login_failed", actor=None, metadata={"email": "=HYPERLINK(1)"})
    AuditEvent.objects.filter(action="accounts:session:login_failed").update(actor_display="=cmd|' /C calc'!A0")
    export = AuditExport.objects.create(
        requested_by=auditor, format="csv", params={}, created_at=timezone.now(), expires_at=timezone.now()
    )
    done = export_write(export_id=export.pk)
    assert done.status == AuditExport.Status.DONE and done.written == done.total == 4
    data = _read(done)
    assert hashlib.sha256(data).hexdigest() == done.sha256 and len(data) == done.size
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    assert [row["action"] for row in rows][:3] == ["accounts:user:update"] * 3  # oldest first
    assert list(rows[0]) == list(exports.COLUMNS)
    assert rows[3]["actor_display"] == "'=cmd|' /C calc'!A0"
    assert json.loads(rows[3]["metadata"]) == {"email": "=HYPERLINK(1)"}  # a JSON cell starts with { : left alone
    # Kept from when it was ready, not from when it was asked for.
    assert done.expires_at == done.finished_at + timedelta(hours=settings.AUDIT_EXPORT_KEEP_HOURS)


def test_json_lines_apply_the_filters_and_carry_the_chain_fields(auditor):
    from apps.audit.services import seal_pending

    _events(2, action="access:role:create")
    _events(3, action="accounts:user:update")
    seal_pending()
    export = AuditExport.objects.create(
        requested_by=auditor,
        format="jsonl",
        params={"action": "access:"},
        created_at=timezone.now(),
        expires_at=timezone.now(),
    )
    done = export_write(export_id=export.pk)
    lines = [json.loads(line) for line in _read(done).decode().splitlines()]
    assert [line["action"] for line in lines] == ["access:role:create"] * 2
    assert all(line["hash"] and line["seq"] for line in lines)
    assert lines[1]["prev_hash"] == lines[0]["hash"]


def test_full_text_filter_and_progress_per_chunk(auditor, monkeypatch):
    monkeypatch.setattr(exports, "CHUNK", 2)
    _events(5)
    recorder.record("accounts:user:disable", resource_display="mallory")
    seen = []
    everything = AuditExport.objects.create(
        requested_by=auditor, format="jsonl", params={}, created_at=timezone.now(), expires_at=timezone.now()
    )
    done = export_write(export_id=everything.pk, heartbeat=seen.append)
    assert done.written == 6 and seen == [2, 4, 6]
    found = AuditExport.objects.create(
        requested_by=auditor,
        format="csv",
        params={"q": "mallory"},
        created_at=timezone.now(),
        expires_at=timezone.now(),
    )
    rows = list(csv.DictReader(io.StringIO(_read(export_write(export_id=found.pk)).decode())))
    assert [row["resource_display"] for row in rows] == ["mallory"]


def test_only_wanted_exports_are_written(auditor):
    export = AuditExport.objects.create(
        requested_by=auditor,
        format="csv",
        params={},
        status=AuditExport.Status.FAILED,
        created_at=timezone.now(),
        expires_at=timezone.now(),
    )
    assert export_write(export_id=export.pk) is None
    assert export_write(export_id=987654) is None


def test_download_is_recorded_and_only_for_its_owner_while_kept(auditor):
    _events(1)
    export = AuditExport.objects.create(
        requested_by=auditor, format="csv", params={}, created_at=timezone.now(), expires_at=timezone.now()
    )
    done = export_write(export_id=export.pk)
    with export_open(actor=auditor, export=done) as stream:
        assert stream.read() == _read(done)
    fetched = AuditEvent.objects.get(action="audit:export:download")
    assert fetched.actor_id == auditor.pk and fetched.metadata["sha256"] == done.sha256
    colleague = user_create(email="colleague@exports.test", password=None, is_tenant_admin=True)
    with pytest.raises(PermissionDenied):
        export_open(actor=colleague, export=done)
    AuditExport.objects.filter(pk=done.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    done.refresh_from_db()
    with pytest.raises(ValidationError, match="expired"):
        export_open(actor=auditor, export=done)


def test_purge_removes_expired_files_and_fails_stuck_runs(auditor):
    _events(1)
    now = timezone.now()
    kept = export_write(
        export_id=AuditExport.objects.create(
            requested_by=auditor, format="csv", params={}, created_at=now, expires_at=now
        ).pk
    )
    old = export_write(
        export_id=AuditExport.objects.create(
            requested_by=auditor, format="jsonl", params={}, created_at=now, expires_at=now
        ).pk
    )
    stuck = AuditExport.objects.create(
        requested_by=auditor,
        format="csv",
        params={},
        status=AuditExport.Status.RUNNING,
        created_at=now - timedelta(days=2),
        expires_at=now - timedelta(days=1),
    )
    AuditExport.objects.filter(pk=old.pk).update(expires_at=now - timedelta(minutes=1))
    old_path = get_storage().path(old.object_key)
    assert purge_expired_exports() == 1
    old.refresh_from_db()
    stuck.refresh_from_db()
    assert old.status == AuditExport.Status.EXPIRED and old.object_key == "" and not old_path.exists()
    assert stuck.status == AuditExport.Status.FAILED and "did not finish" in stuck.error
    assert get_storage().get(kept.object_key)
    assert purge_expired_exports() == 1  # the failed run, now past its time too
    assert purge_expired_exports() == 0


def test_the_purge_schedule_and_the_export_activities_are_registered():
    assert "audit-export-purge" in " ".join(factory()[0] for factory in SCHEDULES)
    names = {getattr(a, "__temporal_activity_definition").name for a in temporal.registered_activities()}
    assert {"audit.export_write", "audit.export_fail", "audit.purge_exports_schemas"} <= names


def test_an_unreachable_temporal_fails_the_export_with_the_reason(auditor, settings):
    settings.TEMPORAL_ADDRESS = "127.0.0.1:9"  # discard port: nothing listens
    export = AuditExport.objects.create(
        requested_by=auditor, format="csv", params={}, created_at=timezone.now(), expires_at=timezone.now()
    )
    exports._start("ignored", export.pk)
    export.refresh_from_db()
    assert export.status == AuditExport.Status.FAILED and "could not be started" in export.error


# --- API ----------------------------------------------------------------------------------------


def _api(tenant, user) -> Client:
    with schema_context(tenant.schema_name):
        _, token = api_token_create(user=user, name="exports")
    host = f"{tenant.slug}.localhost"
    return Client(HTTP_HOST=host, HTTP_AUTHORIZATION=f"Bearer {token}")


def test_api_ask_follow_download(auditor, in_acme, django_capture_on_commit_callbacks):
    _events(2)
    api = _api(in_acme, auditor)
    with django_capture_on_commit_callbacks(execute=False):
        asked = api.post(
            "/api/v1/audit/exports/",
            {"format": "csv", "params": {"action": "accounts:user:"}},
            content_type="application/json",
        )
    assert asked.status_code == 202, asked.content
    body = asked.json()
    assert body["status"] == "queued" and body["download"] is None and body["params"] == {"action": "accounts:user:"}
    assert api.get(f"/api/v1/audit/exports/{body['id']}/download/").status_code == 409
    export_write(export_id=body["id"])
    shown = api.get(f"/api/v1/audit/exports/{body['id']}/").json()
    assert shown["status"] == "done" and shown["percent"] == 100 and shown["written"] == 2
    fetched = api.get(shown["download"])
    assert fetched.status_code == 200 and fetched["Content-Type"] == "text/csv"
    assert b"".join(fetched.streaming_content).startswith(b"id,occurred_at,")
    assert [e["id"] for e in api.get("/api/v1/audit/exports/").json()["results"]] == [body["id"]]


def test_api_bad_input_is_a_400_naming_it(auditor, in_acme):
    api = _api(in_acme, auditor)
    wrong = api.post("/api/v1/audit/exports/", {"format": "pdf"}, content_type="application/json")
    assert wrong.status_code == 400 and "format" in wrong.json()["errors"]
    unknown = api.post(
        "/api/v1/audit/exports/", {"format": "csv", "params": {"ip": "not-an-ip"}}, content_type="application/json"
    )
    assert unknown.status_code == 400 and "ip:" in unknown.json()["errors"]["params"][0]
    extra = api.post("/api/v1/audit/exports/", {"format": "csv", "sql": "1"}, content_type="application/json")
    assert extra.status_code == 400


def test_api_exports_are_their_owners_and_their_tenants_only(auditor, in_acme, globex):
    mine = AuditExport.objects.create(
        requested_by=auditor, format="csv", params={}, created_at=timezone.now(), expires_at=timezone.now()
    )
    colleague = user_create(email="colleague@exports.test", password=None, is_tenant_admin=True)
    plain = user_create(email="plain@exports.test", password=None)
    assert _api(in_acme, colleague).get(f"/api/v1/audit/exports/{mine.pk}/").status_code == 404
    assert _api(in_acme, colleague).get("/api/v1/audit/exports/").json()["results"] == []
    assert _api(in_acme, plain).get("/api/v1/audit/exports/").status_code == 403
    assert (
        _api(in_acme, plain)
        .post("/api/v1/audit/exports/", {"format": "csv"}, content_type="application/json")
        .status_code
        == 403
    )
    # Acme's token on globex's host: refused before any export is looked at.
    stolen = Client(
        HTTP_HOST="globex.localhost", HTTP_AUTHORIZATION=_api(in_acme, auditor).defaults["HTTP_AUTHORIZATION"]
    )
    assert stolen.get(f"/api/v1/audit/exports/{mine.pk}/").status_code == 401
    with schema_context(globex.schema_name):
        globex_admin = user_create(email="admin@globex-exports.test", password=None, is_tenant_admin=True)
        assert _api(globex, globex_admin).get(f"/api/v1/audit/exports/{mine.pk}/").status_code == 404


# --- Pages --------------------------------------------------------------------------------------


def test_explorer_offers_an_export_of_the_filters_shown(admin, plain, empty_streams):
    page = admin.get("/audit/?action=accounts%3A&ip=bad")
    html = page.content.decode()
    form = re.search(r'<form[^>]*id="audit-export-form".*?</form>', html, re.S).group(0)
    assert 'name="action" value="accounts:"' in form and 'name="ip"' not in form  # an invalid filter is not sent on
    assert 'id="audit-export-form"' not in plain.get("/audit/").content.decode()


def test_pages_start_watch_and_download(admin, acme, django_capture_on_commit_callbacks):
    with schema_context(acme.schema_name):
        _events(2)
    with django_capture_on_commit_callbacks(execute=False):
        started = admin.post("/audit/exports/new/", {"format": "jsonl", "action": "accounts:", "before": "99"})
    with schema_context(acme.schema_name):
        export = AuditExport.objects.get(requested_by=admin.user)
    assert started.status_code == 302 and started.url == f"/audit/exports/{export.pk}/"
    assert export.params == {"action": "accounts:"}
    polling = admin.get(f"/audit/exports/{export.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in polling and "Queued" in polling
    with schema_context(acme.schema_name):
        export_write(export_id=export.pk)
    done = admin.get(f"/audit/exports/{export.pk}/", HTTP_HX_REQUEST="true").content.decode()
    assert "every 1s" not in done and "100%" in done and f"/audit/exports/{export.pk}/download/" in done
    listed = admin.get("/audit/exports/").content.decode()
    assert f"Export {export.pk}" in listed and "action=accounts:" in listed
    fetched = admin.get(f"/audit/exports/{export.pk}/download/")
    assert fetched.status_code == 200 and fetched["Content-Disposition"].endswith(f'audit-events-{export.pk}.jsonl"')


def test_pages_refuse_bad_input_strangers_and_readers_without_export(admin, plain, acme, signed_in_client):
    refused = admin.post("/audit/exports/new/", {"format": "pdf"}, follow=True)
    assert "Export not started" in refused.content.decode()
    with schema_context(acme.schema_name):
        export = AuditExport.objects.create(
            requested_by=admin.user, format="csv", params={}, created_at=timezone.now(), expires_at=timezone.now()
        )
    other = signed_in_client(acme, email="other-admin@exports.test", is_tenant_admin=True)
    assert other.get(f"/audit/exports/{export.pk}/").status_code == 404
    assert other.get(f"/audit/exports/{export.pk}/download/").status_code == 404
    assert plain.get("/audit/exports/").status_code == 403
    assert plain.post("/audit/exports/new/", {"format": "csv"}).status_code == 403
    assert admin.get(f"/audit/exports/{export.pk}/download/").status_code == 404  # not ready yet


# --- On the real Temporal dev server ------------------------------------------------------------


def _run_workflow(data: ExportInput) -> str:
    async def body():
        client = await TemporalClient.connect(settings.TEMPORAL_ADDRESS, namespace=settings.TEMPORAL_NAMESPACE)
        async with temporal.build_worker(client):
            return await client.execute_workflow(
                ExportEventsWorkflow.run,
                data,
                id=f"test-audit-export-{uuid.uuid4()}",
                task_queue=settings.TEMPORAL_TASK_QUEUE,
            )

    # On a thread of its own: a browser test earlier in this process leaves Playwright's loop on this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, body()).result(timeout=120)


@pytest.fixture
def committed_export(acme_dev):
    """An export of acme-dev's ``test:export:*`` events, committed (the worker's threads see committed data only);
    everything it made, events included, is removed afterwards."""
    schema = acme_dev.schema_name
    tag = uuid.uuid4().hex[:8]

    def make():
        with schema_context(schema):
            last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
            last_mark = AuditCheckpoint.objects.order_by("-id").values_list("id", flat=True).first() or 0
            owner = user_create(email=f"exporter-{tag}@exports.test", password=None, is_tenant_admin=True)
            for i in range(5):
                recorder.record(f"test:export:{tag}", resource_type="test", resource_id=i)
            export = AuditExport.objects.create(
                requested_by=owner,
                format="csv",
                params={"action": f"test:export:{tag}"},
                created_at=timezone.now(),
                expires_at=timezone.now() + timedelta(hours=1),
            )
            return last_event, last_mark, owner.pk, export.pk

    started = timezone.now()
    last_event, last_mark, owner_id, export_id = committed(make)
    yield ExportInput(schema, export_id)

    def remove():
        from apps.accounts.models import User

        with schema_context(schema):
            AuditExport.objects.filter(pk=export_id).delete()
            User.objects.filter(pk=owner_id).delete()
            # Everything recorded meanwhile (the owner's creation and deletion too): other tests count this stream.
            # A schedule left by an earlier run may have sealed them while the worker ran: unseal what remains.
            AuditCheckpoint.objects.filter(id__gt=last_mark).delete()
            AuditEvent.objects.filter(id__gt=last_event).delete()
            AuditEvent.objects.filter(sealed_at__gte=started).update(seq=None, prev_hash="", hash="", sealed_at=None)

    committed(remove)


def _state(data: ExportInput) -> AuditExport:
    def read():
        with schema_context(data.schema_name):
            return AuditExport.objects.get(pk=data.export_id)

    return committed(read)


def test_the_export_workflow_writes_the_file(committed_export):
    assert _run_workflow(committed_export) == "done"
    export = _state(committed_export)
    assert export.status == "done" and export.written == export.total == 5
    rows = list(csv.DictReader(io.StringIO(get_storage().get(export.object_key).decode())))
    assert [row["resource_id"] for row in rows] == ["0", "1", "2", "3", "4"]


def test_the_export_workflow_marks_a_failing_export_failed(committed_export, settings, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("storage cannot be created under a file")
    settings.NIMBUS_AUDIT_ARCHIVE_DIR = blocker / "storage"
    assert _run_workflow(committed_export) == "failed"
    export = _state(committed_export)
    assert export.status == "failed" and "Could not write" in export.error and export.object_key == ""
