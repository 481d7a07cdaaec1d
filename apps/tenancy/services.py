"""Every write to tenants and domains: provisioning, lifecycle, quotas, the template schema.

Views, admin, commands, tasks and workflows call these; none of them saves a
Tenant or Domain with the ORM. Each service validates first and raises
``django.core.exceptions.ValidationError`` (keyed by field where one is to
blame) with a message a person can act on.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django_tenants.utils import (
    get_public_schema_name,
    schema_context,
    schema_exists,
    tenant_context,
)

from . import routing_cache, schemas
from .context import provider_context
from .models import Domain, Tenant, TenantHeartbeat, TenantKind, TenantStatus
from .plans import PLANS, QUOTA_FIELDS
from .provisioning import run_seeders
from .selectors import hosts_routed_by, provider_get, quota_remaining, tenant_by_schema

logger = logging.getLogger(__name__)

SLUG_MAX_LENGTH = 50
QUOTA_MAX = 2_147_483_647  # PostgreSQL integer, the column type of every quota
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")
_HOSTNAME_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

# Names a tenant may not take: they collide with infrastructure host names,
# Nimbus's own paths, or PostgreSQL's internal schemas.
RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "app",
        "assets",
        "auth",
        "cdn",
        "dns",
        "docs",
        "ftp",
        "health",
        "healthz",
        "help",
        "id",
        "imap",
        "internal",
        "localhost",
        "login",
        "mail",
        "media",
        "metrics",
        "nimbus",
        "ns1",
        "ns2",
        "pop",
        "provider",
        "public",
        "readyz",
        "root",
        "scim",
        "smtp",
        "sso",
        "static",
        "status",
        "support",
        "system",
        "template",
        "tenant-template",
        "temporal",
        "www",
        "ws",
        "wss",
    }
)


# --- Validation ----------------------------------------------------------------------------


def validate_slug(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not slug:
        raise ValidationError({"slug": "A slug is required."})
    if len(slug) > SLUG_MAX_LENGTH:
        raise ValidationError({"slug": f"The slug may be at most {SLUG_MAX_LENGTH} characters."})
    if not _SLUG.match(slug):
        raise ValidationError(
            {"slug": "Use lowercase letters, digits and hyphens only, starting and ending with a letter or digit."}
        )
    if "--" in slug:
        raise ValidationError({"slug": "Two hyphens in a row are reserved in host names; use one."})
    if slug in RESERVED_SLUGS or slug.startswith("pg-"):
        raise ValidationError({"slug": f"'{slug}' is reserved; choose another name."})
    return slug


def validate_domain(domain: str) -> str:
    domain = (domain or "").strip().lower().rstrip(".")
    labels = domain.split(".")
    if not domain or len(domain) > 253 or not all(_HOSTNAME_LABEL.match(label) for label in labels):
        raise ValidationError({"domains": f"'{domain}' is not a valid host name."})
    return domain


def schema_name_for(slug: str) -> str:
    """``acme-dev`` → ``t_acme_dev``: the prefix keeps every schema clear of ``pg_`` and leading digits."""
    return "t_" + slug.replace("-", "_")


def default_domain_for(slug: str) -> str:
    return f"{slug}.{settings.NIMBUS_BASE_DOMAIN}"


def _validate_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "A name is required."})
    if len(name) > 200:
        raise ValidationError({"name": "The name may be at most 200 characters."})
    return name


def _validate_quotas(quotas: dict[str, Any] | None) -> dict[str, int]:
    values: dict[str, int] = {}
    for field, value in (quotas or {}).items():
        if field not in QUOTA_FIELDS:
            raise ValidationError({field: f"Unknown quota '{field}'; quotas are {', '.join(QUOTA_FIELDS)}."})
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= QUOTA_MAX:
            raise ValidationError({field: f"A quota is a whole number from 0 to {QUOTA_MAX}."})
        values[field] = value
    return values


def _validate_plan(plan: str) -> str:
    if plan not in PLANS:
        raise ValidationError({"plan": f"Unknown plan '{plan}'; choose one of {', '.join(PLANS)}."})
    return plan


def _sub_tenant_quotas(parent: Tenant, requested: dict[str, int], plan: str, *, exclude_pk: int | None = None):
    """Resolve and check a sub-tenant's quotas against what its parent has left.

    Unset quotas default to the plan's value, capped at what remains. Sub-tenants
    cannot have sub-tenants of their own.
    """
    remaining = quota_remaining(parent, exclude_pk=exclude_pk)
    if exclude_pk is None and remaining["sub_tenant_slots"] < 1:
        raise ValidationError(
            {"parent": f"'{parent.slug}' has used all {parent.max_sub_tenants} of its sub-tenant slots."}
        )
    if requested.get("max_sub_tenants"):
        raise ValidationError({"max_sub_tenants": "A sub-tenant cannot have sub-tenants of its own."})
    resolved = {"max_sub_tenants": 0}
    errors = {}
    for field in ("max_users", "max_cis"):
        left = remaining[field]
        value = requested.get(field, min(getattr(PLANS[plan], field), left))
        if value > left:
            errors[field] = f"{value} exceeds what '{parent.slug}' has left to give ({left})."
        resolved[field] = value
    if errors:
        raise ValidationError(errors)
    return resolved


# --- Provider ------------------------------------------------------------------------------


def provider_ensure(*, name: str = "Provider", domain: str | None = None) -> Tenant:
    """Create the provider (the public schema) and its domain if missing; idempotent."""
    domain = validate_domain(domain or settings.NIMBUS_BASE_DOMAIN)
    with provider_context(), transaction.atomic():
        provider = provider_get()
        if provider is None:
            provider = Tenant(
                name=_validate_name(name),
                slug="provider",
                kind=TenantKind.PROVIDER,
                schema_name=get_public_schema_name(),
                plan="enterprise",
                **PLANS["enterprise"].quotas(),
            )
            provider.save()
            logger.info("provider created")
        if not Domain.objects.filter(domain=domain).exists():
            Domain.objects.create(domain=domain, tenant=provider, is_primary=not provider.domains.exists())
    return provider


# --- Provisioning --------------------------------------------------------------------------


def tenant_provision(
    *,
    name: str,
    slug: str,
    kind: str = TenantKind.TENANT,
    parent: Tenant | None = None,
    plan: str = "standard",
    quotas: dict[str, int] | None = None,
    domains: list[str] | None = None,
    options: dict[str, Any] | None = None,
) -> Tenant:
    """Create a tenant or sub-tenant: row, schema (a copy of the template), domains, seeds.

    The schema is a spare renamed (milliseconds) when one is waiting, otherwise
    a fresh clone of the template (a few hundred); after commit, the spare pool
    is refilled in the background.

    All or nothing: on any failure, including a failing seeder, no row, schema
    or domain is left behind.
    """
    name = _validate_name(name)
    slug = validate_slug(slug)
    plan = _validate_plan(plan)
    requested = _validate_quotas(quotas)
    if kind not in (TenantKind.TENANT, TenantKind.SUB_TENANT):
        raise ValidationError({"kind": "Only tenants and sub-tenants can be provisioned."})
    domain_names = [validate_domain(d) for d in (domains or [default_domain_for(slug)])]
    if len(set(domain_names)) != len(domain_names):
        raise ValidationError({"domains": "The same domain is listed twice."})
    schema_name = schema_name_for(slug)

    schemas.template_ensure()
    with provider_context(), transaction.atomic():
        provider = provider_get()
        if provider is None:
            raise ValidationError("There is no provider yet; run 'manage.py migrate_all' first.")
        if kind == TenantKind.TENANT:
            if parent is not None and parent.pk != provider.pk:
                raise ValidationError({"parent": "A tenant belongs to the provider; use kind 'sub_tenant'."})
            parent = provider
            values = {**PLANS[plan].quotas(), **requested}
        else:
            if parent is None:
                raise ValidationError({"parent": "A sub-tenant needs a parent tenant."})
            # Lock the parent so concurrent sub-tenants cannot over-allocate its quotas.
            parent = Tenant.objects.select_for_update().get(pk=parent.pk)
            if parent.kind != TenantKind.TENANT:
                raise ValidationError(
                    {"parent": "Only a tenant (not the provider or a sub-tenant) can have sub-tenants."}
                )
            if parent.status != TenantStatus.ACTIVE:
                raise ValidationError(
                    {"parent": f"'{parent.slug}' is {parent.status}; sub-tenants need an active parent."}
                )
            values = _sub_tenant_quotas(parent, requested, plan)

        if Tenant.objects.filter(slug=slug).exists():
            raise ValidationError({"slug": f"A tenant with slug '{slug}' already exists."})
        taken = sorted(Domain.objects.filter(domain__in=domain_names).values_list("domain", flat=True))
        if taken:
            raise ValidationError({"domains": f"Already in use: {', '.join(taken)}."})
        if schema_exists(schema_name):
            raise ValidationError(
                {"slug": f"A schema named '{schema_name}' already exists; an operator must remove it."}
            )

        tenant = Tenant(
            name=name,
            slug=slug,
            kind=kind,
            parent=parent,
            plan=plan,
            schema_name=schema_name,
            status_changed_at=timezone.now(),
            **values,
        )
        try:
            with transaction.atomic():
                tenant.save()
        except IntegrityError:
            raise ValidationError({"slug": f"A tenant with slug '{slug}' already exists."}) from None
        schema_source = schemas.create_tenant_schema(schema_name)
        try:
            with transaction.atomic():
                for position, domain in enumerate(domain_names):
                    Domain.objects.create(domain=domain, tenant=tenant, is_primary=position == 0)
        except IntegrityError:
            # Another provisioning took one of the domains since the check above.
            raise ValidationError({"domains": "One of these domains was just taken; choose another."}) from None
        with tenant_context(tenant):
            run_seeders(tenant=tenant, options=options or {})
        _audit("tenancy:tenant:create", tenant, metadata={"kind": kind, "schema": schema_name, "plan": tenant.plan})
        if settings.NIMBUS_SPARE_SCHEMAS > 0:
            transaction.on_commit(_refill_spares_later, robust=True)
    logger.info(
        "tenant provisioned", extra={"tenant": slug, "kind": kind, "schema": schema_name, "from": schema_source}
    )
    return tenant


def _refill_spares_later() -> None:
    # The tenant is committed by now; a broker outage must not turn that into an error.
    from .tasks import refill_spare_schemas

    try:
        refill_spare_schemas.delay()
    except Exception:
        logger.exception("could not enqueue the spare schema refill")


# Name used by ARCHITECTURE.md for the same service.
provision_tenant = tenant_provision


def tenant_update(
    *, tenant: Tenant, name: str | None = None, plan: str | None = None, quotas: dict[str, int] | None = None
) -> Tenant:
    """Rename, re-plan or re-size a tenant without breaking its children's allocations."""
    with provider_context(), transaction.atomic():
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        if name is not None:
            tenant.name = _validate_name(name)
        if plan is not None:
            tenant.plan = _validate_plan(plan)
        requested = _validate_quotas(quotas)
        if tenant.kind == TenantKind.SUB_TENANT and requested:
            parent = Tenant.objects.select_for_update().get(pk=tenant.parent_id)
            requested = _sub_tenant_quotas(
                parent, {**_quotas_of(tenant), **requested}, tenant.plan, exclude_pk=tenant.pk
            )
        if requested and tenant.kind == TenantKind.TENANT:
            allocated_errors = {}
            remaining_now = quota_remaining(tenant)
            for field in ("max_users", "max_cis"):
                if field in requested:
                    in_use = getattr(tenant, field) - remaining_now[field]
                    if requested[field] < in_use:
                        allocated_errors[field] = f"Sub-tenants already hold {in_use}; lower theirs first."
            if "max_sub_tenants" in requested:
                children = tenant.max_sub_tenants - remaining_now["sub_tenant_slots"]
                if requested["max_sub_tenants"] < children:
                    allocated_errors["max_sub_tenants"] = f"It already has {children} sub-tenants."
            if allocated_errors:
                raise ValidationError(allocated_errors)
        for field, value in requested.items():
            setattr(tenant, field, value)
        tenant.save()
        routing_cache.forget_on_commit(hosts_routed_by(tenant))
    return tenant


