"""Signed checkpoints: stored when sealing, verified with the chain, catching forged checkpoints and a cut tail."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context

from apps.audit import checkpoints, recorder
from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.services import Problem, seal_pending, verify_chain

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_streams")]


@pytest.fixture
def in_acme(acme):
    with schema_context(acme.schema_name):
        yield acme


def record(n: int) -> None:
    for i in range(n):
        recorder.record("accounts:user:view", resource_type="accounts:user", resource_id=i)


def raw(*statements: str) -> None:
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def test_sealing_stores_a_checkpoint_every_n_events_and_at_the_end_of_each_run(in_acme):
    record(7)
    assert seal_pending(checkpoint_every=3) == 7
    assert sorted(AuditCheckpoint.objects.values_list("seq", flat=True)) == [3, 6, 7]
    assert seal_pending() == 0 and AuditCheckpoint.objects.count() == 3  # nothing sealed, nothing signed
    head = AuditEvent.objects.get(seq=7)
    checkpoint = checkpoints.latest()
    assert (checkpoint.seq, checkpoint.hash, checkpoint.key_id) == (7, head.hash, checkpoints.KEY_ID)
    assert checkpoints.is_authentic(checkpoint)
    result = verify_chain()
    assert result.ok and result.checked == 7 and result.checkpoints == 3


def test_each_schema_signs_with_its_own_key_derived_from_the_secret_key(in_acme):
    record(1)
    seal_pending()
    checkpoint = checkpoints.latest()
    assert checkpoints.is_authentic(checkpoint, "t_acme")
    assert not checkpoints.is_authentic(checkpoint, "t_globex")  # copied into another schema, it fails
    with override_settings(SECRET_KEY="another-secret-key-entirely-" * 2):
        assert not checkpoints.is_authentic(checkpoint)
    checkpoint.key_id = "unknown-derivation"
    assert not checkpoints.is_authentic(checkpoint)


@pytest.mark.parametrize(
    "tamper",
    [
        "UPDATE audit_auditcheckpoint SET signature = repeat('0', 64) WHERE seq = 3",
        # A new head with a matching hash, but signed by someone without the key.
        "UPDATE audit_auditcheckpoint SET hash = repeat('a', 64) WHERE seq = 3",
    ],
    ids=["signature", "hash"],
)
def test_a_forged_checkpoint_is_detected(in_acme, tamper):
    record(5)
    seal_pending(checkpoint_every=3)
    raw(tamper)
    result = verify_chain()
    assert not result.ok and result.problem == Problem.CHECKPOINT_FORGED and result.first_bad_seq == 3
    assert "checkpoint at event 3" in result.reason


def test_a_checkpoint_planted_past_the_head_is_reported_as_forged_not_as_truncation(in_acme):
    record(2)
    seal_pending()
    AuditCheckpoint.objects.create(seq=9, hash="b" * 64, signed_at="2026-01-01T00:00Z", signature="c" * 64, key_id="x")
    result = verify_chain()
    assert not result.ok and result.problem == Problem.CHECKPOINT_FORGED and result.first_bad_seq == 9


def test_an_event_rewritten_with_a_consistent_chain_still_fails_its_checkpoint(in_acme):
    """Rehashing every event after an edit fixes the links, not the signed head."""
    from apps.audit.services import link

    record(4)
    seal_pending()
    raw("UPDATE audit_auditevent SET actor_display = 'someone else' WHERE seq = 2")
    prev = AuditEvent.objects.get(seq=1).hash
    for event in AuditEvent.objects.filter(seq__gte=2).order_by("seq"):
        event.prev_hash, event.hash = prev, link(prev, event, event.seq)
        prev = event.hash
        event.save(update_fields=["prev_hash", "hash"])
    result = verify_chain()
    assert not result.ok and result.problem == Problem.CHECKPOINT_MISMATCH and result.first_bad_seq == 4


def test_tail_truncation_is_detected_and_named(in_acme):
    record(5)
    seal_pending()
    raw("DELETE FROM audit_auditevent WHERE seq >= 4")
    for from_checkpoint in (False, True):
        result = verify_chain(from_checkpoint=from_checkpoint)
        assert not result.ok and result.truncated and result.problem == Problem.TRUNCATED
        assert result.first_bad_seq == 4
        assert "truncated" in result.reason and "events 4 to 5 were deleted from its end" in result.reason


def test_deleting_every_event_is_truncation_too(in_acme):
    record(3)
    seal_pending()
    raw("DELETE FROM audit_auditevent")
    result = verify_chain()
    assert result.truncated and result.first_bad_seq == 1


def test_fast_path_verifies_only_from_the_last_checkpoint(in_acme):
    record(6)
    seal_pending()  # checkpoint at 6
    record(3)
    seal_pending()  # checkpoint at 9
    record(2)
    seal_pending(checkpoint_every=10**6)  # checkpoint at 11
    raw("DELETE FROM audit_auditcheckpoint WHERE seq = 11")  # so the latest checkpoint is at event 9
    # An old edit the fast path does not look at; the full walk finds it.
    raw("UPDATE audit_auditevent SET action = 'x' WHERE seq = 2")

    fast = verify_chain(from_checkpoint=True)
    assert fast.ok and fast.from_seq == 9 and fast.checked == 3 and fast.checkpoints == 1
    full = verify_chain()
    assert not full.ok and full.first_bad_seq == 2 and full.problem == Problem.EDITED

    raw("UPDATE audit_auditevent SET action = 'y' WHERE seq = 10")
    fast = verify_chain(from_checkpoint=True)
    assert not fast.ok and fast.first_bad_seq == 10 and fast.problem == Problem.EDITED


def test_fast_path_without_a_checkpoint_walks_the_whole_chain(in_acme):
    record(2)
    seal_pending()
    raw("DELETE FROM audit_auditcheckpoint")
    result = verify_chain(from_checkpoint=True)
    assert result.ok and result.from_seq == 1 and result.checked == 2


def test_the_command_verifies_since_the_checkpoint_and_names_truncation(in_acme, capsys):
    record(3)
    call_command("verify_chain", tenant="acme", since_checkpoint=True)
    assert "1 events verified from event 3, 1 signed checkpoints" in capsys.readouterr().out
    raw("DELETE FROM audit_auditevent WHERE seq = 3")
    with pytest.raises(SystemExit) as exit_:
        call_command("verify_chain", "--since-checkpoint", tenant="acme", no_seal=True)
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and "BROKEN in 'acme' at event 3: the chain was truncated" in err
