"""Retention and archives: only old sealed events leave the table, as verifiable chunks; the chain still verifies."""

import gzip
import hashlib
import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context
from temporalio.client import Client as TemporalClient

from apps.accounts.services import api_token_create, user_create
from apps.audit import archives, recorder, storage
from apps.audit.archives import ArchiveError, archive_run, retention_update, verify_archive
from apps.audit.models import AuditArchive, AuditEvent, RetentionPolicy
from apps.audit.schedules import SCHEDULES
from apps.audit.services import seal_pending, verify_chain
from apps.audit.storage import StorageError
from apps.audit.workflows import ArchiveEventsWorkflow, ArchiveInput
from apps.tenancy.models import Tenant
from nimbus import temporal

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path):
    settings.NIMBUS_AUDIT_ARCHIVE_DIR = tmp_path / "archives"
    return settings.NIMBUS_AUDIT_ARCHIVE_DIR


@pytest.fixture
def in_acme(acme):
    """Acme's stream, emptied first (browser tests commit events; the deletion rolls back with the test)."""
    with schema_context(acme.schema_name):
        AuditEvent.objects.all().delete()
        yield acme


def events(n: int, *, days_ago: int = 200, seal: bool = True) -> list[AuditEvent]:
    made = [
        recorder.record("accounts:user:update", resource_type="accounts:user", resource_id=i, metadata={"n": i})
        for i in range(n)
    ]
    AuditEvent.objects.filter(pk__in=[e.pk for e in made]).update(occurred_at=timezone.now() - timedelta(days=days_ago))
    if seal:
        seal_pending()
    return made


def test_archive_moves_only_old_sealed_events_and_the_chain_still_verifies(in_acme, archive_dir):
    events(7)  # seq 1-7, old
    recent = events(2, days_ago=1)  # seq 8-9, recent
    older_but_after_recent = events(1)  # seq 10: old, but after a recent one, so it stays (chain prefix only)
    unsealed = events(2, seal=False)  # old, unsealed

    result = archive_run(chunk_size=3)

    assert (result.archives, result.events) == (3, 7)
    left = set(AuditEvent.objects.values_list("pk", flat=True))
    assert left == {e.pk for e in (*recent, *older_but_after_recent, *unsealed)}
    chunks = list(AuditArchive.objects.order_by("first_seq").values_list("first_seq", "last_seq", "event_count"))
    assert chunks == [(1, 3, 3), (4, 6, 3), (7, 7, 1)]
    result = verify_chain()
    assert result.ok and result.from_seq == 8 and result.checked == 3
    assert verify_chain(from_checkpoint=True).ok

    # The files: a gzip JSON Lines chunk with every field, and its manifest.
    last = AuditArchive.objects.order_by("-last_seq").first()
    rows = [json.loads(line) for line in gzip.decompress((archive_dir / last.object_key).read_bytes()).splitlines()]
    assert [row["seq"] for row in rows] == [7] and {"hash", "prev_hash", "metadata", "occurred_at"} <= set(rows[0])
    manifest = json.loads((archive_dir / last.manifest_key).read_text())
    assert manifest["first_seq"] == 7 and manifest["last_hash"] == last.last_hash
    assert manifest["chunk"]["sha256"] == last.sha256
    assert all(verify_archive(archive).ok for archive in AuditArchive.objects.all())

    # Sealing and archiving carry on from there.
    assert archive_run().archives == 0
    events(2)
    assert verify_chain().ok


def test_the_covering_checkpoint_goes_into_the_manifest(in_acme, archive_dir):
    events(4)  # one batch: a checkpoint at seq 4
    archive_run()
    archive = AuditArchive.objects.get()
    assert archive.checkpoint_seq == 4 and archive.checkpoint_signature
    manifest = json.loads((archive_dir / archive.manifest_key).read_text())
    assert manifest["checkpoint"]["seq"] == 4
    assert verify_archive(archive).ok
    assert verify_chain().ok and verify_chain(from_checkpoint=True).ok
    # The chunk's checkpoints left the table with its events (pruned; the covering one is in the manifest).
    from apps.audit.models import AuditCheckpoint

    assert not AuditCheckpoint.objects.filter(seq__lte=archive.last_seq).exists()

    archive.checkpoint_signature = "0" * 64
    assert "signature" in verify_archive(archive).reason


