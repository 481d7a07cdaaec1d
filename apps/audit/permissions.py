"""Permissions of the audit trail: reading it, proving it, exporting it, and configuring what it keeps."""

from apps.core.permissions import Permission, ResourceKind, Tier

PERMISSIONS = [
    Permission("audit:event:view", "Read the tenant's audit events", Tier.TENANT_ADMIN),
    Permission("audit:event:export", "Export audit events", Tier.TENANT_ADMIN),
    Permission("audit:chain:verify", "Verify that the audit trail was not altered", Tier.TENANT_ADMIN),
    Permission("audit:retention:view", "See how long audit events are kept", Tier.TENANT_ADMIN),
    Permission("audit:retention:update", "Change how long audit events are kept", Tier.TENANT_ADMIN),
    Permission("audit:redaction:view", "See the tenant's redaction rules", Tier.TENANT_ADMIN),
    Permission("audit:redaction:update", "Change the tenant's redaction rules", Tier.TENANT_ADMIN),
]

RESOURCE_KINDS = [ResourceKind("audit:event", "Audit event", "audit.AuditEvent")]
