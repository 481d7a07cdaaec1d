"""FilterSets of roles, groups, role assignments and policies (the pages' filter forms; the API may share them)."""

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Q

from apps.accounts.filtersets import StrictBooleanFilter

from .forms import UserChoiceField, scope_type_choices
from .models import Group, Policy, Role, RoleAssignment


def _search(queryset, fields: tuple[str, ...], value: str):
    value = value.strip()
    if not value:
        return queryset
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": value})
    return queryset.filter(condition)


class UserChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = UserChoiceField


def _users(request):
    return get_user_model().objects.order_by("email")


class RoleFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search", help_text="Part of the name, label or description.")
    is_system = StrictBooleanFilter(label="System role")
    permission = django_filters.CharFilter(
        method="granting", label="Grants", help_text="A permission name, e.g. accounts:user:view."
    )

    class Meta:
        model = Role
        fields = ["q", "is_system", "permission"]

    def search(self, queryset, name, value: str):
        return _search(queryset, ("name", "label", "description"), value)

    def granting(self, queryset, name, value: str):
        value = value.strip()
        return queryset.filter(permissions__contains=[value]) if value else queryset


class GroupFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search", help_text="Part of the name or description.")
    member_id = UserChoiceFilter(label="Has direct member", field_name="members", queryset=_users)

    class Meta:
        model = Group
        fields = ["q", "member_id"]

    def search(self, queryset, name, value: str):
        return _search(queryset, ("name", "description"), value)


class RoleAssignmentFilterSet(django_filters.FilterSet):
    role_id = django_filters.ModelChoiceFilter(label="Role", field_name="role", queryset=Role.objects.all())
    user_id = UserChoiceFilter(label="User", field_name="user", queryset=_users)
    group_id = django_filters.ModelChoiceFilter(label="Group", field_name="group", queryset=Group.objects.all())
    scope_type = django_filters.ChoiceFilter(label="Scope", choices=scope_type_choices, empty_label="Any")

    class Meta:
        model = RoleAssignment
        fields = ["role_id", "user_id", "group_id", "scope_type"]


class PolicyFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search", help_text="Part of the name, description or text.")
    enabled = StrictBooleanFilter(label="Enabled")

    class Meta:
        model = Policy
        fields = ["q", "enabled"]

    def search(self, queryset, name, value: str):
        return _search(queryset, ("name", "description", "text"), value)