def test_a_tampered_archive_is_detected(in_acme, archive_dir):
    events(3)
    archive_run()
    archive = AuditArchive.objects.get()
    path = archive_dir / archive.object_key
    rows = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]

    # Replaced wholesale: the SHA-256 no longer matches.
    rows[1]["metadata"] = {"n": 99}
    path.write_bytes(gzip.compress(b"".join(json.dumps(row).encode() + b"\n" for row in rows)))
    result = verify_archive(archive)
    assert not result.ok and "SHA-256" in result.reason

    # Even with the recorded digest forged to match, the edited event's hash does not.
    archive.sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
    manifest_path = archive_dir / archive.manifest_key
    manifest = json.loads(manifest_path.read_text())
    manifest["chunk"]["sha256"] = archive.sha256
    manifest_path.write_text(json.dumps(manifest))
    result = verify_archive(archive)
    assert not result.ok and result.first_bad_seq == 2 and "changed" in result.reason

    path.unlink()
    assert not verify_archive(archive).ok


def test_a_storage_failure_deletes_nothing_and_the_next_run_retries(in_acme, archive_dir, monkeypatch):
    events(4)
    archive_dir.parent.mkdir(parents=True, exist_ok=True)
    archive_dir.write_text("a file where the directory should be")  # every write fails
    with pytest.raises(StorageError):
        archive_run()
    assert AuditEvent.objects.count() == 4 and not AuditArchive.objects.exists()

    archive_dir.unlink()

    class Corrupting(storage.LocalArchiveStorage):
        def get(self, key):
            return b"garbage"

    monkeypatch.setattr(archives, "get_storage", lambda: Corrupting(archive_dir))
    with pytest.raises(ArchiveError, match="read back"):
        archive_run()
    assert AuditEvent.objects.count() == 4 and not AuditArchive.objects.exists()

    monkeypatch.undo()
    assert archive_run().events == 4
    assert not AuditEvent.objects.exists() and verify_chain().ok


def test_a_broken_chain_is_not_archived(in_acme):
    made = events(3)
    AuditEvent.objects.filter(pk=made[1].pk).update(metadata={"n": 42})
    with pytest.raises(ArchiveError, match="event 2"):
        archive_run()
    assert AuditEvent.objects.count() == 3 and not AuditArchive.objects.exists()


def test_expired_archives_are_purged_and_the_chain_still_verifies(in_acme, archive_dir):
    events(3)
    archive_run()
    archive = AuditArchive.objects.get()
    retention_update(actor=None, days_hot=90, days_archived=30)
    assert archive_run(now=timezone.now() + timedelta(days=31)).purged == 1
    archive.refresh_from_db()
    assert archive.purged_at and not (archive_dir / archive.object_key).exists()
    assert verify_chain().ok and not verify_archive(archive).ok


def test_retention_validation_and_its_event(in_acme):
    assert (RetentionPolicy.current().days_hot, RetentionPolicy.current().days_archived) == (90, 365)
    for bad in ({"days_hot": 0, "days_archived": 1}, {"days_hot": 3651, "days_archived": 1}):
        with pytest.raises(ValidationError):
            retention_update(actor=None, **bad)
    with pytest.raises(ValidationError) as refused:
        retention_update(actor=None, days_hot=10, days_archived=-1)
    assert "days_archived" in refused.value.message_dict
    policy = retention_update(actor=None, days_hot=30, days_archived=0)
    assert (policy.days_hot, policy.days_archived) == (30, 0)
    event = AuditEvent.objects.get(action="audit:retention:update")
    assert event.changes == {"days_hot": [90, 30], "days_archived": [365, 0]}


# --- API -------------------------------------------------------------------------------------------


