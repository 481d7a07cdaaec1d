"""Audit events of one schema (each tenant's own; the provider's stream in ``public``), hash-chained once sealed.

An event is written unsealed, in the transaction of the change it records
(``recorder.record``), so writers never wait on each other. Sealing
(``services.seal_pending``, off the request path) gives events their place
in the chain in the order it reaches them: ``seq`` 1, 2, 3… with no gaps, and
``hash`` = SHA-256 of the previous hash and the event's canonical form. Any
later edit, deletion, insertion or reordering breaks a link that
``services.verify_chain`` names.
"""

from __future__ import annotations

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector
from django.db import models
from django.db.models import F
from django.db.models.functions import Upper
from django.utils.http import urlencode

# What the search box reads: the same expression in the index and in the query, so PostgreSQL uses the index.
SEARCH_VECTOR = SearchVector("action", "actor_display", "resource_display", "resource_id", config="simple")


class Outcome(models.TextChoices):
    SUCCESS = "success", "Success"
    DENIED = "denied", "Denied"
    ERROR = "error", "Error"


class AuditEvent(models.Model):
    id = models.BigAutoField(primary_key=True)
    occurred_at = models.DateTimeField(db_index=True)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_display = models.CharField(max_length=254, blank=True)
    # The home account when the actor is a delegated account ("schema:user id:email").
    on_behalf_of = models.CharField(max_length=300, blank=True)
    action = models.CharField(max_length=150, db_index=True)
    resource_type = models.CharField(max_length=100, blank=True)
    resource_id = models.CharField(max_length=128, blank=True)
    resource_display = models.CharField(max_length=300, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices, default=Outcome.SUCCESS)
    request_id = models.CharField(max_length=64, blank=True)
    source_ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    changes = models.JSONField(default=dict, blank=True)  # {"field": [before, after]}, redacted
    metadata = models.JSONField(default=dict, blank=True)  # redacted
    # The chain: empty until sealed.
    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)
    sealed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["id"], name="audit_event_unsealed", condition=models.Q(seq__isnull=True)),
            models.Index(fields=["resource_type", "resource_id"], name="audit_event_resource"),
            GinIndex(SEARCH_VECTOR, name="audit_event_search"),
            # The explorer's exact-match filters, newest first: each with the id, so a page is read in order from
            # the index and stops at its last row (no scan of the whole stream, no sort of every match).
            models.Index(Upper("actor_display"), F("id"), name="audit_event_actor"),  # ?actor= (iexact)
            models.Index(fields=["request_id", "id"], name="audit_event_request"),
            models.Index(fields=["source_ip", "id"], name="audit_event_source_ip"),
        ]

    def __str__(self) -> str:
        return f"{self.action} by {self.actor_display or 'system'} ({self.outcome})"


class RedactionRule(models.Model):
    """A tenant's own redaction rule, applied with the built-in ones before any event is stored.

    ``field``: values under keys matching ``pattern`` are redacted whole.
    ``value``: text matching ``pattern`` inside any value is replaced. Patterns
    are refused if they can take too long on some input (``redaction.check_pattern``).
    """

    class Kind(models.TextChoices):
        FIELD = "field", "Field name"
        VALUE = "value", "Value pattern"

    kind = models.CharField(max_length=8, choices=Kind.choices)
    pattern = models.CharField(max_length=500)
    description = models.CharField(max_length=300, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "pattern"]
        constraints = [models.UniqueConstraint(fields=["kind", "pattern"], name="audit_redactionrule_once")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.pattern}"


class AuditCheckpoint(models.Model):
    """The chain head at ``seq`` signed with the schema's key (``checkpoints.py``): catches deletion of the tail."""

    id = models.BigAutoField(primary_key=True)
    seq = models.BigIntegerField(unique=True)
    hash = models.CharField(max_length=64)
    signed_at = models.DateTimeField()
    signature = models.CharField(max_length=64)  # HMAC-SHA256, hex
    key_id = models.CharField(max_length=64)  # names the key derivation, so keys can rotate

    class Meta:
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"checkpoint at event {self.seq} ({self.key_id})"


