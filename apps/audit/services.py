"""Sealing the audit chain of the current schema, and verifying it (also against checkpoints exported earlier).

``seal_pending`` runs off the request path (the ``audit.SealPending`` Temporal
schedule, or the ``verify_chain`` command): it takes the unsealed events in the order they were written
and links each to the one before. One sealer at a time per schema, by a
PostgreSQL advisory lock held for its transaction; writers never take it.

``verify_chain`` walks the sealed events in chain order and names the first
one that does not hold: a sequence gap (an event deleted), a link that does
not point at the previous hash (events reordered or one inserted), or a hash
that does not match the event's content (an event edited); and checks the
signed checkpoints (``checkpoints.py``), which catch the tail cut off.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from . import checkpoints
from .models import AuditArchive, AuditCheckpoint, AuditEvent

GENESIS = "0" * 64
CHAINED_FIELDS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_display",
    "on_behalf_of",
    "action",
    "resource_type",
    "resource_id",
    "resource_display",
    "outcome",
    "request_id",
    "source_ip",
    "user_agent",
    "changes",
    "metadata",
)


def canonical(event: AuditEvent, seq: int) -> bytes:
    """The bytes an event's hash covers: its fields and its place in the chain, in one fixed JSON form."""
    return canonical_values(tuple(getattr(event, name) for name in CHAINED_FIELDS), seq)


def canonical_values(values: tuple, seq: int) -> bytes:
    """``canonical`` for the event's ``CHAINED_FIELDS`` values, in that order, as ``values_list`` gives them.

    Sealing and verifying read rows this way rather than as model instances: the same values (the same
    field converters run), a fraction of the cost per event.
    """
    document = dict(zip(CHAINED_FIELDS, values, strict=True))
    document["occurred_at"] = values[_OCCURRED_AT].astimezone(UTC).isoformat()
    document["seq"] = seq
    return _dumps(document).encode()


_OCCURRED_AT = CHAINED_FIELDS.index("occurred_at")
_dumps = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode


def link(prev_hash: str, event: AuditEvent, seq: int) -> str:
    return link_values(prev_hash, tuple(getattr(event, name) for name in CHAINED_FIELDS), seq)


def link_values(prev_hash: str, values: tuple, seq: int) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical_values(values, seq)).hexdigest()


def seal_pending(*, limit: int = 1000, checkpoint_every: int | None = None) -> int:
    """Seal up to ``limit`` unsealed events of the current schema; return how many.

    Every ``checkpoint_every`` events (``AUDIT_CHECKPOINT_EVERY`` by default), and at the last event sealed, a
    signed checkpoint is stored, in the same transaction: a batch commits whole or not at all, so a sealer
    that dies between batches leaves only unsealed events, which the next run seals after the head it finds.
    """
    every = checkpoint_every or settings.AUDIT_CHECKPOINT_EVERY
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_schema(), pg_advisory_xact_lock(hashtext('nimbus.audit.seal:' || current_schema()))"
            )
            [(schema, _)] = cursor.fetchall()
        if schema != connection.schema_name:
            # A schema that does not exist falls through to public on the search path: never seal (and sign)
            # public's events under another schema's name.
            raise LookupError(f"Schema '{connection.schema_name}' does not exist; nothing sealed.")
        head = AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", "hash").first()
        seq, prev = head if head else (0, GENESIS)
        pending = AuditEvent.objects.filter(seq__isnull=True).order_by("id").values_list(*CHAINED_FIELDS)[:limit]
        ids, seqs, prevs, hashes, marks = [], [], [], [], []
        for values in pending:
            seq += 1
            ids.append(values[0])
            seqs.append(seq)
            prevs.append(prev)
            prev = link_values(prev, values, seq)
            hashes.append(prev)
            if seq % every == 0:
                marks.append((seq, prev))
        if ids and (not marks or marks[-1][0] != seq):
            marks.append((seq, prev))
        _store_links(ids, seqs, prevs, hashes, timezone.now())
        for mark in marks:
            checkpoints.store(*mark)
    return len(ids)


def _store_links(ids: list, seqs: list, prevs: list, hashes: list, sealed_at) -> None:
    """One UPDATE for the whole batch, the links passed as four arrays (not one UPDATE, or one CASE, per row)."""
    if not ids:
        return
    table = connection.ops.quote_name(AuditEvent._meta.db_table)  # the model's own name: nothing from outside
    sql = (
        f"UPDATE {table} AS e SET seq = v.seq, prev_hash = v.prev_hash, hash = v.hash, sealed_at = %s "  # noqa: S608
        "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[]) AS v(id, seq, prev_hash, hash) "
        "WHERE e.id = v.id AND e.seq IS NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [sealed_at, ids, seqs, prevs, hashes],
        )
        if cursor.rowcount != len(ids):  # the advisory lock makes this impossible; never commit a broken chain
            raise RuntimeError(f"Sealing updated {cursor.rowcount} of {len(ids)} events; nothing sealed.")


