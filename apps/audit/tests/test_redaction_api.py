"""The redaction rules API (/api/v1/audit/redaction-rules/): list, add, read, change and delete a tenant's
rules through the services, which refuse runaway patterns and record every change."""

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.services import api_token_create, user_create
from apps.audit import recorder
from apps.audit.models import AuditEvent, RedactionRule
from apps.audit.services import redaction_rule_save

pytestmark = pytest.mark.django_db

URL = "/api/v1/audit/redaction-rules/"


def client_for(tenant, user) -> Client:
    with schema_context(tenant.schema_name):
        _, token = api_token_create(user=user, name="redaction rules")
    return Client(HTTP_HOST=f"{tenant.slug}.localhost", HTTP_AUTHORIZATION=f"Bearer {token}")


def user_in(tenant, email: str, **flags):
    with schema_context(tenant.schema_name):
        return user_create(email=email, password=None, **flags)


@pytest.fixture
def boss(acme):
    return user_in(acme, "boss@redaction-api.test", is_tenant_admin=True)


@pytest.fixture
def api(acme, boss):
    return client_for(acme, boss)


def post(api, body):
    return api.post(URL, body, content_type="application/json")


def patch(api, url, body):
    return api.patch(url, body, content_type="application/json")


def changes_recorded(tenant, rule_id) -> list[dict]:
    with schema_context(tenant.schema_name):
        return [
            {"actor": e.actor_display, "changes": e.changes, "metadata": e.metadata}
            for e in AuditEvent.objects.filter(action="audit:redaction:update", resource_id=str(rule_id)).order_by("id")
        ]


def test_add_list_read_change_and_delete_a_rule(acme, boss, api):
    created = post(api, {"kind": "value", "pattern": r"EMP-\d{6}", "description": "Staff ids"})
    assert created.status_code == 201
    rule = created.json()
    assert {k: rule[k] for k in ("kind", "pattern", "description", "enabled")} == {
        "kind": "value",
        "pattern": r"EMP-\d{6}",
        "description": "Staff ids",
        "enabled": True,
    }
    listed = api.get(URL).json()
    assert [r["pattern"] for r in listed["results"]] == [r"EMP-\d{6}"]
    assert api.get(f"{URL}{rule['id']}/").json() == rule

    changed = patch(api, f"{URL}{rule['id']}/", {"enabled": False, "description": "Staff numbers"})
    assert changed.status_code == 200
    assert changed.json()["enabled"] is False and changed.json()["pattern"] == r"EMP-\d{6}"
    with schema_context(acme.schema_name):
        stored = RedactionRule.objects.get(pk=rule["id"])
        assert not stored.enabled and stored.description == "Staff numbers"

    assert api.delete(f"{URL}{rule['id']}/").status_code == 204
    with schema_context(acme.schema_name):
        assert not RedactionRule.objects.exists()
    assert api.get(f"{URL}{rule['id']}/").status_code == 404

    recorded = changes_recorded(acme, rule["id"])
    assert [e["actor"] for e in recorded] == [boss.email] * 3
    assert recorded[0]["changes"]["pattern"] == [None, r"EMP-\d{6}"]
    assert recorded[1]["changes"] == {"enabled": [True, False]}
    assert recorded[2]["metadata"] == {"deleted": True}


def test_a_new_rule_applies_to_events_recorded_after_it(acme, api):
    assert post(api, {"kind": "field", "pattern": "^employee_no$"}).status_code == 201
    with schema_context(acme.schema_name):
        recorder.record("accounts:user:update", resource_type="accounts:user", metadata={"employee_no": "12345"})
        event = AuditEvent.objects.filter(action="accounts:user:update").order_by("-id").first()
    assert event.metadata == {"employee_no": "[redacted]"}


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"kind": "value", "pattern": "(a|aa)+$"}, "pattern", "catastrophic backtracking"),
        ({"kind": "value", "pattern": "(unclosed"}, "pattern", "Not a valid regular expression"),
        ({"kind": "value", "pattern": "x*"}, "pattern", "empty"),
        ({"kind": "value", "pattern": "x" * 501}, "pattern", "500"),
        ({"kind": "colour", "pattern": "x"}, "kind", "valid choice"),
        ({"pattern": "x"}, "kind", "required"),
        ({"kind": "value", "pattern": "x", "id": 7}, "id", "not accepted"),
        ({"kind": "value", "pattern": "x", "colour": "red"}, "colour", "not accepted"),
    ],
)
def test_bad_rules_are_400_with_the_reason(acme, api, body, field, words):
    response = post(api, body)
    assert response.status_code == 400
    reasons = " ".join(response.json()["errors"][field])
    assert reasons and words in reasons
    with schema_context(acme.schema_name):
        assert not RedactionRule.objects.exists()
        assert not AuditEvent.objects.filter(action="audit:redaction:update").exists()