class RetentionPolicy(models.Model):
    """How long this schema keeps its audit events: ``days_hot`` in the table, then ``days_archived`` in archives.

    One row per schema (``current()``). ``days_archived`` 0 keeps archives forever.
    """

    days_hot = models.PositiveIntegerField(default=90)
    days_archived = models.PositiveIntegerField(default=365)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "retention policies"

    def __str__(self) -> str:
        kept = f"{self.days_archived} days" if self.days_archived else "forever"
        return f"{self.days_hot} days in the table, then archived for {kept}"

    @classmethod
    def current(cls) -> RetentionPolicy:
        policy, _ = cls.objects.get_or_create(pk=1)
        return policy


class AuditArchive(models.Model):
    """A chunk of sealed events moved out of the table (``archives.py``): a compressed JSON Lines file and its
    manifest in archive storage, and here what is needed to check them and to carry the chain on after them."""

    id = models.BigAutoField(primary_key=True)
    first_seq = models.BigIntegerField()
    last_seq = models.BigIntegerField(unique=True)
    first_prev_hash = models.CharField(max_length=64)  # the hash of the event before the chunk (GENESIS at seq 1)
    last_hash = models.CharField(max_length=64)
    first_occurred_at = models.DateTimeField()
    last_occurred_at = models.DateTimeField()
    event_count = models.PositiveIntegerField()
    # The latest signed checkpoint inside the chunk, when there is one.
    checkpoint_seq = models.BigIntegerField(null=True, blank=True)
    checkpoint_hash = models.CharField(max_length=64, blank=True)
    checkpoint_signature = models.CharField(max_length=64, blank=True)
    checkpoint_key_id = models.CharField(max_length=64, blank=True)
    object_key = models.CharField(max_length=300)  # the .jsonl.gz in archive storage
    manifest_key = models.CharField(max_length=300)
    sha256 = models.CharField(max_length=64)  # of the compressed file
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField()
    verified_at = models.DateTimeField(null=True, blank=True)
    # When retention removed the files; the row stays, as the anchor the table's chain continues from.
    purged_at = models.DateTimeField(null=True, blank=True)
    # When its events were put back in the table to be searched (``archives.restore_archive``), until released.
    restored_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-last_seq"]

    def __str__(self) -> str:
        return f"audit archive of events {self.first_seq} to {self.last_seq}"


class SavedQuery(models.Model):
    """A named set of explorer filters: its owner's own, or shared with everyone who may read the trail."""

    owner = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="audit_saved_queries")
    name = models.CharField(max_length=100)
    params = models.JSONField(default=dict)  # filter name → value, as the events API takes them
    shared = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="audit_savedquery_name_once")]

    def __str__(self) -> str:
        return self.name

    @property
    def querystring(self) -> str:
        """The filters as the explorer's (and the events API's) query string."""
        return urlencode(sorted(self.params.items()))


class AuditExport(models.Model):
    """One person's export of the events matching a set of filters, written by a Temporal workflow
    (``exports.py``) to a JSON Lines or CSV file in archive storage and kept for download until ``expires_at``."""

    class Format(models.TextChoices):
        JSONL = "jsonl", "JSON Lines"
        CSV = "csv", "CSV"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    id = models.BigAutoField(primary_key=True)
    requested_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="audit_exports"
    )
    requested_by_display = models.CharField(max_length=254, blank=True)
    format = models.CharField(max_length=8, choices=Format.choices)
    params = models.JSONField(default=dict, blank=True)  # filter name → value, as the events API takes them
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveBigIntegerField(null=True, blank=True)  # known once the run has counted
    written = models.PositiveBigIntegerField(default=0)
    object_key = models.CharField(max_length=300, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["requested_by", "-id"], name="audit_export_by_requester")]

    def __str__(self) -> str:
        return f"audit export {self.pk} ({self.get_format_display()}, {self.get_status_display().lower()})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.total:
            return 0
        return min(99, int(self.written * 100 / self.total))

    @property
    def in_progress(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)

    @property
    def filename(self) -> str:
        return f"audit-events-{self.pk}.{self.format}"