def _quotas_of(tenant: Tenant) -> dict[str, int]:
    return {field: getattr(tenant, field) for field in QUOTA_FIELDS}


# --- Lifecycle -----------------------------------------------------------------------------


def _lock_for_change(tenant: Tenant) -> Tenant:
    tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if tenant.kind == TenantKind.PROVIDER:
        raise ValidationError("The provider cannot be suspended, archived or deleted.")
    return tenant


def _audit(action: str, tenant: Tenant, **details) -> None:
    """An event in the provider's audit stream (the public schema), in the current transaction when there."""
    from apps.audit.recorder import record

    with schema_context(get_public_schema_name()):
        record(action, resource_type="tenancy:tenant", resource_id=tenant.pk, resource_display=tenant.slug, **details)


def _set_status(tenant: Tenant, status: str) -> Tenant:
    routing_cache.forget_on_commit(hosts_routed_by(tenant))
    _audit("tenancy:tenant:suspend", tenant, changes={"status": [tenant.status, status]})
    tenant.status = status
    tenant.status_changed_at = timezone.now()
    tenant.save(update_fields=["status", "status_changed_at", "updated_at"])
    logger.info("tenant status changed", extra={"tenant": tenant.slug, "status": status})
    return tenant


def tenant_suspend(*, tenant: Tenant) -> Tenant:
    """Refuse every request to the tenant (403) and to its sub-tenants, keeping all data."""
    with provider_context(), transaction.atomic():
        tenant = _lock_for_change(tenant)
        if tenant.status == TenantStatus.SUSPENDED:
            return tenant
        if tenant.status == TenantStatus.ARCHIVED:
            raise ValidationError(f"'{tenant.slug}' is archived; an archived tenant can only be deleted.")
        return _set_status(tenant, TenantStatus.SUSPENDED)


