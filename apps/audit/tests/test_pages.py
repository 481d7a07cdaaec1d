"""The audit pages (/audit/): who may see them, the explorer's filters and infinite scroll, one event, the chain
badge and its full check, and the redaction rules."""

import re

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.audit import recorder, views
from apps.audit.models import AuditEvent, RedactionRule
from apps.audit.services import seal_pending

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_streams")]

HTMX = {"HTTP_HX_REQUEST": "true"}


def record_some(n: int = 5, **extra) -> list[int]:
    ids = []
    for i in range(n):
        recorder.record(
            "accounts:user:update" if i % 2 else "access:role:create",
            resource_type="accounts:user",
            resource_id=i,
            resource_display=f"person{i}@example.test",
            outcome="denied" if i == 3 else "success",
            **extra,
        )
        ids.append(AuditEvent.objects.order_by("-id").values_list("id", flat=True).first())
    return ids


def reverse_sign_in() -> str:
    from django.conf import settings
    from django.shortcuts import resolve_url

    with schema_context("public"):
        return resolve_url(settings.LOGIN_URL)


def text(response) -> str:
    return response.content.decode()


def row_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'href="/audit/events/(\d+)/"', html)]


def test_explorer_shows_events_newest_first_with_the_chain_badge(acme, admin):
    with schema_context(acme.schema_name):
        ids = record_some()
        seal_pending()
        head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    response = admin.get("/audit/")
    assert response.status_code == 200
    html = text(response)
    shown = row_ids(html)
    assert shown[: len(ids)] == sorted(ids, reverse=True)
    assert "person4@example.test" in html and "Denied" in html
    assert f"Chain verified up to event {head}" in html and "unsealed: 0" in html
    assert "Verify whole chain" in html


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("action=accounts:user:up", 2),
        ("outcome=denied", 1),
        ("q=person4@example.test", 1),
        ("resource_id=2", 1),
    ],
)
def test_filters_narrow(acme, admin, query, count):
    with schema_context(acme.schema_name):
        record_some()
    html = text(admin.get(f"/audit/?resource_type=accounts:user&{query}", **HTMX))
    assert len(row_ids(html)) == count
    assert "<html" not in html


def test_a_bad_filter_is_named_and_ignored(acme, admin):
    html = text(admin.get("/audit/?ip=not-an-address"))
    assert "This filter is ignored" in html


def test_the_last_row_loads_the_next_page_and_htmx_gets_only_older_rows(acme, admin, monkeypatch):
    monkeypatch.setattr(views, "PAGE_SIZE", 3)
    with schema_context(acme.schema_name):
        record_some(7)
        ids = list(
            AuditEvent.objects.filter(resource_type="accounts:user").values_list("id", flat=True)
        )  # newest first
    assert len(ids) in (7, 8)  # and the admin's own creation
    html = text(admin.get("/audit/?resource_type=accounts:user"))
    assert row_ids(html) == ids[:3]
    [next_url] = re.findall(r'hx-get="([^"]*before=[^"]*)" hx-trigger="revealed" hx-swap="afterend"', html)
    next_url = next_url.replace("&amp;", "&")
    assert f"before={ids[2]}" in next_url and "resource_type=accounts" in next_url
    rows = text(admin.get(next_url, **HTMX))
    assert rows.lstrip().startswith("<") and "<table" not in rows and "<html" not in rows
    assert row_ids(rows) == ids[3:6]
    last = text(admin.get(f"/audit/?resource_type=accounts:user&before={ids[5]}", **HTMX))
    assert row_ids(last) == ids[6:9] and ("revealed" in last) == (len(ids) > 9)


