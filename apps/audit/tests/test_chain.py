"""Recording in the change's transaction, redaction, and a hash chain that names the first tampered event."""

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import schema_context

from apps.audit import recorder
from apps.audit.models import AuditEvent
from apps.audit.redaction import REDACTED, redact
from apps.audit.services import seal_pending, verify_chain

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_streams")]


@pytest.fixture
def in_acme(acme):
    with schema_context(acme.schema_name):
        yield acme


def five_events():
    for n in range(5):
        recorder.record("accounts:user:update", resource_type="accounts:user", resource_id=n, metadata={"n": n})
    assert seal_pending() == 5


def raw(*statements: str) -> None:
    """What someone with direct database access could do."""
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def test_an_event_rolls_back_with_its_change(in_acme):
    with pytest.raises(RuntimeError), transaction.atomic():
        recorder.record("accounts:user:create", resource_type="accounts:user", resource_id="1")
        raise RuntimeError("the change failed")
    assert not AuditEvent.objects.exists()
    recorder.record("accounts:user:create", resource_type="accounts:user", resource_id="2")
    assert AuditEvent.objects.count() == 1


def test_secrets_and_card_numbers_are_redacted_before_they_are_stored(in_acme):
    event = recorder.record(
        "accounts:user:update",
        changes={"password": ["old", "new"], "display_name": ["A", "B"]},
        metadata={"headers": {"Authorization": "Bearer x"}, "note": "card 4111 1111 1111 1111 on file", "api_key": 1},
    )
    event.refresh_from_db()
    assert event.changes == {"password": REDACTED, "display_name": ["A", "B"]}
    assert event.metadata["headers"] == {"Authorization": REDACTED} and event.metadata["api_key"] == REDACTED
    assert event.metadata["note"] == f"card {REDACTED} on file"
    assert redact({"order": "12345678901234"}) == {"order": "12345678901234"}  # not a valid card number


def test_sealing_links_events_in_order_and_the_chain_verifies(in_acme):
    five_events()
    assert list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4, 5]
    assert verify_chain().ok and verify_chain().checked == 5
    recorder.record("accounts:user:view")
    assert seal_pending() == 1 and verify_chain().checked == 6


@pytest.mark.parametrize(
    ("tamper", "bad_seq", "reason"),
    [
        ("UPDATE audit_auditevent SET actor_display = 'someone else' WHERE seq = 3", 3, "changed after it was sealed"),
        ("DELETE FROM audit_auditevent WHERE seq = 2", 2, "missing"),
        (
            (  # swapped through negative numbers: seq is unique
                "UPDATE audit_auditevent SET seq = -seq WHERE seq IN (2, 4)",
                "UPDATE audit_auditevent SET seq = CASE seq WHEN -2 THEN 4 ELSE 2 END WHERE seq < 0",
            ),
            2,
            "",
        ),
        ("UPDATE audit_auditevent SET metadata = '{\"n\": 99}' WHERE seq = 5", 5, "changed after it was sealed"),
    ],
    ids=["edited", "deleted", "reordered", "edited-json"],
)
def test_tampering_is_detected_at_the_first_bad_event(in_acme, tamper, bad_seq, reason):
    five_events()
    raw(*([tamper] if isinstance(tamper, str) else tamper))
    result = verify_chain()
    assert not result.ok and result.first_bad_seq == bad_seq and reason in result.reason


def test_an_event_inserted_into_the_chain_is_detected(in_acme):
    five_events()
    forged = AuditEvent.objects.get(seq=3)
    raw(
        "UPDATE audit_auditevent SET seq = -(seq + 1) WHERE seq >= 3",
        "UPDATE audit_auditevent SET seq = -seq WHERE seq < 0",
    )
    forged.pk, forged.seq = None, 3
    forged.save()
    result = verify_chain()
    assert not result.ok and result.first_bad_seq in (3, 4)


def test_each_tenant_has_its_own_chain(acme, globex):
    with schema_context(acme.schema_name):
        five_events()
    with schema_context(globex.schema_name):
        recorder.record("accounts:user:view")
        assert seal_pending() == 1
        assert AuditEvent.objects.get().seq == 1 and verify_chain().checked == 1


def test_the_command_seals_and_verifies(in_acme, capsys):
    recorder.record("accounts:user:view")
    call_command("verify_chain", tenant="acme")
    assert "1 events verified" in capsys.readouterr().out
    raw("UPDATE audit_auditevent SET action = 'x'")
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_chain", tenant="acme")
    assert exit_.value.code == 1 and "BROKEN in 'acme' at event 1" in capsys.readouterr().err


def test_the_fast_paths_hash_every_kind_of_value_as_the_model_does(in_acme):
    """Sealing and verifying read rows, not model instances: the chained form must come out byte for byte the
    same (unicode, nesting, numbers, nulls, no address, an IPv6 address, a time with no microseconds)."""
    from datetime import UTC, datetime

    from apps.audit.services import _chain_rows, canonical, canonical_values

    recorder.record(
        "accounts:user:update",
        resource_display="Zoë — ünïcode ✓",
        changes={"b": [None, 1.5], "a": {"z": [1, 2, {"y": True}], "é": 'x\ny\t"q"'}},
        metadata={"n": 10**20, "f": 0.1, "list": []},
    )
    event = recorder.record("http:request", metadata={})
    AuditEvent.objects.filter(pk=event.pk).update(
        source_ip="2001:db8::1", occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    )
    assert seal_pending() == 2
    events = AuditEvent.objects.filter(seq__isnull=False).order_by("seq")
    for instance, row in zip(events, _chain_rows(events), strict=True):
        assert canonical_values(row[3:], instance.seq) == canonical(instance, instance.seq)
        assert row[2] == instance.hash
    assert verify_chain().ok
