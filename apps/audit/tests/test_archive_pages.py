"""The retention and archive pages (/audit/retention/, /audit/archives/): who may see them, saving the policy,
the archive list, verifying one archive and downloading its file."""

import gzip
import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.audit import recorder
from apps.audit.archives import archive_run
from apps.audit.models import AuditArchive, AuditCheckpoint, AuditEvent, RetentionPolicy
from apps.audit.services import seal_pending

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_streams")]


@pytest.fixture(autouse=True)
def archive_dir(settings, tmp_path):
    settings.NIMBUS_AUDIT_ARCHIVE_DIR = tmp_path / "archives"
    return settings.NIMBUS_AUDIT_ARCHIVE_DIR


def text(response) -> str:
    return response.content.decode()


def archived(tenant, n: int = 3) -> AuditArchive:
    """``n`` old sealed events in the tenant's stream, archived by ``archive_run``."""
    with schema_context(tenant.schema_name):
        AuditEvent.objects.all().delete()  # the sign-ins since the streams were emptied: recent, so they would stay
        AuditCheckpoint.objects.all().delete()
        made = [
            recorder.record("accounts:user:update", resource_type="accounts:user", resource_id=i, metadata={"n": i})
            for i in range(n)
        ]
        old = timezone.now() - timedelta(days=200)
        AuditEvent.objects.filter(pk__in=[e.pk for e in made]).update(occurred_at=old)
        seal_pending()
        archive_run()
        return AuditArchive.objects.get()


def test_pages_render_for_a_tenant_admin_with_their_tabs(acme, admin):
    for path in ("/audit/archives/", "/audit/retention/"):
        response = admin.get(path)
        assert response.status_code == 200, path
        html = text(response)
        assert 'href="/audit/archives/"' in html and 'href="/audit/retention/"' in html
    assert "No archives yet." in text(admin.get("/audit/archives/"))
    # The other audit pages carry the new tabs too.
    assert 'href="/audit/archives/"' in text(admin.get("/audit/"))


def test_plain_users_are_refused(acme, plain):
    archive = archived(acme)
    assert plain.get("/audit/archives/").status_code == 403
    assert plain.get("/audit/retention/").status_code == 403
    assert plain.post("/audit/retention/", {"days_hot": 5, "days_archived": 5}).status_code == 403
    assert plain.post(f"/audit/archives/{archive.pk}/verify/").status_code == 403
    assert plain.get(f"/audit/archives/{archive.pk}/download/").status_code == 403
    with schema_context(acme.schema_name):
        assert not AuditEvent.objects.filter(action="audit:archive:download").exists()


def test_retention_shows_the_current_values_and_saves(acme, admin):
    with schema_context(acme.schema_name):
        policy = RetentionPolicy.current()
        policy.days_hot, policy.days_archived = 45, 0
        policy.save()
    html = text(admin.get("/audit/retention/"))
    assert '<dd class="col-sm-6">45</dd>' in html and "forever (0)" in html
    assert 'name="days_hot" value="45"' in html

    response = admin.post("/audit/retention/", {"days_hot": 30, "days_archived": 400})
    assert response.status_code == 302 and response["Location"] == "/audit/retention/"
    with schema_context(acme.schema_name):
        policy = RetentionPolicy.current()
        assert (policy.days_hot, policy.days_archived) == (30, 400)
        event = AuditEvent.objects.get(action="audit:retention:update")
        assert event.actor_display == admin.user.email and event.changes["days_hot"] == [45, 30]
    assert '<dd class="col-sm-6">30</dd>' in text(admin.get("/audit/retention/"))


def test_retention_refusals_are_shown_next_to_the_fields(acme, admin):
    response = admin.post("/audit/retention/", {"days_hot": 0, "days_archived": 99999})
    assert response.status_code == 400
    html = text(response)
    hot = html[html.index('name="days_hot"') :]
    assert 'class="invalid-feedback"' in hot[:2000] and "Between 1 and 3650 days" in hot[:2000]
    archived_field = html[html.index('name="days_archived"') :]
    assert "Between 0 and 3650 days" in archived_field[:2000]
    with schema_context(acme.schema_name):
        policy = RetentionPolicy.current()
        assert (policy.days_hot, policy.days_archived) == (90, 365)
        assert not AuditEvent.objects.filter(action="audit:retention:update").exists()


def test_the_archive_list_shows_an_archive(acme, admin):
    archive = archived(acme)
    html = text(admin.get("/audit/archives/"))
    assert f"{archive.first_seq}\N{EN DASH}{archive.last_seq}" in html
    assert archive.first_occurred_at.strftime("%Y-%m-%d") in html
    assert f'action="/audit/archives/{archive.pk}/verify/"' in html
    assert f'href="/audit/archives/{archive.pk}/download/"' in html
    assert "never" in html  # not verified yet


def test_verify_reports_ok_then_a_tampered_file(acme, admin, archive_dir):
    archive = archived(acme)
    response = admin.post(f"/audit/archives/{archive.pk}/verify/", follow=True)
    assert response.status_code == 200
    assert "Archive of events 1 to 3 verified: OK (3 events)." in text(response)
    with schema_context(acme.schema_name):
        archive.refresh_from_db()
        assert archive.verified_at is not None
        # Nothing recorded beyond the middleware's ``http:request`` for the POST.
        assert set(AuditEvent.objects.values_list("action", flat=True)) == {"http:request"}

    path = archive_dir / archive.object_key
    rows = [json.loads(line) for line in gzip.decompress(path.read_bytes()).splitlines()]
    rows[1]["metadata"] = {"n": 99}
    path.write_bytes(gzip.compress(b"".join(json.dumps(row).encode() + b"\n" for row in rows)))
    html = text(admin.post(f"/audit/archives/{archive.pk}/verify/", follow=True))
    assert "Archive of events 1 to 3: BROKEN" in html and "SHA-256" in html


def test_download_streams_the_gzip_and_records_it(acme, admin, archive_dir):
    archive = archived(acme)
    response = admin.get(f"/audit/archives/{archive.pk}/download/")
    assert response.status_code == 200 and response["Content-Type"] == "application/gzip"
    assert archive.object_key.rsplit("/", 1)[-1] in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    assert body == (archive_dir / archive.object_key).read_bytes()
    assert [json.loads(line)["seq"] for line in gzip.decompress(body).splitlines()] == [1, 2, 3]
    with schema_context(acme.schema_name):
        event = AuditEvent.objects.get(action="audit:archive:download")
        assert event.actor_display == admin.user.email
        assert (event.resource_type, event.resource_id) == ("audit:archive", str(archive.pk))
