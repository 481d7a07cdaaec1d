"""Permissions the tenancy app declares (collected by ``apps.access.registry``); provider staff hold them."""

from apps.core.permissions import Permission, ResourceKind, Tier

PERMISSIONS = [
    Permission("tenancy:tenant:view", "See tenants and their status", Tier.PROVIDER),
    Permission("tenancy:tenant:create", "Provision tenants and sub-tenants", Tier.PROVIDER),
    Permission("tenancy:tenant:update", "Change a tenant's name, plan, quotas and domains", Tier.PROVIDER),
    Permission("tenancy:tenant:suspend", "Suspend, resume and archive tenants", Tier.PROVIDER),
    Permission("tenancy:tenant:delete", "Delete archived tenants", Tier.PROVIDER),
    Permission("tenancy:tenant:open", "Open a tenant as a delegated account", Tier.PROVIDER),
]

RESOURCE_KINDS = [ResourceKind("tenancy:tenant", "Tenant", "tenancy.Tenant")]