VERIFY_CHUNK = 5000  # rows per fetch of the verification walk's server-side cursor
_JSON_COLUMNS = tuple(3 + CHAINED_FIELDS.index(name) for name in ("changes", "metadata"))


def _chain_rows(events) -> Iterator[tuple]:
    """``(seq, prev_hash, hash, *CHAINED_FIELDS)`` of ``events``, streamed from a server-side cursor.

    The values are the model's: on PostgreSQL the only converter these columns have is JSONField's
    ``json.loads`` of the JSON text (Django loads jsonb as text, timestamps aware, inet as text), applied here
    directly rather than through the ORM's per-row machinery, which cost more than the hashing
    (``test_chain.py`` checks both readings hash alike).
    """
    sql, params = events.values_list("seq", "prev_hash", "hash", *CHAINED_FIELDS).query.sql_with_params()
    loads = json.loads
    first, second = _JSON_COLUMNS
    with transaction.atomic(), connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(VERIFY_CHUNK):
            for row in batch:
                row = list(row)
                if row[first] is not None:
                    row[first] = loads(row[first])
                if row[second] is not None:
                    row[second] = loads(row[second])
                yield row


class Problem:
    """What ``Verification.problem`` names."""

    MISSING = "missing"  # a sequence gap: an event deleted from the middle
    OUT_OF_ORDER = "out_of_order"  # a link that does not point at the previous event: reordered or inserted
    EDITED = "edited"  # an event whose hash does not match its content
    CHECKPOINT_FORGED = "checkpoint_forged"  # a checkpoint whose signature does not verify
    CHECKPOINT_MISMATCH = "checkpoint_mismatch"  # the event at a checkpoint's seq has another hash
    TRUNCATED = "truncated"  # events deleted from the end: a signed checkpoint is past the chain's last event


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""
    problem: str = ""
    from_seq: int = 1  # where the walk started: 1, or the last checkpoint's event with ``from_checkpoint``
    checkpoints: int = 0  # signed checkpoints verified
    exported: int = 0  # checkpoints of an export (kept outside the database) matched against the table

    @property
    def truncated(self) -> bool:
        return self.problem == Problem.TRUNCATED


def _truncated(checked: int, last_seq: int, checkpoint, start: int, verified: int) -> Verification:
    return Verification(
        False,
        checked,
        last_seq + 1,
        f"the chain was truncated: it ends at event {last_seq} but a signed checkpoint names event "
        f"{checkpoint.seq}, so events {last_seq + 1} to {checkpoint.seq} were deleted from its end",
        Problem.TRUNCATED,
        start,
        verified,
    )


def _forged(checked: int, checkpoint, start: int, verified: int) -> Verification:
    return Verification(
        False,
        checked,
        checkpoint.seq,
        f"the checkpoint at event {checkpoint.seq} does not carry a valid signature (forged or altered)",
        Problem.CHECKPOINT_FORGED,
        start,
        verified,
    )


def verify_chain(
    *, from_checkpoint: bool = False, exported: Sequence[checkpoints.ExportedCheckpoint] | None = None
) -> Verification:
    """Check the sealed events of the current schema in chain order, and its signed checkpoints.

    With ``exported`` (``checkpoints.read_export`` of a copy kept outside the database), the chain must also
    hold every exported checkpoint: each must carry a valid signature, and the event at its ``seq`` must be
    there with its hash. That catches the newest events deleted *together with* their checkpoints. An export
    of another schema raises ``checkpoints.ForeignExport`` (the wrong file, not a broken chain).
    """
    result = _verify_table(from_checkpoint=from_checkpoint)
    if not result.ok or not exported:
        return result
    return _verify_exported(result, exported)


