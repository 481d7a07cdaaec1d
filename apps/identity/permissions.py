"""Permissions of identity: seeing and changing the tenant's identity providers and its SSO settings."""

from apps.core.permissions import Permission, ResourceKind, Tier

PERMISSIONS = [
    Permission("identity:provider:view", "See the tenant's identity providers", Tier.TENANT_ADMIN),
    Permission("identity:provider:create", "Add identity providers", Tier.TENANT_ADMIN),
    Permission(
        "identity:provider:update",
        "Change, enable, disable identity providers, choose the default, and the SSO-only setting",
        Tier.TENANT_ADMIN,
    ),
    Permission("identity:provider:delete", "Delete identity providers", Tier.TENANT_ADMIN),
]

RESOURCE_KINDS = [ResourceKind("identity:provider", "Identity provider", "identity.IdentityProvider")]
