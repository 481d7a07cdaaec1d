"""Filters of the access-control API's lists."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from apps.access.models import TIER_CHOICES, Group, Policy, Role, RoleAssignment
from apps.accounts.filtersets import StrictBooleanFilter


def _search(queryset, fields: list[str], value: str):
    value = value.strip()
    if not value:
        return queryset
    query = Q()
    for field in fields:
        query |= Q(**{f"{field}__icontains": value})
    return queryset.filter(query)


class RoleFilterSet(django_filters.FilterSet):
    system = StrictBooleanFilter(field_name="is_system", label="System role")
    q = django_filters.CharFilter(method="search", label="Search", help_text="Part of the name, label or description.")
    tier = django_filters.ChoiceFilter(choices=TIER_CHOICES)
    permission = django_filters.CharFilter(max_length=150, method="granting", help_text="Only roles granting it.")

    class Meta:
        model = Role
        fields = ["system", "q", "tier", "permission"]

    def search(self, queryset, name, value):
        return _search(queryset, ["name", "label", "description"], value)

    def granting(self, queryset, name, value):
        return queryset.filter(permissions__contains=[value])


class GroupFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search", help_text="Part of the name or description.")

    class Meta:
        model = Group
        fields = ["q"]

    def search(self, queryset, name, value):
        return _search(queryset, ["name", "description"], value)


class AssignmentFilterSet(django_filters.FilterSet):
    role = django_filters.ModelChoiceFilter(queryset=Role.objects.all(), help_text="A role's id.")
    user = django_filters.ModelChoiceFilter(
        queryset=get_user_model().objects.all(), help_text="A user's id: their own assignments, not their groups'."
    )
    group = django_filters.ModelChoiceFilter(queryset=Group.objects.all(), help_text="A group's id.")
    scope_type = django_filters.CharFilter(max_length=64, help_text="tenant, or a registered scope type.")

    class Meta:
        model = RoleAssignment
        fields = ["role", "user", "group", "scope_type"]


class PolicyFilterSet(django_filters.FilterSet):
    enabled = StrictBooleanFilter(label="Enabled")
    q = django_filters.CharFilter(method="search", label="Search", help_text="Part of the name or description.")

    class Meta:
        model = Policy
        fields = ["enabled", "q"]

    def search(self, queryset, name, value):
        return _search(queryset, ["name", "description"], value)
