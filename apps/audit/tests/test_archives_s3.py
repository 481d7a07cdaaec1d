"""Archives in an S3 bucket: the same run, read-back and verification, against moto's S3 server on loopback.

moto is an independent implementation of the S3 API; what is verified here was verified only against it,
not against AWS or MinIO.
"""

from datetime import timedelta

import boto3
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from moto.server import ThreadedMotoServer

from apps.audit import recorder, storage
from apps.audit.archives import archive_run, verify_archive
from apps.audit.models import AuditArchive, AuditEvent
from apps.audit.services import seal_pending, verify_chain
from apps.audit.storage import S3ArchiveStorage, StorageError

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(settings, s3_server):
    settings.S3_ENDPOINT_URL = s3_server
    settings.S3_BUCKET = "nimbus-audit-test"
    settings.S3_ACCESS_KEY_ID, settings.S3_SECRET_ACCESS_KEY = "test", "test"
    client = boto3.client(
        "s3", endpoint_url=s3_server, aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    )
    client.create_bucket(Bucket=settings.S3_BUCKET)
    yield client
    for item in client.list_objects_v2(Bucket=settings.S3_BUCKET).get("Contents", []):
        client.delete_object(Bucket=settings.S3_BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=settings.S3_BUCKET)


def test_archives_go_to_the_bucket_read_back_and_verify(acme, bucket, settings):
    assert isinstance(storage.get_storage(), S3ArchiveStorage)
    with schema_context(acme.schema_name):
        AuditEvent.objects.all().delete()
        made = [recorder.record("accounts:user:update", metadata={"n": n}) for n in range(4)]
        AuditEvent.objects.filter(pk__in=[e.pk for e in made]).update(occurred_at=timezone.now() - timedelta(days=400))
        seal_pending()
        result = archive_run()
        assert result.events == 4 and not AuditEvent.objects.filter(pk__in=[e.pk for e in made]).exists()
        archive = AuditArchive.objects.get()
        keys = [item["Key"] for item in bucket.list_objects_v2(Bucket=settings.S3_BUCKET)["Contents"]]
        assert archive.object_key in keys and len(keys) == 2  # the chunk and its manifest
        assert verify_archive(archive).ok and verify_chain().ok


def test_a_missing_bucket_fails_cleanly(settings, s3_server):
    settings.S3_ENDPOINT_URL, settings.S3_BUCKET = s3_server, "no-such-bucket"
    with pytest.raises(StorageError, match="Could not write"):
        storage.get_storage().put("t_acme/x.jsonl.gz", b"data")


def test_archive_verify_restore_release_round_trip_through_the_bucket(acme, bucket):
    from apps.audit.archives import release_restored, restore_archive

    with schema_context(acme.schema_name):
        AuditEvent.objects.all().delete()
        made = [recorder.record("accounts:user:update", metadata={"n": n}) for n in range(3)]
        AuditEvent.objects.filter(pk__in=[e.pk for e in made]).update(occurred_at=timezone.now() - timedelta(days=400))
        seal_pending()
        sealed = {e.pk: (e.seq, e.hash) for e in AuditEvent.objects.filter(pk__in=[e.pk for e in made])}
        archive_run()
        archive = AuditArchive.objects.get()
        assert verify_archive(archive).ok and not AuditEvent.objects.filter(pk__in=sealed).exists()
        assert restore_archive(archive, actor=None) == 3
        back = {e.pk: (e.seq, e.hash) for e in AuditEvent.objects.filter(pk__in=sealed)}
        assert back == sealed and verify_chain().ok
        assert release_restored(archive) == 3 and verify_chain().ok


def test_an_export_goes_to_the_bucket_and_streams_back(acme, bucket, settings):
    from apps.accounts.services import user_create
    from apps.audit.exports import export_open, export_write
    from apps.audit.models import AuditExport

    with schema_context(acme.schema_name):
        owner = user_create(email="exporter@s3.test", password=None, is_tenant_admin=True)
        recorder.record("test:s3:export", resource_id="one")
        export = AuditExport.objects.create(
            requested_by=owner,
            format="jsonl",
            params={"action": "test:s3:"},
            created_at=timezone.now(),
            expires_at=timezone.now(),
        )
        done = export_write(export_id=export.pk)
        keys = [item["Key"] for item in bucket.list_objects_v2(Bucket=settings.S3_BUCKET)["Contents"]]
        assert done.object_key in keys and done.object_key.startswith("exports/")
        with export_open(actor=owner, export=done) as stream:
            assert b'"resource_id": "one"' in stream.read()