def test_plain_users_are_refused_and_visitors_sent_to_sign_in(acme, plain, host_client):
    assert plain.get("/audit/").status_code == 403
    assert plain.get("/audit/redaction/").status_code == 403
    assert plain.post("/audit/verify/").status_code == 403
    response = host_client("acme.localhost").get("/audit/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse_sign_in()) and "next=/audit/" in response["Location"]


def test_event_detail_shows_fields_metadata_and_the_diff(acme, admin):
    with schema_context(acme.schema_name):
        recorder.record(
            "access:role:update",
            resource_type="access:role",
            resource_id=9,
            resource_display="helpdesk",
            changes={"label": ["Help desk", "Service desk"], "permissions": [["a:b:view"], ["a:b:view"]]},
            metadata={"reason": "rename"},
        )
        event = AuditEvent.objects.get(action="access:role:update")
    html = text(admin.get(f"/audit/events/{event.pk}/"))
    assert "access:role:update" in html and "helpdesk" in html
    assert "&quot;reason&quot;: &quot;rename&quot;" in html
    diff = html[html.index('id="audit-diff"') :]
    assert re.search(r'<tr class="changed">\s*<th scope="row"><code>label</code>', diff)
    assert "Help desk" in diff and "Service desk" in diff
    assert re.search(r"<tr>\s*<th scope=\"row\"><code>permissions</code>", diff)  # equal: not highlighted


def test_another_tenants_event_is_a_404(acme, globex, admin):
    with schema_context(acme.schema_name):
        record_some(1)
        top = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    with schema_context(globex.schema_name):
        with connection.cursor() as cursor:
            cursor.execute("SELECT setval(pg_get_serial_sequence('audit_auditevent', 'id'), %s)", [top + 1000])
        recorder.record("accounts:user:update", resource_type="accounts:user", resource_id="secret")
        theirs = AuditEvent.objects.get(resource_id="secret").pk
    assert admin.get(f"/audit/events/{theirs}/").status_code == 404
    assert admin.get(f"/audit/events/{top}/").status_code == 200


def test_verifying_the_whole_chain_shows_where_it_broke(acme, admin):
    with schema_context(acme.schema_name):
        record_some()
        seal_pending()
        with connection.cursor() as cursor:
            cursor.execute("UPDATE audit_auditevent SET actor_display = 'someone else' WHERE seq = 2")
    response = admin.post("/audit/verify/", **HTMX)
    assert response.status_code == 200
    html = text(response)
    assert 'id="audit-chain"' in html and "<html" not in html
    assert "BROKEN at event 2: event 2 was changed after it was sealed" in html


def test_verifying_a_sound_chain(acme, admin):
    with schema_context(acme.schema_name):
        record_some()
        seal_pending()
        head = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    html = text(admin.post("/audit/verify/", **HTMX))
    assert f"Chain verified up to event {head}" in html and f"whole chain checked: {head} events" in html


def test_redaction_rules_add_refuse_toggle_and_delete(acme, admin):
    response = admin.post("/audit/redaction/", {"kind": "value", "pattern": r"EMP-\d{6}", "description": "Staff ids"})
    assert response.status_code == 302
    with schema_context(acme.schema_name):
        rule = RedactionRule.objects.get()
        assert rule.pattern == r"EMP-\d{6}" and rule.enabled
        assert AuditEvent.objects.filter(action="audit:redaction:update", actor_display=admin.user.email).exists()
    assert r"EMP-\d{6}" in text(admin.get("/audit/redaction/"))

    refused = admin.post("/audit/redaction/", {"kind": "value", "pattern": "(a|aa)+$"})
    assert refused.status_code == 400
    field = text(refused)[text(refused).index('name="pattern"') :]
    assert 'class="invalid-feedback"' in field[:2000]
    with schema_context(acme.schema_name):
        assert RedactionRule.objects.count() == 1

    assert admin.post(f"/audit/redaction/{rule.pk}/toggle/").status_code == 302
    with schema_context(acme.schema_name):
        assert not RedactionRule.objects.get().enabled

    confirm = admin.get(f"/audit/redaction/{rule.pk}/delete/")
    assert confirm.status_code == 200 and "Delete the rule" in text(confirm)
    assert admin.post(f"/audit/redaction/{rule.pk}/delete/").status_code == 302
    with schema_context(acme.schema_name):
        assert not RedactionRule.objects.exists()


def test_the_menu_shows_audit_to_those_who_may_read_it(acme, admin, plain):
    assert 'href="/audit/"' in text(admin.get("/"))
    assert 'href="/audit/"' not in text(plain.get("/"))


def test_the_provider_host_shows_the_providers_own_stream(provider, signed_in_client):
    staff = signed_in_client(provider, email="staff@audit-pages.test", is_tenant_admin=True)
    with schema_context("public"):
        recorder.record("tenancy:tenant:suspend", resource_type="tenancy:tenant", resource_display="provider-only")
    html = text(staff.get("/audit/"))
    assert "provider-only" in html and 'id="audit-chain"' in html
