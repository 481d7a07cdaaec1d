"""The one FilterSet of users, shared by the users page and the users API."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from .models import User


class YesNoSelect(forms.NullBooleanSelect):
    """Any / Yes / No, written ``true``/``false`` in URLs; unlike Django's widget it passes unknown words on."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("", "Any"), ("true", "Yes"), ("false", "No")]

    def format_value(self, value):
        return {True: "true", False: "false", "true": "true", "false": "false"}.get(value, "")

    def value_from_datadict(self, data, files, name):
        return data.get(name)


class StrictNullBooleanField(forms.NullBooleanField):
    """Yes, no or empty; anything else is an error (Django's field would quietly read it as "any")."""

    widget = YesNoSelect

    def to_python(self, value):
        if value in (None, ""):
            return None
        if value in (True, "true", "True", "1"):
            return True
        if value in (False, "false", "False", "0"):
            return False
        raise ValidationError("Choose true or false (or leave it empty for any).", code="invalid")


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictNullBooleanField


class UserFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search", help_text="Part of the email or name.")
    is_active = StrictBooleanFilter(label="Active")
    is_tenant_admin = StrictBooleanFilter(label="Administrator")
    is_delegated = StrictBooleanFilter(label="Delegated")

    class Meta:
        model = User
        fields = ["q", "is_active", "is_tenant_admin", "is_delegated"]

    def search(self, queryset, name, value: str):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(email__icontains=value) | Q(display_name__icontains=value))


class UserApiFilterSet(UserFilterSet):
    """The API adds ``ordering``; the page sorts by its table's column headers instead."""

    ordering = django_filters.OrderingFilter(
        fields=["email", "display_name", "date_joined", "last_login"],
        help_text="Sort by email, display_name, date_joined or last_login; prefix '-' for descending.",
    )
