"""Checkpoints kept outside the database: ``export_checkpoints`` writes them as JSON Lines, and
``verify_chain --checkpoints FILE`` catches the newest events deleted together with their checkpoints."""

import json
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.audit import checkpoints, recorder
from apps.audit.archives import archive_run
from apps.audit.models import AuditCheckpoint, AuditEvent
from apps.audit.services import Problem, link, seal_pending, verify_chain

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


def export(tmp_path, tenant: str = "acme", **options):
    path = tmp_path / f"{tenant}-checkpoints.jsonl"
    call_command("export_checkpoints", tenant=tenant, output=str(path), **options)
    return path


def verify(path, capsys, tenant: str = "acme") -> tuple[int, str]:
    """Exit code and output of ``verify_chain --checkpoints path --no-seal``."""
    try:
        call_command("verify_chain", tenant=tenant, checkpoints=str(path), no_seal=True)
    except SystemExit as exit_:
        return exit_.code, capsys.readouterr().err
    return 0, capsys.readouterr().out


def test_the_export_is_every_signed_checkpoint_as_json_lines(in_acme, capsys):
    record(5)
    seal_pending(checkpoint_every=2)  # checkpoints at 2, 4, 5
    record(1)  # the command seals it first: a checkpoint at 6
    call_command("export_checkpoints", tenant="acme")
    lines = capsys.readouterr().out.splitlines()
    rows = [json.loads(line) for line in lines]
    assert [row["seq"] for row in rows] == [2, 4, 5, 6]
    stored = AuditCheckpoint.objects.get(seq=4)
    assert rows[1] == {
        "schema": "t_acme",
        "seq": 4,
        "hash": stored.hash,
        "signature": stored.signature,
        "key_id": checkpoints.KEY_ID,
        "created_at": stored.signed_at.isoformat(),
    }
    assert AuditEvent.objects.get(seq=4).hash == rows[1]["hash"]

    call_command("export_checkpoints", tenant="acme", after=4, no_seal=True)
    assert [json.loads(line)["seq"] for line in capsys.readouterr().out.splitlines()] == [5, 6]


def test_the_export_goes_to_a_file_and_a_sound_chain_matches_it(in_acme, tmp_path, capsys):
    record(3)
    path = export(tmp_path)
    assert "Wrote 1 checkpoints of 'acme'" in capsys.readouterr().err
    record(2)
    seal_pending()  # newer events than the export: fine
    code, out = verify(path, capsys)
    assert code == 0 and "5 events verified, 2 signed checkpoints, 1 exported checkpoints matched" in out


def test_deleting_the_newest_events_and_their_checkpoints_is_caught_by_the_export(in_acme, tmp_path, capsys):
    record(3)
    seal_pending()  # checkpoint at 3
    record(2)
    path = export(tmp_path)  # seals 4-5: checkpoint at 5
    raw("DELETE FROM audit_auditevent WHERE seq >= 4", "DELETE FROM audit_auditcheckpoint WHERE seq >= 4")

    assert verify_chain().ok  # the database alone cannot tell
    result = verify_chain(exported=checkpoints.read_export(path.read_text().splitlines()))
    assert not result.ok and result.truncated and result.first_bad_seq == 4 and result.exported == 1
    assert "events 4 to 5 were deleted from its end" in result.reason

    code, err = verify(path, capsys)
    assert code == 1 and "BROKEN in 'acme' at event 4: the chain was truncated" in err
    assert "a checkpoint exported on" in err


def test_a_rewritten_chain_without_its_checkpoints_is_caught_by_the_export(in_acme, tmp_path, capsys):
    record(4)
    path = export(tmp_path)  # checkpoint at 4
    raw("UPDATE audit_auditevent SET actor_display = 'someone else' WHERE seq = 2")
    prev = AuditEvent.objects.get(seq=1).hash
    for event in AuditEvent.objects.filter(seq__gte=2).order_by("seq"):
        event.prev_hash, event.hash = prev, link(prev, event, event.seq)
        prev = event.hash
        event.save(update_fields=["prev_hash", "hash"])
    raw("DELETE FROM audit_auditcheckpoint")
    assert verify_chain().ok
    code, err = verify(path, capsys)
    assert code == 1 and "at event 4: event 4 does not match the exported checkpoint at that event" in err
    result = verify_chain(exported=checkpoints.read_export(path.read_text().splitlines()))
    assert result.problem == Problem.CHECKPOINT_MISMATCH


def test_an_altered_export_is_reported_as_forged(in_acme, tmp_path, capsys):
    record(2)
    path = export(tmp_path)
    row = json.loads(path.read_text())
    row["seq"] = 9  # claims a later head than was signed
    path.write_text(json.dumps(row) + "\n")
    code, err = verify(path, capsys)
    assert code == 1 and "at event 9: the exported checkpoint at event 9 does not carry a valid signature" in err


def test_checkpoints_of_archived_events_are_left_to_the_archives(in_acme, tmp_path, capsys, settings):
    settings.NIMBUS_AUDIT_ARCHIVE_DIR = tmp_path / "archives"
    record(3)
    AuditEvent.objects.update(occurred_at=timezone.now() - timedelta(days=200))
    seal_pending()  # checkpoint at 3
    record(1)
    path = export(tmp_path)  # checkpoints at 3 and 4
    assert archive_run().events == 3
    code, out = verify(path, capsys)
    assert code == 0 and "1 exported checkpoints matched" in out


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("not json\n", "line 1 is not JSON"),
        ('{"seq": 1}\n', "line 1 lacks schema, hash, signature, key_id, created_at"),
        ("\n[1, 2]\n", "line 2 is not a JSON object"),
        (
            '{"schema": "t_acme", "seq": "1", "hash": "", "signature": "", "key_id": "k", "created_at": "x"}\n',
            "line 1: seq must be a whole number from 1",
        ),
    ],
)
def test_a_file_that_is_not_an_export_is_refused_with_the_reason(in_acme, tmp_path, content, complaint):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(CommandError, match=complaint):
        call_command("verify_chain", tenant="acme", checkpoints=str(path))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("verify_chain", tenant="acme", checkpoints=str(tmp_path / "missing.jsonl"))


def test_another_tenants_export_is_refused_not_taken_for_tampering(acme, globex, tmp_path):
    with schema_context(globex.schema_name):
        record(2)
    path = export(tmp_path, tenant="globex")
    with schema_context(acme.schema_name):
        record(2)
    with pytest.raises(CommandError, match="holds checkpoints of t_globex, not of 't_acme'"):
        call_command("verify_chain", tenant="acme", checkpoints=str(path))
    # Relabelled as acme's, its signatures (made with globex's key) do not verify.
    path.write_text(path.read_text().replace('"t_globex"', '"t_acme"'))
    with pytest.raises(SystemExit):
        call_command("verify_chain", tenant="acme", checkpoints=str(path), no_seal=True)


def test_exporting_an_unknown_tenant_is_refused(db):
    with pytest.raises(CommandError, match="No tenant with slug 'nobody'"):
        call_command("export_checkpoints", tenant="nobody")
