"""Read queries for tenants and domains, decided once here (joins, ordering)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q, QuerySet, Sum

from . import routing_cache
from .context import provider_context
from .models import Domain, Tenant, TenantHeartbeat, TenantKind, TenantStatus
from .plans import QUOTA_FIELDS


def tenant_for_host(hostname: str) -> Tenant | None:
    """The tenant a host name routes to (with its parent loaded for the effective status), or None."""
    hostname = hostname.lower()
    tenant = routing_cache.get(hostname)
    if tenant is None:
        with provider_context():
            domain = Domain.objects.select_related("tenant", "tenant__parent").filter(domain=hostname).first()
        if domain is None:
            return None
        tenant = domain.tenant
        routing_cache.put(hostname, tenant)
    return tenant


def hosts_routed_by(tenant: Tenant) -> list[str]:
    """Every host whose routing depends on ``tenant``: its own domains and its sub-tenants'."""
    with provider_context():
        return list(Domain.objects.filter(Q(tenant=tenant) | Q(tenant__parent=tenant)).values_list("domain", flat=True))


def tenant_by_slug(slug: str) -> Tenant | None:
    return Tenant.objects.select_related("parent").filter(slug=slug.lower()).first()


def tenant_by_schema(schema_name: str) -> Tenant | None:
    return Tenant.objects.select_related("parent").filter(schema_name=schema_name).first()


def primary_domain_of(tenant: Tenant) -> str | None:
    """The host name a tenant is reached at (read in provider context: a tenant cannot see another's domains)."""
    with provider_context():
        return Domain.objects.filter(tenant=tenant, is_primary=True).values_list("domain", flat=True).first()


def sub_tenants_of(tenant: Tenant) -> QuerySet[Tenant]:
    return Tenant.objects.select_related("parent").filter(parent=tenant).order_by("name")


def tenants_that_can_have_sub_tenants() -> QuerySet[Tenant]:
    return Tenant.objects.filter(kind=TenantKind.TENANT, status=TenantStatus.ACTIVE)


def heartbeat_of(tenant: Tenant) -> TenantHeartbeat | None:
    """The tenant's heartbeat, read in the caller's context (through row-level security)."""
    return TenantHeartbeat.objects.filter(tenant=tenant).first()


def provider_get() -> Tenant | None:
    return Tenant.objects.filter(kind=TenantKind.PROVIDER).first()


@dataclass(frozen=True)
class TreeRow:
    tenant: Tenant
    depth: int


def tenant_tree() -> list[TreeRow]:
    """Every tenant, each parent followed by its children, with its depth (provider = 0)."""
    with provider_context():
        tenants = list(Tenant.objects.select_related("parent").prefetch_related("domains").order_by("slug"))
    children: dict[int | None, list[Tenant]] = {}
    for tenant in tenants:
        children.setdefault(tenant.parent_id, []).append(tenant)
    rows: list[TreeRow] = []

    def walk(parent_id: int | None, depth: int) -> None:
        for tenant in children.get(parent_id, []):
            rows.append(TreeRow(tenant, depth))
            walk(tenant.id, depth + 1)

    walk(None, 0)
    return rows


def active_tenant_schemas(*, after: str = "", limit: int | None = None) -> list[str]:
    """Schemas of tenants that are active and whose parent (if a tenant) is active too, in name order.

    ``after`` and ``limit`` page through them (keyset pagination on the schema name).
    """
    schemas = (
        Tenant.objects.exclude(kind=TenantKind.PROVIDER)
        .filter(status=TenantStatus.ACTIVE, schema_name__gt=after)
        .filter(Q(parent__kind=TenantKind.PROVIDER) | Q(parent__status=TenantStatus.ACTIVE))
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )
    return list(schemas[:limit] if limit is not None else schemas)


def quota_allocated_to_children(parent: Tenant, *, exclude_pk: int | None = None) -> dict[str, int]:
    """How much of each quota the parent has handed to its live (not archived) sub-tenants."""
    children = parent.children.exclude(status=TenantStatus.ARCHIVED)
    if exclude_pk is not None:
        children = children.exclude(pk=exclude_pk)
    sums = children.aggregate(**{field: Sum(field) for field in QUOTA_FIELDS})
    allocated = {field: sums[field] or 0 for field in QUOTA_FIELDS}
    allocated["children"] = children.count()
    return allocated


def quota_remaining(parent: Tenant, *, exclude_pk: int | None = None) -> dict[str, int]:
    allocated = quota_allocated_to_children(parent, exclude_pk=exclude_pk)
    remaining = {field: max(getattr(parent, field) - allocated[field], 0) for field in ("max_users", "max_cis")}
    remaining["sub_tenant_slots"] = max(parent.max_sub_tenants - allocated["children"], 0)
    return remaining
