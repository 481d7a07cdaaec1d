"""Permissions of identity: the tenant's identity providers, its SSO settings and its SCIM tokens."""

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
    Permission("identity:scim_token:view", "See the tenant's SCIM tokens (never their secret)", Tier.TENANT_ADMIN),
    Permission("identity:scim_token:create", "Create SCIM tokens for the tenant's IdP", Tier.TENANT_ADMIN),
    Permission("identity:scim_token:revoke", "Revoke SCIM tokens", Tier.TENANT_ADMIN),
]

RESOURCE_KINDS = [
    ResourceKind("identity:provider", "Identity provider", "identity.IdentityProvider"),
    ResourceKind("identity:scim_token", "SCIM token", "identity.ScimToken"),
]
