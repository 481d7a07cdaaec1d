"""What the audit API shows of an event: everything it stores, the chain fields included."""

from rest_framework import serializers

from apps.audit.models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    sealed = serializers.SerializerMethodField()

    class Meta:
        model = AuditEvent
        fields = [
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
            "seq",
            "hash",
            "prev_hash",
            "sealed",
        ]
        read_only_fields = fields

    def get_sealed(self, event: AuditEvent) -> bool:
        return event.seq is not None


class VerificationSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    checked = serializers.IntegerField()
    first_bad_seq = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField(allow_blank=True)
    unsealed = serializers.IntegerField(help_text="Events written but not sealed yet (sealing runs every few seconds).")
