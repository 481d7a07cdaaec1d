"""Retention and archives: old sealed events leave the table for compressed, verifiable chunks in archive storage.

``archive_run`` (the ``audit.ArchiveEvents`` schedule, per schema) takes the sealed events older than the
schema's ``RetentionPolicy.days_hot``, lowest ``seq`` first, a chunk at a time. Only a prefix of the chain is
ever archived (it stops at the first event that is still recent), so what stays in the table is a suffix of
the chain, and ``verify_chain`` starts it from the last archive's ``last_hash``. Each chunk is

* ``<schema>/<first seq>-<last seq>.jsonl.gz``: one JSON object per event, every column, chain fields included;
* ``<schema>/<first seq>-<last seq>.manifest.json``: the seq range, the hash before the chunk, the last hash,
  the latest signed checkpoint inside it, and the chunk's SHA-256;

written, read back and compared before the events are deleted, in one transaction with the ``AuditArchive``
row. A storage failure rolls the transaction back: nothing is deleted, and the next run tries again.
Unsealed events are never touched. ``verify_archive`` re-checks a chunk offline from its manifest's data.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from . import checkpoints
from .models import AuditArchive, AuditCheckpoint, AuditEvent, RetentionPolicy
from .recorder import SYSTEM, record
from .services import CHAINED_FIELDS, GENESIS, link
from .storage import ArchiveStorage, StorageError, get_storage

FORMAT = "nimbus.audit.archive/1"
MAX_DAYS = 3650
COLUMNS = (*CHAINED_FIELDS, "seq", "prev_hash", "hash", "sealed_at")


class ArchiveError(Exception):
    """An archive run stopped without deleting anything (storage failed, or the chain to archive does not hold)."""


# --- Retention policy ---------------------------------------------------------------------------


def retention_update(*, actor, days_hot, days_archived) -> RetentionPolicy:
    """Change how long this schema keeps its events; recorded as ``audit:retention:update``."""

    errors: dict[str, list[str]] = {}
    for name, value, low in (("days_hot", days_hot, 1), ("days_archived", days_archived, 0)):
        if isinstance(value, bool) or not isinstance(value, int):
            errors[name] = ["A whole number of days."]
        elif not low <= value <= MAX_DAYS:
            errors[name] = [f"Between {low} and {MAX_DAYS} days{' (0 keeps archives forever)' if low == 0 else ''}."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        policy = RetentionPolicy.current()
        before = {"days_hot": policy.days_hot, "days_archived": policy.days_archived}
        policy.days_hot, policy.days_archived = days_hot, days_archived
        policy.save()
        after = {"days_hot": policy.days_hot, "days_archived": policy.days_archived}
        record(
            "audit:retention:update",
            actor=actor,
            resource_type="audit:retention",
            resource_id=policy.pk,
            resource_display=str(policy),
            changes={key: [before[key], value] for key, value in after.items() if before[key] != value},
        )
    return policy


# --- Writing archives ---------------------------------------------------------------------------


def _row(event: AuditEvent) -> dict:
    row = {name: getattr(event, name) for name in COLUMNS}
    row["occurred_at"] = event.occurred_at.astimezone(UTC).isoformat()
    row["sealed_at"] = event.sealed_at.astimezone(UTC).isoformat() if event.sealed_at else None
    return row


def _event(row: dict) -> AuditEvent:
    """An unsaved event carrying a row's chained fields, for ``services.link``."""
    fields = {name: row[name] for name in CHAINED_FIELDS}
    fields["occurred_at"] = datetime.fromisoformat(row["occurred_at"])
    return AuditEvent(**fields)


def _keys(schema: str, first_seq: int, last_seq: int) -> tuple[str, str]:
    stem = f"{schema}/{first_seq:020d}-{last_seq:020d}"
    return f"{stem}.jsonl.gz", f"{stem}.manifest.json"


def _lock() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_schema(), pg_advisory_xact_lock(hashtext('nimbus.audit.archive:' || current_schema()))"
        )
        [(schema, _)] = cursor.fetchall()
    if schema != connection.schema_name:
        raise LookupError(f"Schema '{connection.schema_name}' does not exist; nothing archived.")


