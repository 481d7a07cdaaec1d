"""Sealing the audit chain of the current schema, and verifying it.

``seal_pending`` runs off the request path (a command today; a Temporal
schedule next): it takes the unsealed events in the order they were written
and links each to the one before. One sealer at a time per schema, by a
PostgreSQL advisory lock held for its transaction; writers never take it.

``verify_chain`` walks the sealed events in chain order and names the first
one that does not hold: a sequence gap (an event deleted), a link that does
not point at the previous hash (events reordered or one inserted), or a hash
that does not match the event's content (an event edited).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from .models import AuditEvent

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
    document = {name: getattr(event, name) for name in CHAINED_FIELDS}
    document["occurred_at"] = event.occurred_at.astimezone(UTC).isoformat()
    document["seq"] = seq
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def link(prev_hash: str, event: AuditEvent, seq: int) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical(event, seq)).hexdigest()


def seal_pending(*, limit: int = 1000) -> int:
    """Seal up to ``limit`` unsealed events of the current schema; return how many."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('nimbus.audit.seal:' || current_schema()))")
        head = AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", "hash").first()
        seq, prev = head if head else (0, GENESIS)
        pending = list(AuditEvent.objects.filter(seq__isnull=True).order_by("id")[:limit])
        now = timezone.now()
        for event in pending:
            seq += 1
            event.seq, event.prev_hash, event.sealed_at = seq, prev, now
            event.hash = prev = link(prev, event, seq)
        AuditEvent.objects.bulk_update(pending, ["seq", "prev_hash", "hash", "sealed_at"], batch_size=500)
    return len(pending)


@dataclass(frozen=True)
class Verification:
    ok: bool
    checked: int
    first_bad_seq: int | None = None
    reason: str = ""


def verify_chain() -> Verification:
    """Check every sealed event of the current schema, in chain order; stop at the first that does not hold."""
    expected, prev, checked = 1, GENESIS, 0
    for event in AuditEvent.objects.filter(seq__isnull=False).order_by("seq").iterator(chunk_size=2000):
        if event.seq != expected:
            return Verification(False, checked, expected, f"event {expected} is missing (the next one is {event.seq})")
        if event.prev_hash != prev:
            return Verification(False, checked, event.seq, f"event {event.seq} does not follow event {event.seq - 1}")
        if link(prev, event, event.seq) != event.hash:
            return Verification(False, checked, event.seq, f"event {event.seq} was changed after it was sealed")
        prev, expected, checked = event.hash, expected + 1, checked + 1
    return Verification(True, checked)


# --- Tenant redaction rules ---------------------------------------------------------------------


def _rules_changed() -> None:
    from .recorder import RULES_CACHE_KEY

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
