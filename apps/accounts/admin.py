"""Provider staff accounts and their account policy in the Django admin (public schema only), and "Open tenant".

axes registers its own AccessAttempt admin here: deleting a record unlocks
the provider-staff account or address it names.
"""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse

from apps.tenancy.admin import TenantAdmin
from apps.tenancy.models import Tenant

from . import services
from .delegation_views import redirect_into
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


class DelegatingTenantAdmin(TenantAdmin):
    """The tenant admin plus "Open tenant": provider staff enter a tenant as a delegated account.

    Registered here rather than in ``tenancy`` because tenancy sits below
    accounts and must not know about users.
    """

    actions = [*TenantAdmin.actions, "open_tenant"]
    change_form_template = "admin/tenancy/tenant/change_form_with_open.html"

    def get_urls(self):
        opens = [
            path(
                "<int:tenant_id>/open/",
                self.admin_site.admin_view(self.open_view),
                name="tenancy_tenant_open",
            )
        ]
        return opens + super().get_urls()

    def open_view(self, request, tenant_id: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        tenant = get_object_or_404(Tenant.objects.select_related("parent"), pk=tenant_id)
        return self._redirect_into(request, tenant)

    @admin.action(description="Open the selected tenant as a delegated account")
    def open_tenant(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one tenant to open.", messages.ERROR)
            return None
        return self._redirect_into(request, queryset.select_related("parent").get())

    def _redirect_into(self, request, tenant: Tenant):
        return redirect_into(
            request,
            tenant,
            on_refusal=lambda reason: self.message_user(request, reason, messages.ERROR),
            back_to="admin:tenancy_tenant_changelist",
        )


admin.site.unregister(Tenant)
admin.site.register(Tenant, DelegatingTenantAdmin)


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
