"""Provider staff accounts and their account policy in the Django admin (public schema only).

axes registers its own AccessAttempt admin here: deleting a record unlocks
the provider-staff account or address it names.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.shortcuts import redirect
from django.urls import reverse

from . import services
from .models import AccountPolicy, User
from .selectors import account_policy


class StaffCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class StaffChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = StaffCreationForm
    form = StaffChangeForm
    ordering = ["email"]
    list_display = ["email", "display_name", "is_active", "is_staff", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "display_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["display_name"]}),
        ("Access", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    readonly_fields = ["last_login", "date_joined"]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


@admin.register(AccountPolicy)
class AccountPolicyAdmin(admin.ModelAdmin):
    """The provider's own password and session rules: one row, changed through the service."""

    fields = [*services.POLICY_FIELDS, "updated_at"]
    readonly_fields = ["updated_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        return redirect(reverse("admin:accounts_accountpolicy_change", args=[account_policy().pk]))

    def save_model(self, request, obj, form, change):
        services.account_policy_update(
            actor=request.user, **{name: form.cleaned_data[name] for name in services.POLICY_FIELDS}
        )
