"""The eight system roles, each defined by a rule over the permission registry.

Rules, not lists: a permission an app adds later lands in the right system
roles at the next ``migrate`` (``services.system_roles_sync``). The table in
docs/access.md is generated from these rules (``list_permissions --roles``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apps.core.permissions import Permission, Tier

VIEW_ACTIONS = {"view", "list", "export"}
SECURITY_APPS = {"accounts", "access", "identity", "audit"}


@dataclass(frozen=True)
class SystemRole:
    name: str
    label: str
    description: str
    grants: Callable[[Permission], bool]


SYSTEM_ROLES = [
    SystemRole("provider_admin", "Provider administrator", "Every permission of every tier.", lambda p: True),
    SystemRole(
        "provider_operator",
        "Provider operator",
        "Every permission of every tier except deleting.",
        lambda p: p.action != "delete",
    ),
    SystemRole(
        "tenant_admin",
        "Tenant administrator",
        "Every permission up to the tenant-admin tier.",
        lambda p: p.tier <= Tier.TENANT_ADMIN,
    ),
    SystemRole(
        "security_admin",
        "Security administrator",
        "Users, access control, identity and audit, up to the tenant-admin tier.",
        lambda p: p.tier <= Tier.TENANT_ADMIN and p.app in SECURITY_APPS,
    ),
    SystemRole(
        "auditor",
        "Auditor",
        "Viewing and exporting anything up to the tenant-admin tier, and every audit permission of that tier.",
        lambda p: p.tier <= Tier.TENANT_ADMIN and (p.action in VIEW_ACTIONS or p.app == "audit"),
    ),
    SystemRole(
        "approver",
        "Approver",
        "Viewing up to the user tier, and approving or rejecting changes.",
        lambda p: p.tier <= Tier.USER and (p.action in VIEW_ACTIONS or p.action in {"approve", "reject"}),
    ),
    SystemRole("operator", "Operator", "Every permission up to the user tier.", lambda p: p.tier <= Tier.USER),
    SystemRole(
        "read_only",
        "Read-only",
        "Viewing up to the user tier, and every read-only-tier permission.",
        lambda p: p.tier == Tier.READ_ONLY or (p.tier <= Tier.USER and p.action in VIEW_ACTIONS),
    ),
]


def highest_tier(permissions: list[Permission]) -> Tier:
    return max((p.tier for p in permissions), default=Tier.READ_ONLY, key=lambda tier: tier.rank)