def test_changes_are_checked_like_new_rules(acme, api):
    first = post(api, {"kind": "value", "pattern": r"EMP-\d{6}"}).json()
    second = post(api, {"kind": "value", "pattern": r"CUST-\d{6}"}).json()
    runaway = patch(api, f"{URL}{first['id']}/", {"pattern": "(a|aa)+$"})
    assert runaway.status_code == 400 and runaway.json()["errors"]["pattern"]
    duplicate = patch(api, f"{URL}{second['id']}/", {"pattern": r"EMP-\d{6}"})
    assert duplicate.status_code == 400 and "exists already" in str(duplicate.json()["errors"]["pattern"])
    unknown = patch(api, f"{URL}{first['id']}/", {"created_at": "2020-01-01T00:00:00Z"})
    assert unknown.status_code == 400 and "created_at" in unknown.json()["errors"]
    assert api.put(f"{URL}{first['id']}/", first, content_type="application/json").status_code == 405
    with schema_context(acme.schema_name):
        assert sorted(RedactionRule.objects.values_list("pattern", flat=True)) == [r"CUST-\d{6}", r"EMP-\d{6}"]


def test_plain_users_may_neither_read_nor_change_rules(acme, boss):
    with schema_context(acme.schema_name):
        rule = redaction_rule_save(actor=boss, kind="value", pattern=r"EMP-\d{6}")
    plain = client_for(acme, user_in(acme, "plain@redaction-api.test"))
    assert plain.get(URL).status_code == 403
    assert post(plain, {"kind": "value", "pattern": "x+"}).status_code == 403
    assert plain.get(f"{URL}{rule.pk}/").status_code == 404
    assert patch(plain, f"{URL}{rule.pk}/", {"enabled": False}).status_code == 404
    assert plain.delete(f"{URL}{rule.pk}/").status_code == 404
    with schema_context(acme.schema_name):
        assert RedactionRule.objects.get().enabled
    assert Client(HTTP_HOST="acme.localhost").get(URL).status_code == 401


def test_another_tenants_rules_are_out_of_reach(acme, globex, api):
    ours = post(api, {"kind": "value", "pattern": r"ACME-\d+"}).json()
    with schema_context(globex.schema_name):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('audit_redactionrule', 'id'), %s)", [ours["id"] + 1000]
            )
        globex_admin = user_create(email="admin@globex-redaction.test", password=None, is_tenant_admin=True)
        theirs = redaction_rule_save(actor=globex_admin, kind="value", pattern=r"GLOBEX-\d+")
    assert [r["pattern"] for r in api.get(URL).json()["results"]] == [r"ACME-\d+"]
    assert api.get(f"{URL}{theirs.pk}/").status_code == 404
    assert patch(api, f"{URL}{theirs.pk}/", {"enabled": False}).status_code == 404
    assert api.delete(f"{URL}{theirs.pk}/").status_code == 404
    # acme's token on globex's host is nobody there.
    acme_token = api.defaults["HTTP_AUTHORIZATION"]
    stolen = Client(HTTP_HOST="globex.localhost", HTTP_AUTHORIZATION=acme_token)
    assert stolen.get(URL).status_code == 401
    assert stolen.delete(f"{URL}{theirs.pk}/").status_code == 401
    with schema_context(globex.schema_name):
        assert RedactionRule.objects.get().enabled
