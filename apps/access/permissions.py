"""Permissions of access control itself: who may read and change roles, groups, assignments, policies and grants."""

from apps.core.permissions import Permission, ResourceKind, ScopeType, Tier

PERMISSIONS = [
    Permission("access:role:view", "See roles and what they grant", Tier.TENANT_ADMIN),
    Permission("access:role:create", "Create custom roles", Tier.TENANT_ADMIN),
    Permission("access:role:update", "Change custom roles", Tier.TENANT_ADMIN),
    Permission("access:role:delete", "Delete custom roles", Tier.TENANT_ADMIN),
    Permission("access:group:view", "See groups and their members", Tier.TENANT_ADMIN),
    Permission("access:group:create", "Create groups", Tier.TENANT_ADMIN),
    Permission("access:group:update", "Change groups' members and nesting", Tier.TENANT_ADMIN),
    Permission("access:group:delete", "Delete groups", Tier.TENANT_ADMIN),
    Permission("access:assignment:view", "See who holds which role where", Tier.TENANT_ADMIN),
    Permission("access:assignment:create", "Give roles to users and groups", Tier.TENANT_ADMIN),
    Permission("access:assignment:delete", "Take roles away", Tier.TENANT_ADMIN),
    Permission("access:policy:view", "See the tenant's Cedar policies", Tier.TENANT_ADMIN),
    Permission("access:policy:update", "Write, change and delete the tenant's Cedar policies", Tier.TENANT_ADMIN),
    Permission("access:grant:view", "See grants on single objects", Tier.TENANT_ADMIN),
    Permission("access:grant:create", "Grant a permission on one object", Tier.TENANT_ADMIN),
    Permission("access:grant:delete", "Withdraw a grant on one object", Tier.TENANT_ADMIN),
    Permission(
        "access:decision:simulate", "Ask the simulator what anyone may do; see effective permissions", Tier.TENANT_ADMIN
    ),
]

RESOURCE_KINDS = [
    ResourceKind("access:role", "Role", "access.Role"),
    ResourceKind("access:group", "Group", "access.Group"),
    ResourceKind("access:policy", "Policy", "access.Policy"),
]

# A group is also an administrative unit: a role assigned over a group applies to the users in it (nested
# groups included) — "the helpdesk may reset the passwords of engineering's people".
SCOPE_TYPES = [ScopeType("access:group", "Group (its members)", "access.Group")]
