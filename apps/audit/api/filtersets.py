"""Filters of the audit events API; a bad value is a 400 naming the filter, never ignored."""

import django_filters
from django.contrib.postgres.search import SearchQuery
from django.core.validators import validate_ipv46_address

from apps.audit.models import SEARCH_VECTOR, AuditEvent, Outcome


class AuditEventFilterSet(django_filters.FilterSet):
    since = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="gte", help_text="ISO 8601.")
    until = django_filters.IsoDateTimeFilter(field_name="occurred_at", lookup_expr="lt", help_text="ISO 8601.")
    actor = django_filters.CharFilter(
        field_name="actor_display", lookup_expr="iexact", max_length=254, help_text="The actor's email."
    )
    actor_id = django_filters.NumberFilter(field_name="actor_id")
    action = django_filters.CharFilter(
        field_name="action",
        lookup_expr="startswith",
        max_length=150,
        help_text="A prefix: 'accounts:' or 'access:role:'.",
    )
    resource_type = django_filters.CharFilter(max_length=100)
    resource_id = django_filters.CharFilter(max_length=128)
    outcome = django_filters.ChoiceFilter(choices=Outcome.choices)
    ip = django_filters.CharFilter(field_name="source_ip", max_length=45, validators=[validate_ipv46_address])
    request_id = django_filters.CharFilter(max_length=64)
    q = django_filters.CharFilter(method="search", max_length=200, help_text="Words in the action, actor or resource.")

    class Meta:
        model = AuditEvent
        fields = ["since", "until", "actor", "actor_id", "action", "resource_type", "resource_id", "outcome", "ip"]

    def search(self, queryset, name, value):
        if not value.strip():
            return queryset
        return queryset.annotate(search=SEARCH_VECTOR).filter(
            search=SearchQuery(value, search_type="websearch", config="simple")
        )