def client_for(tenant, user) -> Client:
    with schema_context(tenant.schema_name):
        _, token = api_token_create(user=user, name="archive tests")
    return Client(HTTP_HOST=f"{tenant.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_api_retention_and_archives(in_acme, archive_dir):
    events(3)
    archive_run()
    admin = user_create(email="boss@archives.test", password=None, is_tenant_admin=True)
    plain = user_create(email="plain@archives.test", password=None)
    archive = AuditArchive.objects.get()
    api, nobody = client_for(in_acme, admin), client_for(in_acme, plain)

    assert api.get("/api/v1/audit/retention/").json()["days_hot"] == 90
    changed = api.put("/api/v1/audit/retention/", {"days_hot": 30, "days_archived": 0}, content_type="application/json")
    assert changed.status_code == 200 and changed.json()["days_archived"] == 0
    refused = api.put("/api/v1/audit/retention/", {"days_hot": 0, "days_archived": 0}, content_type="application/json")
    assert refused.status_code == 400 and "days_hot" in refused.json()["errors"]

    listed = api.get("/api/v1/audit/archives/").json()
    assert [row["id"] for row in listed] == [archive.pk] and listed[0]["last_seq"] == 3
    verified = api.post(f"/api/v1/audit/archives/{archive.pk}/verify/").json()
    assert verified["ok"] and verified["checked"] == 3
    archive.refresh_from_db()
    assert archive.verified_at
    download = api.get(f"/api/v1/audit/archives/{archive.pk}/download/")
    assert download.status_code == 200 and download["Content-Type"] == "application/gzip"
    assert len(gzip.decompress(b"".join(download.streaming_content)).splitlines()) == 3
    assert api.post("/api/v1/audit/archives/999999/verify/").status_code == 404

    assert nobody.get("/api/v1/audit/retention/").status_code == 403
    assert nobody.put("/api/v1/audit/retention/", {}, content_type="application/json").status_code == 403
    assert nobody.get("/api/v1/audit/archives/").status_code == 403
    assert nobody.post(f"/api/v1/audit/archives/{archive.pk}/verify/").status_code == 403
    assert nobody.get(f"/api/v1/audit/archives/{archive.pk}/download/").status_code == 403
    assert Client(HTTP_HOST=f"{in_acme.slug}.localhost").get("/api/v1/audit/archives/").status_code in (401, 403)


def test_the_archive_schedule_is_registered():
    found = dict(factory() for factory in SCHEDULES)
    schedule = found[f"{settings.TEMPORAL_TASK_QUEUE}.audit-archive"]
    assert schedule.action.workflow == "audit.ArchiveEvents"
    assert schedule.spec.intervals[0].every == timedelta(seconds=settings.AUDIT_ARCHIVE_INTERVAL_SECONDS)
    assert any(getattr(w, "__name__", "") == "ArchiveEventsWorkflow" for w in temporal.registered_workflows())
    names = {getattr(a, "__temporal_activity_definition").name for a in temporal.registered_activities()}
    assert {"audit.archive_provider", "audit.archive_schemas"} <= names


def test_the_archive_workflow_visits_every_active_schema(acme_dev, initech, run_async):
    """On the real Temporal dev server: committed data is recent, so nothing is archived, and nothing fails."""
    schemas = ["public", *Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True)]

    def committed(func):
        def in_thread():
            try:
                return func()
            finally:
                connections.close_all()

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(in_thread).result(timeout=60)

    def policies() -> dict:
        found = {}
        for schema in schemas:
            with schema_context(schema):
                found[schema] = set(RetentionPolicy.objects.values_list("pk", flat=True))
        return found

    before = committed(policies)

    async def body():
        client = await TemporalClient.connect(settings.TEMPORAL_ADDRESS, namespace=settings.TEMPORAL_NAMESPACE)
        async with temporal.build_worker(client):
            return await client.execute_workflow(
                ArchiveEventsWorkflow.run,
                ArchiveInput(page_size=1, pages_per_run=2),
                id=f"test-audit-archive-{uuid.uuid4()}",
                task_queue=settings.TEMPORAL_TASK_QUEUE,
            )

    try:
        result = run_async(body)
    finally:

        def restore():
            for schema, pks in before.items():
                with schema_context(schema):
                    RetentionPolicy.objects.exclude(pk__in=pks).delete()

        committed(restore)
    assert result.schemas == 5 and result.failed == [] and result.archived == 0