def _verify_table(*, from_checkpoint: bool) -> Verification:
    """The chain in the table and the checkpoints stored with it.

    Stops at the first problem. Each checkpoint's signature must verify and the event at its ``seq`` must
    carry its hash; a checkpoint past the chain's last event means the tail was deleted. With
    ``from_checkpoint``, the walk starts at the latest checkpoint's event instead of event 1: what it
    signed is trusted, only what came after is checked (the fast path for recent events).

    Events moved to archives are not in the table: the walk then starts after the last archive, from its
    ``last_hash`` (``verify_archive`` checks the archives themselves).
    """
    schema = connection.schema_name
    events = AuditEvent.objects.filter(seq__isnull=False).order_by("seq")
    marks = AuditCheckpoint.objects.order_by("seq")
    expected, prev, start = 1, GENESIS, 1
    # Events moved to archives (``archives.py``): the table's chain carries on from the last archive's hash.
    base = AuditArchive.objects.order_by("-last_seq").values_list("last_seq", "last_hash").first()
    if base is not None:
        expected, prev, start = base[0] + 1, base[1], base[0] + 1
        events, marks = events.filter(seq__gt=base[0]), marks.filter(seq__gt=base[0])
    anchor = checkpoints.latest() if from_checkpoint else None
    if anchor is not None and (base is None or anchor.seq > base[0]):
        if not checkpoints.is_authentic(anchor, schema):
            return _forged(0, anchor, anchor.seq, 0)
        at = AuditEvent.objects.filter(seq=anchor.seq).first()
        if at is None:
            last_seq = events.values_list("seq", flat=True).last() or 0
            if last_seq < anchor.seq:
                return _truncated(0, last_seq, anchor, anchor.seq, 0)
            return Verification(False, 0, anchor.seq, f"event {anchor.seq} is missing", Problem.MISSING, anchor.seq, 0)
        expected, prev, start = anchor.seq, at.prev_hash, anchor.seq
        events, marks = events.filter(seq__gte=anchor.seq), marks.filter(seq__gte=anchor.seq)

    pending_marks = marks.iterator(chunk_size=2000)
    mark = next(pending_marks, None)
    next_mark = mark.seq if mark is not None else None
    checked = verified = 0
    sha256 = hashlib.sha256
    for row in _chain_rows(events):
        seq, prev_hash, hash_ = row[0], row[1], row[2]
        if seq != expected:
            reason = f"event {expected} is missing (the next one is {seq})"
            return Verification(False, checked, expected, reason, Problem.MISSING, start, verified)
        if prev_hash != prev:
            reason = f"event {seq} does not follow event {seq - 1}"
            return Verification(False, checked, seq, reason, Problem.OUT_OF_ORDER, start, verified)
        if sha256(prev.encode() + b"\n" + canonical_values(row[3:], seq)).hexdigest() != hash_:
            reason = f"event {seq} was changed after it was sealed"
            return Verification(False, checked, seq, reason, Problem.EDITED, start, verified)
        while next_mark is not None and next_mark <= seq:
            if not checkpoints.is_authentic(mark, schema):
                return _forged(checked, mark, start, verified)
            if mark.seq < seq or mark.hash != hash_:
                reason = f"event {mark.seq} does not match the signed checkpoint at that event"
                return Verification(False, checked, mark.seq, reason, Problem.CHECKPOINT_MISMATCH, start, verified)
            verified += 1
            mark = next(pending_marks, None)
            next_mark = mark.seq if mark is not None else None
        prev, expected, checked = hash_, expected + 1, checked + 1

    # Checkpoints past the last event: forged ones, or proof that the tail was deleted.
    beyond = None
    while mark is not None:
        if not checkpoints.is_authentic(mark, schema):
            return _forged(checked, mark, start, verified)
        beyond, mark = mark, next(pending_marks, None)
    if beyond is not None:
        return _truncated(checked, expected - 1, beyond, start, verified)
    return Verification(True, checked, from_seq=start, checkpoints=verified)


