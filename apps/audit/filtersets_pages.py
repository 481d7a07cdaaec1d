"""The audit explorer's filter form: the events API's filters (same names, same validation), drawn for a page."""

import django_filters
from django import forms

from apps.audit.api.filtersets import AuditEventFilterSet

_MONO = {"class": "font-monospace", "spellcheck": "false", "autocomplete": "off"}


class AuditEventPageFilterSet(AuditEventFilterSet):
    """The API's filterset with labels and widgets fit for a form; ``before`` (the keyset) is the view's."""

    q = django_filters.CharFilter(
        method="search", max_length=200, label="Search", help_text="Words in the action, actor or resource."
    )
    since = django_filters.IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="gte",
        label="From",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="occurred_at",
        lookup_expr="lt",
        label="Until",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    class Meta(AuditEventFilterSet.Meta):
        fields = ["q", "since", "until", "actor", "action", "outcome", "resource_type", "resource_id", "ip"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        labels = {
            "actor": "Actor email",
            "action": "Action prefix",
            "outcome": "Outcome",
            "resource_type": "Resource type",
            "resource_id": "Resource id",
            "ip": "IP address",
            "request_id": "Request id",
        }
        for name, label in labels.items():
            self.form.fields[name].label = label
        for name in ("action", "resource_type", "resource_id", "ip", "request_id"):
            self.form.fields[name].widget.attrs.update(_MONO)
        self.form.fields["actor_id"].widget = forms.HiddenInput()
        self.form.fields["outcome"].empty_label = "Any"
