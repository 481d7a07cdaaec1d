"""A tenant's own redaction rules: applied before storing, refused when a pattern could run away."""

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from apps.audit import recorder
from apps.audit.models import AuditEvent, RedactionRule
from apps.audit.redaction import REDACTED, check_pattern
from apps.audit.services import redaction_rule_delete, redaction_rule_save

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("pattern", "complaint"),
    [
        ("(a|aa)+$", "catastrophic backtracking"),
        ("(", "Not a valid regular expression"),
        (".*", "matches empty text"),
        ("", "1 to 500 characters"),
        ("x" * 501, "1 to 500 characters"),
    ],
)
def test_dangerous_or_broken_patterns_are_refused(pattern, complaint):
    assert complaint in " ".join(check_pattern(pattern))


def test_safe_patterns_pass():
    assert check_pattern(r"EMP-\d{6}") == [] and check_pattern(r"^national_id$") == []


def test_tenant_rules_redact_before_storing_and_only_in_their_tenant(acme, globex):
    with schema_context(acme.schema_name):
        redaction_rule_save(actor=None, kind="value", pattern=r"EMP-\d{6}", description="Employee numbers")
        redaction_rule_save(actor=None, kind="field", pattern=r"^national_id$")
        event = recorder.record(
            "accounts:user:update", metadata={"note": "badge EMP-123456 issued", "national_id": "X1", "ok": "EMP-12"}
        )
        event.refresh_from_db()
        assert event.metadata == {"note": f"badge {REDACTED} issued", "national_id": REDACTED, "ok": "EMP-12"}
        assert AuditEvent.objects.filter(action="audit:redaction:update").count() == 2
    with schema_context(globex.schema_name):
        other = recorder.record("accounts:user:update", metadata={"note": "badge EMP-123456 issued"})
        other.refresh_from_db()
        assert other.metadata == {"note": "badge EMP-123456 issued"}


def test_a_refused_rule_saves_nothing_and_a_deleted_rule_stops_applying(acme):
    with schema_context(acme.schema_name):
        with pytest.raises(ValidationError) as refused:
            redaction_rule_save(actor=None, kind="value", pattern="(a|aa)+$")
        assert "catastrophic backtracking" in " ".join(refused.value.message_dict["pattern"])
        assert not RedactionRule.objects.exists()
        rule = redaction_rule_save(actor=None, kind="value", pattern=r"secret-\w+")
        assert recorder.record("x:y:z", metadata={"a": "secret-sauce"}).metadata == {"a": REDACTED}
        redaction_rule_delete(actor=None, rule=rule)
        assert recorder.record("x:y:z", metadata={"a": "secret-sauce"}).metadata == {"a": "secret-sauce"}