def test_restore_puts_the_events_back_for_searching_and_release_takes_them_out(in_acme, archive_dir):
    from apps.audit.archives import release_expired_restores, release_restored, restore_archive

    made = events(4)
    sealed = {e.pk: (e.seq, e.hash) for e in AuditEvent.objects.filter(pk__in=[e.pk for e in made])}
    events(2, days_ago=1)  # recent: stays in the table
    archive_run()
    archive = AuditArchive.objects.get()
    admin = user_create(email="restorer@archives.test", password=None, is_tenant_admin=True)

    assert restore_archive(archive, actor=admin) == 4
    assert {e.pk: (e.seq, e.hash) for e in AuditEvent.objects.filter(pk__in=sealed)} == sealed
    assert verify_chain().ok and verify_chain(from_checkpoint=True).ok
    restored = AuditEvent.objects.get(action="audit:archive:restore")
    assert restored.actor_id == admin.pk and restored.metadata["events"] == 4
    with pytest.raises(ArchiveError, match="already"):
        restore_archive(archive, actor=admin)
    # Seal the restore's own event, then archive again: the restored events are not taken twice.
    seal_pending()
    assert archive_run().archives == 0 and AuditArchive.objects.count() == 1

    assert release_expired_restores() == 0  # restored just now
    assert release_expired_restores(now=timezone.now() + timedelta(days=settings.AUDIT_RESTORE_DAYS + 1)) == 1
    assert not AuditEvent.objects.filter(pk__in=sealed).exists() and verify_chain().ok
    archive.refresh_from_db()
    assert archive.restored_at is None
    with pytest.raises(ArchiveError, match="not in the table"):
        release_restored(archive)


def test_a_tampered_archive_restores_nothing(in_acme, archive_dir):
    from apps.audit.archives import restore_archive

    events(3)
    archive_run()
    archive = AuditArchive.objects.get()
    path = storage.get_storage().path(archive.object_key)
    rows = gzip.decompress(path.read_bytes()).replace(b"accounts:user:update", b"accounts:user:delete", 1)
    path.write_bytes(gzip.compress(rows, mtime=0))
    before = AuditEvent.objects.count()
    with pytest.raises(ArchiveError, match="does not verify"):
        restore_archive(archive, actor=None)
    assert AuditEvent.objects.count() == before


def test_api_and_page_restore_and_release(in_acme, archive_dir, signed_in_client):
    events(2)
    archive_run()
    archive = AuditArchive.objects.get()
    admin = user_create(email="api-restorer@archives.test", password=None, is_tenant_admin=True)
    plain = user_create(email="plain-restorer@archives.test", password=None)
    api = client_for(in_acme, admin)
    assert client_for(in_acme, plain).post(f"/api/v1/audit/archives/{archive.pk}/restore/").status_code == 403
    restored = api.post(f"/api/v1/audit/archives/{archive.pk}/restore/")
    assert restored.status_code == 200 and restored.json()["restored_at"]
    assert api.post(f"/api/v1/audit/archives/{archive.pk}/restore/").status_code == 409
    assert api.post(f"/api/v1/audit/archives/{archive.pk}/release/").status_code == 200
    assert api.post("/api/v1/audit/archives/999999/restore/").status_code == 404
    page = signed_in_client(in_acme, email="page-restorer@archives.test", is_tenant_admin=True)
    assert "Restore" in page.get("/audit/archives/").content.decode()
    done = page.post(f"/audit/archives/{archive.pk}/restore/", follow=True).content.decode()
    assert "are back in the explorer" in done and "Release" in done
    assert "left the table" in page.post(f"/audit/archives/{archive.pk}/release/", follow=True).content.decode()


def test_a_run_failing_after_writing_leaves_no_stray_files(in_acme, archive_dir, monkeypatch):
    made = events(3)

    def refuse(*args, **kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr(AuditArchive.objects, "create", refuse)
    with pytest.raises(RuntimeError):
        archive_run()
    assert not [path for path in archive_dir.rglob("*") if path.is_file()]  # chunk and manifest removed again
    assert AuditEvent.objects.filter(pk__in=[e.pk for e in made]).count() == 3 and verify_chain().ok
