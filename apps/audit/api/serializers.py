"""What the audit API shows of an event: everything it stores, the chain fields included."""

from rest_framework import serializers
from rest_framework.reverse import reverse

from apps.audit.models import AuditArchive, AuditEvent, AuditExport, RedactionRule
from apps.audit.services import CHAINED_FIELDS
from apps.core.api.serializers import StrictSerializer


class AuditEventSerializer(serializers.ModelSerializer):
    sealed = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        # Everything the chain covers, then the chain itself.
        fields = [*CHAINED_FIELDS, "seq", "hash", "prev_hash", "sealed"]
        read_only_fields = fields

    def get_sealed(self, event: AuditEvent) -> bool:
        return event.seq is not None


class VerificationSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_bad_seq = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)
    unsealed = serializers.IntegerField(help_text="Events written but not sealed yet (sealing runs every few seconds).")


class RetentionSerializer(serializers.Serializer):
    days_hot = serializers.IntegerField(help_text="Days sealed events stay in the table before they are archived.")
    days_archived = serializers.IntegerField(help_text="Days archives are kept; 0 keeps them forever.")
    updated_at = serializers.DateTimeField(read_only=True)


class AuditArchiveSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditArchive
        fields = [
            "id",
            "first_seq",
            "last_seq",
            "first_prev_hash",
            "last_hash",
            "first_occurred_at",
            "last_occurred_at",
            "event_count",
            "checkpoint_seq",
            "checkpoint_hash",
            "sha256",
            "size",
            "created_at",
            "verified_at",
            "purged_at",
            "restored_at",
        ]
        read_only_fields = fields


class ArchiveVerificationSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_bad_seq = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)


class SavedQuerySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(max_length=100)
    params = serializers.DictField(child=serializers.CharField(max_length=200, allow_blank=True))
    shared = serializers.BooleanField(default=False)
    owner = serializers.EmailField(source="owner.email", read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class AuditExportRequestSerializer(StrictSerializer):
    format = serializers.ChoiceField(choices=AuditExport.Format.choices, help_text="`csv` or `jsonl` (JSON Lines).")
    params = serializers.DictField(
        child=serializers.CharField(max_length=200, allow_blank=True),
        required=False,
        default=dict,
        help_text="The events list's filters (`since`, `until`, `actor`, `action`, `q`…); none exports everything.",
    )


class AuditExportSerializer(serializers.ModelSerializer):
    percent = serializers.IntegerField(read_only=True)
    requested_by = serializers.CharField(source="requested_by_display", read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = AuditExport
        fields = [
            "id",
            "format",
            "params",
            "status",
            "total",
            "written",
            "percent",
            "size",
            "sha256",
            "error",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "expires_at",
            "download",
        ]
        read_only_fields = fields

    def get_download(self, export: AuditExport) -> str | None:
        """Where to fetch the file once the export is ready."""
        if export.status != AuditExport.Status.DONE:
            return None
        return reverse("audit-api:export-download", args=[export.pk], request=self.context.get("request"))


# --- Tenant redaction rules ---------------------------------------------------------------------

_KIND_HELP = "`field`: redact the whole value under keys matching the pattern. `value`: replace matching text."
_PATTERN_HELP = (
    "A regular expression (at most 500 characters). Refused when invalid, when it matches empty text, or when "
    "it runs out of time on hostile inputs (catastrophic backtracking, such as `(a|aa)+$`)."
)


class RedactionRuleSerializer(serializers.ModelSerializer):
    class Meta:
        model = RedactionRule
        fields = ["id", "kind", "pattern", "description", "enabled", "created_at"]
        read_only_fields = fields
        ref_name = "AuditRedactionRule"


class RedactionRuleCreateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=RedactionRule.Kind.choices, help_text=_KIND_HELP)
    pattern = serializers.CharField(max_length=500, trim_whitespace=False, help_text=_PATTERN_HELP)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    enabled = serializers.BooleanField(required=False, default=True)

    class Meta:
        ref_name = "AuditRedactionRuleCreate"


class RedactionRuleUpdateSerializer(StrictSerializer):
    kind = serializers.ChoiceField(choices=RedactionRule.Kind.choices, required=False, help_text=_KIND_HELP)
    pattern = serializers.CharField(max_length=500, trim_whitespace=False, required=False, help_text=_PATTERN_HELP)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)

    class Meta:
        ref_name = "AuditRedactionRuleUpdate"
