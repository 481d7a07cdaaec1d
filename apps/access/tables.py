"""Tables of the access-control pages (django-tables2, drawn by ``htmx/table_body.html`` like every list)."""

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.core.authorization import can

from .models import Group, Policy, Role, RoleAssignment
from .selectors import tier_of


class _Meta:
    template_name = "htmx/table_body.html"
    attrs = {"class": "table table-sm table-hover align-middle bg-body mb-2"}
    order_by_field = "sort"


def badge(colour: str, text: str, title: str = ""):
    if title:
        return format_html('<span class="badge text-bg-{}" title="{}">{}</span>', colour, title, text)
    return format_html('<span class="badge text-bg-{}">{}</span>', colour, text)


def user_link(table, user_id: int, email: str):
    """A user, linked to their effective permissions for those who may see them (``table.link_users``)."""
    if not getattr(table, "link_users", False):
        return format_html("user {}", email)
    url = reverse("access:user-permissions", args=[user_id])
    return format_html('user <a href="{}" title="Effective permissions">{}</a>', url, email)


def scope_text(scope_type: str, scope_id: str) -> str:
    return "whole tenant" if scope_type == RoleAssignment.SCOPE_TENANT else f"{scope_type} {scope_id}"


class RoleTable(tables.Table):
    name = tables.Column(linkify=("access:role-detail", [tables.A("pk")]))
    label = tables.Column()
    is_system = tables.Column(verbose_name="Kind", order_by=("-is_system", "name"))
    tier = tables.Column(order_by=("tier", "name"))
    permission_count = tables.Column(verbose_name="Permissions", accessor="permissions", orderable=False)
    assignment_count = tables.Column(verbose_name="Assigned", order_by=("assignment_count", "name"))

    class Meta(_Meta):
        model = Role
        fields = ["name", "label", "is_system", "tier", "permission_count", "assignment_count"]
        empty_text = "No roles match."

    def render_is_system(self, value):
        if value:
            return badge("secondary", "System · read-only", "Follows the permission registry; cannot be changed.")
        return badge("primary", "Custom")

    def render_tier(self, value, record):
        return tier_of(record).label

    def render_permission_count(self, value):
        return len(value)


class GroupTable(tables.Table):
    name = tables.Column(linkify=("access:group-detail", [tables.A("pk")]))
    description = tables.Column(orderable=False)
    member_count = tables.Column(verbose_name="Direct members")
    child_count = tables.Column(verbose_name="Nested groups")
    created_at = tables.DateTimeColumn(verbose_name="Created", format="Y-m-d")

    class Meta(_Meta):
        model = Group
        fields = ["name", "description", "member_count", "child_count", "created_at"]
        empty_text = "No groups match."


class RoleAssignmentTable(tables.Table):
    role = tables.Column(linkify=("access:role-detail", [tables.A("role_id")]), order_by=("role__name",))
    principal = tables.Column(verbose_name="Given to", accessor="pk", order_by=("user__email", "group__name"))
    scope = tables.Column(accessor="scope_type", order_by=("scope_type", "scope_id"))
    created_at = tables.DateTimeColumn(verbose_name="Since", format="Y-m-d H:i")
    delete = tables.Column(verbose_name="", accessor="pk", orderable=False)

    class Meta(_Meta):
        model = RoleAssignment
        fields = ["role", "principal", "scope", "created_at", "delete"]
        empty_text = "No assignments match."

    def render_role(self, value, record):
        return record.role.name

    def render_principal(self, value, record):
        if record.user_id:
            return user_link(self, record.user_id, record.user.email)
        return format_html(
            'group <a href="{}">{}</a>', reverse("access:group-detail", args=[record.group_id]), record.group.name
        )

    def render_scope(self, value, record):
        return scope_text(record.scope_type, record.scope_id)

    def render_delete(self, value, record):
        return format_html(
            '<a class="btn btn-sm btn-outline-danger" href="{}">Remove</a>',
            reverse("access:assignment-delete", args=[value]),
        )

    def before_render(self, request):
        self.link_users = can(request, "access:decision:simulate")
        if not can(request, "access:assignment:delete"):
            self.columns.hide("delete")


class PolicyTable(tables.Table):
    name = tables.Column(linkify=("access:policy-detail", [tables.A("pk")]))
    description = tables.Column(orderable=False)
    enabled = tables.Column(order_by=("-enabled", "name"))
    statements = tables.Column(accessor="compiled", orderable=False)
    updated_at = tables.DateTimeColumn(verbose_name="Changed", format="Y-m-d H:i")
    updated_by = tables.Column(verbose_name="By", accessor="updated_by__email", default="—")

    class Meta(_Meta):
        model = Policy
        fields = ["name", "description", "enabled", "statements", "updated_at", "updated_by"]
        empty_text = "No policies match."

    def render_enabled(self, value):
        return badge("success", "Enabled") if value else badge("secondary", "Disabled")

    def render_statements(self, value, record):
        forbids = sum(1 for statement in value.values() if statement.get("effect") == "forbid")
        permits = len(value) - forbids
        parts = [f"{permits} permit" if permits else "", f"{forbids} forbid" if forbids else ""]
        return ", ".join(part for part in parts if part) or "—"


class ObjectGrantTable(tables.Table):
    """Rows of ``selectors.object_grants()`` (dicts), each with a form that withdraws it."""

    principal = tables.Column(verbose_name="Granted to", accessor="principal_name")
    permission = tables.Column()
    kind = tables.Column()
    object_id = tables.Column(verbose_name="Object id")
    remove = tables.TemplateColumn(
        template_name="access/grants/_remove.html", verbose_name="", orderable=False, accessor="id"
    )

    class Meta(_Meta):
        empty_text = "No object grants yet."

    def render_principal(self, value, record):
        if record["principal_type"] == "group":
            url = reverse("access:group-detail", args=[record["principal_id"]])
            return format_html('group <a href="{}">{}</a>', url, value)
        return user_link(self, record["principal_id"], value)

    def before_render(self, request):
        self.link_users = can(request, "access:decision:simulate")
        if not can(request, "access:grant:delete"):
            self.columns.hide("remove")


class EffectivePermissionTable(tables.Table):
    """One row per registry permission: the engine's answer now, why, and the scopes held through roles."""

    name = tables.Column(verbose_name="Permission")
    label = tables.Column(verbose_name="What it allows")
    tier = tables.Column()
    allowed = tables.Column(verbose_name="Now", order_by=("allowed", "name"))
    reasons = tables.Column(verbose_name="Because of", orderable=False, default="—")
    scopes = tables.Column(verbose_name="Held over (roles)", orderable=False, default="—")

    class Meta(_Meta):
        empty_text = "No permissions are registered."

    def render_name(self, value):
        return format_html("<code>{}</code>", value)

    def render_allowed(self, value, record):
        if record["errors"]:
            return badge("danger", "Denied", "; ".join(record["errors"]))
        return badge("success", "Allowed") if value else badge("secondary", "Denied")

    def render_reasons(self, value):
        if not value:
            return "—"
        return format_html_join(
            "",
            '<div class="small"><span class="badge text-bg-{}">{}</span> {}</div>',
            (("danger" if r["effect"] == "forbid" else "light", r["effect"] or r["kind"], r["text"]) for r in value),
        )

    def render_scopes(self, value):
        if not value:
            return "—"
        return ", ".join(scope_text(scope_type, scope_id) for scope_type, scope_id in value)