def _archive_chunk(storage: ArchiveStorage, cutoff: datetime, chunk_size: int, now: datetime) -> AuditArchive | None:
    """Archive the next chunk of old sealed events, in one transaction; ``None`` when there is nothing to do."""
    schema = connection.schema_name
    written: list[str] = []  # the objects this attempt put in storage, removed again if it fails
    try:
        with transaction.atomic():
            _lock()
            base = AuditArchive.objects.order_by("-last_seq").first()
            sealed = AuditEvent.objects.filter(seq__isnull=False)
            if base is not None:
                sealed = sealed.filter(seq__gt=base.last_seq)
            # Only a prefix of the chain: stop before the first sealed event that is still recent.
            recent = sealed.filter(occurred_at__gte=cutoff).order_by("seq").values_list("seq", flat=True).first()
            candidates = sealed.filter(seq__lt=recent) if recent is not None else sealed
            events = list(candidates.order_by("seq")[:chunk_size])
            if not events:
                return None

            expected, prev = (base.last_seq + 1, base.last_hash) if base else (1, GENESIS)
            first_prev = prev
            for event in events:
                if event.seq != expected or event.prev_hash != prev or link(prev, event, event.seq) != event.hash:
                    raise ArchiveError(
                        f"The chain does not hold at event {expected} in schema '{schema}': nothing archived "
                        "(run verify_chain)."
                    )
                prev, expected = event.hash, expected + 1
            first, last = events[0], events[-1]
            mark = AuditCheckpoint.objects.filter(seq__gte=first.seq, seq__lte=last.seq).order_by("-seq").first()
            if mark is not None and (not checkpoints.is_authentic(mark, schema) or mark.hash != _hash_at(events, mark)):
                raise ArchiveError(f"The checkpoint at event {mark.seq} in schema '{schema}' does not hold.")

            lines = b"".join(
                json.dumps(_row(event), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()
                + b"\n"
                for event in events
            )
            chunk = gzip.compress(lines, mtime=0)
            digest = hashlib.sha256(chunk).hexdigest()
            object_key, manifest_key = _keys(schema, first.seq, last.seq)
            manifest = {
                "format": FORMAT,
                "schema": schema,
                "first_seq": first.seq,
                "last_seq": last.seq,
                "event_count": len(events),
                "first_prev_hash": first_prev,
                "last_hash": last.hash,
                "first_occurred_at": first.occurred_at.astimezone(UTC).isoformat(),
                "last_occurred_at": last.occurred_at.astimezone(UTC).isoformat(),
                "checkpoint": (
                    {"seq": mark.seq, "hash": mark.hash, "signature": mark.signature, "key_id": mark.key_id}
                    if mark
                    else None
                ),
                "chunk": {"key": object_key, "sha256": digest, "size": len(chunk), "compression": "gzip"},
                "created_at": now.astimezone(UTC).isoformat(),
            }
            manifest_bytes = json.dumps(manifest, indent=2, sort_keys=True).encode() + b"\n"

            written.append(object_key)
            storage.put(object_key, chunk)
            written.append(manifest_key)
            storage.put(manifest_key, manifest_bytes)
            if hashlib.sha256(storage.get(object_key)).hexdigest() != digest:
                raise ArchiveError(f"Archive object {object_key!r} did not read back intact; nothing deleted.")
            if storage.get(manifest_key) != manifest_bytes:
                raise ArchiveError(f"Archive manifest {manifest_key!r} did not read back intact; nothing deleted.")

            archive = AuditArchive.objects.create(
                first_seq=first.seq,
                last_seq=last.seq,
                first_prev_hash=first_prev,
                last_hash=last.hash,
                first_occurred_at=first.occurred_at,
                last_occurred_at=last.occurred_at,
                event_count=len(events),
                checkpoint_seq=mark.seq if mark else None,
                checkpoint_hash=mark.hash if mark else "",
                checkpoint_signature=mark.signature if mark else "",
                checkpoint_key_id=mark.key_id if mark else "",
                object_key=object_key,
                manifest_key=manifest_key,
                sha256=digest,
                size=len(chunk),
                created_at=now,
            )
            deleted, _ = AuditEvent.objects.filter(
                seq__isnull=False, seq__gte=first.seq, seq__lte=last.seq, pk__in=[event.pk for event in events]
            ).delete()
            if deleted != len(events):
                raise ArchiveError(f"Events {first.seq} to {last.seq} changed while archiving; nothing deleted.")
            # The chunk's checkpoints leave with its events: the covering one lives on in the manifest and the row,
            # and the table's chain is checked from the archive on, so the others would only pile up.
            AuditCheckpoint.objects.filter(seq__lte=last.seq).delete()
    except BaseException:
        # A failure after writing (read-back, the database, the commit) leaves no stray objects behind.
        for key in written:
            # Not removable now: the next run writes the same keys for the same events.
            with contextlib.suppress(StorageError):
                storage.delete(key)
        raise
    return archive


def _hash_at(events: list[AuditEvent], mark: AuditCheckpoint) -> str:
    return next((event.hash for event in events if event.seq == mark.seq), "")


@dataclass(frozen=True)
class ArchiveRun:
    archives: int
    events: int
    purged: int


def archive_run(*, now: datetime | None = None, chunk_size: int = 5000, max_chunks: int = 100) -> ArchiveRun:
    """Archive the current schema's sealed events older than ``days_hot``, then purge expired archives.

    Raises ``ArchiveError`` / ``StorageError`` when a chunk cannot be archived; chunks archived before it stay
    archived (each is its own transaction) and the rest waits for the next run.
    """
    now = now or timezone.now()
    policy = RetentionPolicy.current()
    cutoff = now - timedelta(days=policy.days_hot)
    storage = get_storage()
    archives = events = 0
    for _ in range(max_chunks):
        archive = _archive_chunk(storage, cutoff, chunk_size, now)
        if archive is None:
            break
        archives, events = archives + 1, events + archive.event_count
    release_expired_restores(now=now)
    return ArchiveRun(archives=archives, events=events, purged=purge_expired(now=now, policy=policy))


def purge_expired(*, now: datetime | None = None, policy: RetentionPolicy | None = None) -> int:
    """Delete from storage the archives older than ``days_archived`` (0: never); their rows stay, marked purged,
    because the newest one is where the table's chain continues from."""
    now = now or timezone.now()
    policy = policy or RetentionPolicy.current()
    if not policy.days_archived:
        return 0
    storage = get_storage()
    expired = AuditArchive.objects.filter(
        purged_at__isnull=True, created_at__lt=now - timedelta(days=policy.days_archived)
    )
    purged = 0
    for archive in expired.order_by("first_seq"):
        storage.delete(archive.object_key)
        storage.delete(archive.manifest_key)
        AuditArchive.objects.filter(pk=archive.pk).update(purged_at=now)
        purged += 1
    return purged


# --- Restoring archives ------------------------------------------------------------------------


def restore_archive(archive: AuditArchive, *, actor, storage: ArchiveStorage | None = None) -> int:
    """Put an archive's events back in the table, exactly as they were sealed (same ids, ``seq`` and hashes), so
    the explorer, the API and exports find them again; returns how many were put back.

    The archive is verified first and the file read for the restore must be the one verified (same SHA-256):
    a tampered archive restores nothing. The chain is untouched: the table's chain is checked from the last
    archive on, and archiving only takes events after it, so restored events are neither re-archived nor
    walked twice. They leave again with ``release_restored`` (by hand, or by ``archive_run`` after
    ``AUDIT_RESTORE_DAYS``); the archive itself stays.
    """
    storage = storage or get_storage()
    if archive.restored_at is not None:
        raise ArchiveError("This archive's events are already in the table.")
    result = verify_archive(archive, storage=storage)
    if not result.ok:
        raise ArchiveError(f"The archive does not verify, so nothing was restored: {result.reason}.")
    chunk = storage.get(archive.object_key)
    if hashlib.sha256(chunk).hexdigest() != archive.sha256:
        raise ArchiveError("The archive file changed after it was verified; nothing was restored.")
    rows = [json.loads(line) for line in gzip.decompress(chunk).splitlines() if line.strip()]
    events = []
    for row in rows:
        fields = {name: row[name] for name in COLUMNS}
        fields["occurred_at"] = datetime.fromisoformat(row["occurred_at"])
        fields["sealed_at"] = datetime.fromisoformat(row["sealed_at"]) if row["sealed_at"] else None
        events.append(AuditEvent(**fields))
    now = timezone.now()
    with transaction.atomic():
        _lock()
        AuditEvent.objects.bulk_create(events, batch_size=1000)
        AuditArchive.objects.filter(pk=archive.pk).update(restored_at=now)
        record(
            "audit:archive:restore",
            actor=actor,
            resource_type="audit:archive",
            resource_id=archive.pk,
            resource_display=str(archive),
            metadata={"events": len(events), "first_seq": archive.first_seq, "last_seq": archive.last_seq},
        )
    archive.restored_at = now
    return len(events)


def release_restored(archive: AuditArchive, *, actor=None) -> int:
    """Take a restored archive's events out of the table again (they stay in the archive); returns how many."""
    if archive.restored_at is None:
        raise ArchiveError("This archive's events are not in the table.")
    with transaction.atomic():
        _lock()
        removed, _ = AuditEvent.objects.filter(seq__gte=archive.first_seq, seq__lte=archive.last_seq).delete()
        AuditArchive.objects.filter(pk=archive.pk).update(restored_at=None)
        record(
            "audit:archive:release",
            actor=actor if actor is not None else SYSTEM,
            resource_type="audit:archive",
            resource_id=archive.pk,
            resource_display=str(archive),
            metadata={"events": removed},
        )
    archive.restored_at = None
    return removed


def release_expired_restores(*, now: datetime | None = None) -> int:
    """Release every archive restored more than ``AUDIT_RESTORE_DAYS`` ago; returns how many archives."""
    now = now or timezone.now()
    due = AuditArchive.objects.filter(restored_at__lt=now - timedelta(days=settings.AUDIT_RESTORE_DAYS))
    released = 0
    for archive in due.order_by("first_seq"):
        release_restored(archive)
        released += 1
    return released


# --- Verifying archives -------------------------------------------------------------------------


@dataclass(frozen=True)
class ArchiveVerification:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def _bad(checked: int, seq: int | None, reason: str) -> ArchiveVerification:
    return ArchiveVerification(False, checked, seq, reason)


def verify_archive(archive: AuditArchive, *, storage: ArchiveStorage | None = None) -> ArchiveVerification:
    """Check an archive's file against its row and manifest, and recompute the chain segment inside it."""
    storage = storage or get_storage()
    if archive.purged_at is not None:
        return _bad(0, None, "the archive's files were removed by the retention policy")
    try:
        chunk = storage.get(archive.object_key)
        manifest = json.loads(storage.get(archive.manifest_key))
    except StorageError as exc:
        return _bad(0, None, str(exc))
    except ValueError:
        return _bad(0, None, "the manifest is not valid JSON")
    if hashlib.sha256(chunk).hexdigest() != archive.sha256:
        return _bad(0, None, "the archive file does not match its SHA-256 (altered or replaced)")
    expected_manifest = {
        "first_seq": archive.first_seq,
        "last_seq": archive.last_seq,
        "event_count": archive.event_count,
        "first_prev_hash": archive.first_prev_hash,
        "last_hash": archive.last_hash,
    }
    if any(manifest.get(key) != value for key, value in expected_manifest.items()) or (
        manifest.get("chunk", {}).get("sha256") != archive.sha256
    ):
        return _bad(0, None, "the manifest does not match the archive's record")
    # The chunk carries on from the archive before it.
    before = AuditArchive.objects.filter(last_seq__lt=archive.first_seq).order_by("-last_seq").first()
    start_prev = before.last_hash if before else GENESIS
    if archive.first_seq != (before.last_seq + 1 if before else 1) or archive.first_prev_hash != start_prev:
        return _bad(0, archive.first_seq, "the archive does not follow the one before it")

    try:
        rows = [json.loads(line) for line in gzip.decompress(chunk).splitlines() if line.strip()]
    except (OSError, ValueError, EOFError):
        return _bad(0, None, "the archive file is not valid gzip-compressed JSON Lines")
    expected, prev, checked, hashes = archive.first_seq, archive.first_prev_hash, 0, {}
    for row in rows:
        try:
            seq, prev_hash, hash_ = row["seq"], row["prev_hash"], row["hash"]
            computed = link(prev, _event(row), seq)
        except (KeyError, TypeError, ValueError):
            return _bad(checked, expected, f"event {expected} in the archive is malformed")
        if seq != expected:
            return _bad(checked, expected, f"event {expected} is missing from the archive")
        if prev_hash != prev:
            return _bad(checked, seq, f"event {seq} does not follow event {seq - 1}")
        if computed != hash_:
            return _bad(checked, seq, f"event {seq} was changed after it was sealed")
        hashes[seq], prev, expected, checked = hash_, hash_, expected + 1, checked + 1
    if checked != archive.event_count or expected - 1 != archive.last_seq or prev != archive.last_hash:
        return _bad(checked, expected, "the archive does not end at its recorded last event and hash")
    if archive.checkpoint_seq is not None:
        mark = AuditCheckpoint(
            seq=archive.checkpoint_seq,
            hash=archive.checkpoint_hash,
            signature=archive.checkpoint_signature,
            key_id=archive.checkpoint_key_id,
        )
        if not checkpoints.is_authentic(mark):
            return _bad(checked, mark.seq, f"the checkpoint at event {mark.seq} does not carry a valid signature")
        if hashes.get(mark.seq) != mark.hash:
            return _bad(checked, mark.seq, f"event {mark.seq} does not match the signed checkpoint at that event")
    return ArchiveVerification(True, checked)