def _verify_exported(result: Verification, exported: Sequence[checkpoints.ExportedCheckpoint]) -> Verification:
    """Hold a chain that verified on its own to checkpoints exported earlier (see ``verify_chain``)."""
    schema = connection.schema_name
    strangers = sorted({entry.schema for entry in exported} - {schema})
    if strangers:
        raise checkpoints.ForeignExport(f"The file holds checkpoints of {', '.join(strangers)}, not of '{schema}'.")
    archived = AuditArchive.objects.order_by("-last_seq").values_list("last_seq", flat=True).first() or 0
    last_seq = AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", flat=True).first()
    last_seq = max(last_seq or 0, archived)
    # Events moved to archives are checked there (``verify_archive``), not here.
    entries = sorted((entry for entry in exported if entry.seq > archived), key=lambda entry: entry.seq)
    for entry in entries:
        if not checkpoints.is_authentic(entry, schema):
            reason = (
                f"the exported checkpoint at event {entry.seq} does not carry a valid signature (forged or altered)"
            )
            return replace(result, ok=False, first_bad_seq=entry.seq, reason=reason, problem=Problem.CHECKPOINT_FORGED)
    inside = [entry for entry in entries if entry.seq <= last_seq]
    matched = 0
    for start in range(0, len(inside), 5000):
        chunk = inside[start : start + 5000]
        hashes = dict(AuditEvent.objects.filter(seq__in=[e.seq for e in chunk]).values_list("seq", "hash"))
        for entry in chunk:
            if hashes.get(entry.seq) != entry.hash:
                reason = f"event {entry.seq} does not match the exported checkpoint at that event"
                return replace(
                    result, ok=False, first_bad_seq=entry.seq, reason=reason, problem=Problem.CHECKPOINT_MISMATCH
                )
            matched += 1
    if len(inside) < len(entries):
        beyond = entries[-1]
        reason = (
            f"the chain was truncated: it ends at event {last_seq} but a checkpoint exported on "
            f"{beyond.created_at} names event {beyond.seq}, so events {last_seq + 1} to {beyond.seq} were deleted "
            "from its end (their checkpoints in the database with them)"
        )
        return replace(
            result, ok=False, first_bad_seq=last_seq + 1, reason=reason, problem=Problem.TRUNCATED, exported=matched
        )
    return replace(result, exported=matched)


# --- Tenant redaction rules ---------------------------------------------------------------------


def _rules_changed() -> None:
    from .recorder import RULES_CACHE_KEY, forget_rules

    forget_rules()
    cache.delete(RULES_CACHE_KEY)
    transaction.on_commit(lambda: cache.delete(RULES_CACHE_KEY))


def redaction_rule_save(*, actor, kind: str, pattern: str, description: str = "", enabled: bool = True, rule=None):
    """Create or change a tenant redaction rule; a pattern that could run away on some input is refused."""
    from django.core.exceptions import ValidationError

    from .models import RedactionRule
    from .recorder import record
    from .redaction import check_pattern

    errors: dict[str, list[str]] = {}
    if kind not in RedactionRule.Kind.values:
        errors["kind"] = [f"Choose one of: {', '.join(RedactionRule.Kind.values)}."]
    problems = check_pattern(pattern or "")
    if problems:
        errors["pattern"] = problems
    if len(description or "") > 300:
        errors["description"] = ["At most 300 characters."]
    duplicate = RedactionRule.objects.filter(kind=kind, pattern=pattern).exclude(pk=getattr(rule, "pk", None))
    if not errors and duplicate.exists():
        errors["pattern"] = ["That rule exists already."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rule = rule or RedactionRule()
        before = {"kind": rule.kind, "pattern": rule.pattern, "enabled": rule.enabled} if rule.pk else {}
        rule.kind, rule.pattern, rule.description, rule.enabled = kind, pattern, (description or "").strip(), enabled
        rule.save()
        after = {"kind": rule.kind, "pattern": rule.pattern, "enabled": rule.enabled}
        record(
            "audit:redaction:update",
            actor=actor,
            resource_type="audit:redactionrule",
            resource_id=rule.pk,
            resource_display=str(rule),
            changes={key: [before.get(key), value] for key, value in after.items() if before.get(key) != value},
        )
        _rules_changed()
    return rule


def redaction_rule_delete(*, actor, rule) -> None:
    from .recorder import record

    with transaction.atomic():
        record(
            "audit:redaction:update",
            actor=actor,
            resource_type="audit:redactionrule",
            resource_id=rule.pk,
            resource_display=str(rule),
            metadata={"deleted": True},
        )
        rule.delete()
        _rules_changed()


# --- Saved queries ------------------------------------------------------------------------------


def saved_query_create(*, owner, name: str, params: dict, shared: bool = False):
    """Save a set of explorer filters; every filter must be one the events API knows, with a valid value."""
    from django.core.exceptions import ValidationError

    from .exports import check_event_filters
    from .models import SavedQuery

    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 100:
        errors["name"] = ["Give the query a name of 1 to 100 characters."]
    elif SavedQuery.objects.filter(owner=owner, name=name).exists():
        errors["name"] = [f"You already have a query named '{name}'."]
    cleaned = {}
    try:
        cleaned = check_event_filters(params)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    return SavedQuery.objects.create(owner=owner, name=name, params=cleaned, shared=bool(shared))


def saved_query_delete(*, actor, query) -> None:
    from django.core.exceptions import PermissionDenied

    if query.owner_id != actor.pk:
        raise PermissionDenied("Only its owner may delete a saved query.")
    query.delete()