def tenant_resume(*, tenant: Tenant) -> Tenant:
    with provider_context(), transaction.atomic():
        tenant = _lock_for_change(tenant)
        if tenant.status == TenantStatus.ACTIVE:
            return tenant
        if tenant.status == TenantStatus.ARCHIVED:
            raise ValidationError(f"'{tenant.slug}' is archived; an archived tenant cannot be resumed.")
        return _set_status(tenant, TenantStatus.ACTIVE)


def tenant_archive(*, tenant: Tenant) -> Tenant:
    """Close the tenant for good (410 Gone); its data stays until it is deleted."""
    with provider_context(), transaction.atomic():
        tenant = _lock_for_change(tenant)
        if tenant.status == TenantStatus.ARCHIVED:
            return tenant
        live_children = sorted(tenant.children.exclude(status=TenantStatus.ARCHIVED).values_list("slug", flat=True))
        if live_children:
            raise ValidationError(f"Archive its sub-tenants first: {', '.join(live_children)}.")
        return _set_status(tenant, TenantStatus.ARCHIVED)


def tenant_delete(*, tenant: Tenant) -> None:
    """Drop an archived tenant's schema and every row about it. Irreversible."""
    with provider_context(), transaction.atomic():
        tenant = _lock_for_change(tenant)
        if tenant.status != TenantStatus.ARCHIVED:
            raise ValidationError(f"'{tenant.slug}' must be archived before it can be deleted.")
        if tenant.children.exists():
            raise ValidationError(f"Delete the sub-tenants of '{tenant.slug}' first.")
        slug = tenant.slug
        routing_cache.forget_on_commit(hosts_routed_by(tenant))
        _audit("tenancy:tenant:delete", tenant, metadata={"schema": tenant.schema_name})
        tenant.delete(force_drop=True)
    logger.info("tenant deleted", extra={"tenant": slug})


