"""Tables of the audit pages (django-tables2). The explorer's rows are drawn by ``audit/_rows.html``, so an HTMX
request for the next page gets only rows; its order is fixed (newest first), so nothing sorts."""

import django_tables2 as tables
from django.utils.html import format_html

from apps.core.authorization import can

from .models import AuditEvent, Outcome, RedactionRule

OUTCOME_COLOURS = {Outcome.SUCCESS: "success", Outcome.DENIED: "warning", Outcome.ERROR: "danger"}


class _Meta:
    template_name = "htmx/table_body.html"
    attrs = {"class": "table table-sm table-hover align-middle bg-body mb-2"}
    order_by_field = "sort"
    orderable = False


def badge(colour: str, text: str, title: str = ""):
    if title:
        return format_html('<span class="badge text-bg-{}" title="{}">{}</span>', colour, title, text)
    return format_html('<span class="badge text-bg-{}">{}</span>', colour, text)


def outcome_badge(outcome: str):
    return badge(OUTCOME_COLOURS.get(outcome, "secondary"), Outcome(outcome).label if outcome in Outcome else outcome)


class AuditEventTable(tables.Table):
    occurred_at = tables.DateTimeColumn(verbose_name="Time", format="Y-m-d H:i:s")
    actor = tables.Column(verbose_name="Actor", accessor="actor_display", default="system")
    action = tables.Column(linkify=("audit:event-detail", [tables.A("pk")]))
    resource = tables.Column(verbose_name="Resource", accessor="resource_type")
    outcome = tables.Column()
    source_ip = tables.Column(verbose_name="IP", default="—")
    seq = tables.Column(verbose_name="Sealed", default=badge("light", "unsealed", "Not in the chain yet"))

    class Meta(_Meta):
        model = AuditEvent
        template_name = "audit/_table.html"
        fields = ["occurred_at", "actor", "action", "resource", "outcome", "source_ip", "seq"]
        empty_text = "No events match."

    def render_actor(self, value, record):
        if not record.on_behalf_of:
            return value
        return format_html("{} {}", value, badge("warning", "delegated", f"On behalf of {record.on_behalf_of}"))

    def render_action(self, value):
        return format_html("<code>{}</code>", value)

    def render_resource(self, value, record):
        shown = record.resource_display or record.resource_id
        if not shown:
            return format_html('<span class="text-body-secondary">{}</span>', value)
        return format_html('<span class="text-body-secondary">{}</span> {}', value, shown)

    def render_outcome(self, value):
        return outcome_badge(value)

    def render_seq(self, value, record):
        return badge("secondary", f"#{value}", f"Sealed {record.sealed_at:%Y-%m-%d %H:%M:%S}")


class RedactionRuleTable(tables.Table):
    kind = tables.Column()
    pattern = tables.Column()
    description = tables.Column(default="—")
    enabled = tables.Column()
    created_at = tables.DateTimeColumn(verbose_name="Added", format="Y-m-d H:i")
    manage = tables.TemplateColumn(
        template_name="audit/redaction/_manage.html", verbose_name="", accessor="pk", orderable=False
    )

    class Meta(_Meta):
        model = RedactionRule
        fields = ["kind", "pattern", "description", "enabled", "created_at", "manage"]
        empty_text = "No rules of your own yet: only the built-in redaction applies."

    def render_kind(self, value, record):
        return record.get_kind_display()

    def render_pattern(self, value):
        return format_html("<code>{}</code>", value)

    def render_enabled(self, value):
        return badge("success", "Enabled") if value else badge("secondary", "Disabled")

    def before_render(self, request):
        if not can(request, "audit:redaction:update"):
            self.columns.hide("manage")
