"""Roles, groups and role assignments of one schema (each tenant's own; the provider's in ``public``).

Permissions themselves are code (``apps.access.registry``); a role stores the
names it grants. Groups hold users and other groups; nesting is acyclic and at
most ``MAX_GROUP_DEPTH`` deep (enforced by ``services``, which every write uses).
"""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from apps.core.permissions import Tier

TIER_CHOICES = [(tier.key, tier.label) for tier in Tier]


class Role(models.Model):
    """A named set of permissions. System roles are seeded in every schema and cannot be edited."""

    name = models.SlugField(max_length=64, unique=True)
    label = models.CharField(max_length=150)
    description = models.TextField(blank=True)
    is_system = models.BooleanField(default=False)
    # The highest tier among its permissions: who may hand it out (a role never grants above its author).
    tier = models.CharField(max_length=16, choices=TIER_CHOICES)
    permissions = ArrayField(models.CharField(max_length=150), default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_system", "name"]

    def __str__(self) -> str:
        return self.label or self.name


class Group(models.Model):
    """People (and other groups) that roles can be assigned to together."""

    name = models.CharField(max_length=150, unique=True)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="access_groups", blank=True)
    # django-guardian keys group grants on Django's auth groups: each of ours gets one when first granted something.
    auth_group = models.OneToOneField(
        "auth.Group", null=True, blank=True, editable=False, on_delete=models.SET_NULL, related_name="access_group"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupNesting(models.Model):
    """``child`` is a member of ``parent``: everyone in ``child`` is in ``parent`` too."""

    parent = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="child_links")
    child = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="parent_links")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["parent", "child"], name="access_groupnesting_once"),
            models.CheckConstraint(condition=~models.Q(parent=models.F("child")), name="access_groupnesting_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.child_id} in {self.parent_id}"


class RoleAssignment(models.Model):
    """A role given to a user or a group, over a scope: the whole tenant, or later a subtree of resources.

    The scope is a generic (type, id) pair so that CMDB compartments can be
    added without changing the engine; ``tenant`` with an empty id is the
    whole tenant.
    """

    SCOPE_TENANT = "tenant"

    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="role_assignments"
    )
    group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE, related_name="role_assignments")
    scope_type = models.CharField(max_length=64, default=SCOPE_TENANT)
    scope_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(user__isnull=False, group__isnull=True) | models.Q(user__isnull=True, group__isnull=False)
                ),
                name="access_roleassignment_one_principal",
            ),
            models.UniqueConstraint(
                fields=["role", "user", "scope_type", "scope_id"],
                condition=models.Q(user__isnull=False),
                name="access_roleassignment_user_once",
            ),
            models.UniqueConstraint(
                fields=["role", "group", "scope_type", "scope_id"],
                condition=models.Q(group__isnull=False),
                name="access_roleassignment_group_once",
            ),
        ]

    def __str__(self) -> str:
        who = f"user {self.user_id}" if self.user_id else f"group {self.group_id}"
        return f"{self.role_id} → {who} @ {self.scope_type}:{self.scope_id or '*'}"


class Policy(models.Model):
    """A tenant-authored Cedar policy (one or more ``permit``/``forbid`` statements), validated before it is saved.

    ``compiled`` holds the statements in Cedar's JSON form, keyed by their ids
    (``policy/<name>``, or ``policy/<name>/<n>`` when there are several), so the
    engine never parses text on the decision path.
    """

    name = models.SlugField(max_length=64, unique=True)
    description = models.TextField(blank=True)
    text = models.TextField()
    compiled = models.JSONField(default=dict, editable=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "policies"

    def __str__(self) -> str:
        return self.name