# --- Domains -------------------------------------------------------------------------------


def domain_add(*, tenant: Tenant, domain: str, is_primary: bool = False) -> Domain:
    domain = validate_domain(domain)
    with provider_context(), transaction.atomic():
        if Domain.objects.filter(domain=domain).exists():
            raise ValidationError({"domain": f"'{domain}' is already in use."})
        created = Domain(domain=domain, tenant=tenant, is_primary=is_primary)
        created.save()
    return created


def domain_update(*, domain: Domain, new_domain: str | None = None, is_primary: bool | None = None) -> Domain:
    with provider_context(), transaction.atomic():
        domain = Domain.objects.select_for_update().get(pk=domain.pk)
        if new_domain is not None:
            new_domain = validate_domain(new_domain)
            if Domain.objects.filter(domain=new_domain).exclude(pk=domain.pk).exists():
                raise ValidationError({"domain": f"'{new_domain}' is already in use."})
            routing_cache.forget_on_commit([domain.domain])
            domain.domain = new_domain
        if is_primary is not None:
            if not is_primary and domain.is_primary:
                raise ValidationError({"is_primary": "Make another domain primary instead."})
            domain.is_primary = is_primary
        domain.save()
    return domain


def domain_remove(*, domain: Domain) -> None:
    with provider_context(), transaction.atomic():
        domain = Domain.objects.select_for_update().get(pk=domain.pk)
        if domain.is_primary:
            raise ValidationError({"domain": "The primary domain cannot be removed; make another one primary first."})
        routing_cache.forget_on_commit([domain.domain])
        domain.delete()


# --- Heartbeat -----------------------------------------------------------------------------


def heartbeat_record(*, schema_name: str) -> TenantHeartbeat:
    """Record, from inside the tenant's own schema, that the heartbeat reached it.

    Running in the tenant's schema means row-level security checks the write:
    a tenant context can only touch its own heartbeat row.
    """
    tenant = tenant_by_schema(schema_name)
    if tenant is None:
        raise ValidationError(f"No tenant has schema '{schema_name}'.")
    tenant_id = tenant.id
    now = timezone.now()
    with schema_context(schema_name), transaction.atomic():
        updated = TenantHeartbeat.objects.filter(tenant_id=tenant_id).update(last_seen_at=now, beats=F("beats") + 1)
        if not updated:
            TenantHeartbeat.objects.create(tenant_id=tenant_id, last_seen_at=now, beats=1)
        return TenantHeartbeat.objects.get(tenant_id=tenant_id)
