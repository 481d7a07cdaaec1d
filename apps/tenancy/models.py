"""The tenant hierarchy: provider (public schema) → tenants → sub-tenants, one schema each."""

from django.db import models
from django.db.models import Q
from django_tenants.models import DomainMixin, TenantMixin

from apps.core.models import TimeStampedModel


class TenantKind(models.TextChoices):
    PROVIDER = "provider", "Provider"
    TENANT = "tenant", "Tenant"
    SUB_TENANT = "sub_tenant", "Sub-tenant"


class TenantStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    SUSPENDED = "suspended", "Suspended"
    ARCHIVED = "archived", "Archived"


class Tenant(TenantMixin, TimeStampedModel):
    """An isolated realm with its own PostgreSQL schema, users and data.

    Exactly one row is the provider; it owns the ``public`` schema. Quotas are
    allocations: the apps that own users, sub-tenants and CIs enforce them, and
    a sub-tenant's allocation is carved out of its parent's.
    """

    name = models.CharField(max_length=200)
    slug = models.SlugField(
        max_length=50, unique=True, help_text="DNS label: the tenant's host is <slug>.<base domain>."
    )
    kind = models.CharField(max_length=16, choices=TenantKind.choices, default=TenantKind.TENANT)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    status = models.CharField(max_length=16, choices=TenantStatus.choices, default=TenantStatus.ACTIVE)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    plan = models.CharField(max_length=32, default="standard")
    max_users = models.PositiveIntegerField(default=0)
    max_sub_tenants = models.PositiveIntegerField(default=0)
    max_cis = models.PositiveIntegerField(default=0)

    # Schemas are created by tenancy.services, never as a side effect of save().
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["slug"]
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=Q(kind="provider"), name="tenancy_single_provider"),
            models.CheckConstraint(
                condition=Q(kind="provider", parent__isnull=True) | (~Q(kind="provider") & Q(parent__isnull=False)),
                name="tenancy_parent_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_provider(self) -> bool:
        return self.kind == TenantKind.PROVIDER

    @property
    def is_active(self) -> bool:
        return self.status == TenantStatus.ACTIVE

    def effective_status(self) -> str:
        """A tenant is no more available than its parent: a suspended tenant suspends its sub-tenants."""
        if self.parent_id and self.parent.kind != TenantKind.PROVIDER and self.parent.status != TenantStatus.ACTIVE:
            return self.parent.status
        return self.status


class Domain(DomainMixin):
    """A host name that routes to a tenant; one per tenant is primary."""

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class TenantHeartbeat(models.Model):
    """When the per-tenant heartbeat schedule last reached a tenant, from inside its schema.

    A shared table read and written in tenant context, so it is guarded by
    PostgreSQL row-level security (see ``tenancy.rls``).
    """

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="heartbeat")
    last_seen_at = models.DateTimeField()
    beats = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.tenant_id} @ {self.last_seen_at:%Y-%m-%d %H:%M:%S}"


class SpareSchema(models.Model):
    """A copy of the template schema made ahead of time, waiting to be renamed into a new tenant's.

    ``migrations_fingerprint`` names the code's migrations when it was made;
    a spare whose fingerprint is not the current one is never used.
    """

    schema_name = models.CharField(max_length=63, unique=True)
    migrations_fingerprint = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return self.schema_name


class DelegatedAccess(models.Model):
    """Who has opened a tenant with a delegated account: one row per home account and tenant.

    The delegated account itself lives in the tenant's schema; this shared row
    lets the provider find every delegate of a home account (to disable them
    with it) without visiting every schema. Guarded by row-level security: a
    tenant sees only the rows about itself.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="delegated_accesses")
    home_schema = models.CharField(max_length=63)
    home_user_id = models.BigIntegerField()
    home_email = models.EmailField(max_length=254)
    first_opened_at = models.DateTimeField(auto_now_add=True)
    last_opened_at = models.DateTimeField()

    class Meta:
        ordering = ["-last_opened_at"]
        verbose_name_plural = "delegated accesses"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "home_schema", "home_user_id"], name="tenancy_delegatedaccess_one_per_home"
            )
        ]
        indexes = [models.Index(fields=["home_schema", "home_user_id"], name="tenancy_delegation_home_idx")]

    def __str__(self) -> str:
        return f"{self.home_email} → {self.tenant_id}"
