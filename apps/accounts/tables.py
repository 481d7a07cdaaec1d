"""The users table of the users page (django-tables2)."""

import django_tables2 as tables
from django.utils.html import format_html

from .models import User


class UserTable(tables.Table):
    pk = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "th__input": {"data-select-all": "pk", "aria-label": "Select all shown users"},
            "td__input": {"aria-label": lambda record: f"Select {record.email}"},
        },
    )
    email = tables.Column(linkify=("users:detail", [tables.A("pk")]))
    display_name = tables.Column(verbose_name="Name")
    is_tenant_admin = tables.BooleanColumn(verbose_name="Admin", yesno="Admin,—")
    status = tables.Column(accessor="is_active", verbose_name="Status", order_by=("is_active", "email"))
    last_login = tables.DateTimeColumn(verbose_name="Last sign-in", format="Y-m-d H:i", default="never")
    is_delegated = tables.Column(verbose_name="Delegated", order_by=("is_delegated", "email"))

    class Meta:
        model = User
        fields = ["pk", "email", "display_name", "is_tenant_admin", "status", "last_login", "is_delegated"]
        template_name = "htmx/table_body.html"
        attrs = {"class": "table table-sm table-hover align-middle bg-body mb-2"}
        empty_text = "No users match."
        # Page and sort come from the query string; the filters keep their own names.
        order_by_field = "sort"

    def render_status(self, value, record):
        if not value:
            return format_html('<span class="badge text-bg-{}">{}</span>', "secondary", "Disabled")
        if record.last_login is None and not record.has_usable_password():
            return format_html(
                '<span class="badge text-bg-{}" title="{}">{}</span>', "warning", "No password yet", "Invited"
            )
        return format_html('<span class="badge text-bg-{}">{}</span>', "success", "Active")

    def render_is_delegated(self, value, record):
        if not value:
            return "—"
        return format_html(
            '<span class="badge text-bg-info" title="Managed from {}">delegated</span>', record.home_email
        )
