"""Provider staff manage tenants here (Django admin on the provider host only).

Every write goes through ``tenancy.services``. The add and change forms call
the service from ``clean()``, inside the admin's transaction, so the
service's own checks (slug rules, quota inheritance, a taken domain) come back
as form errors, not as a 500; if the page is shown again with any error, that
transaction is rolled back.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, CharField, F, Value, When
from django.db.models.functions import Concat
from django.utils.html import format_html

from apps.core.errors import describe_validation_error

from . import services
from .models import DelegatedAccess, Domain, Tenant, TenantKind, TenantStatus
from .plans import PLAN_CHOICES, QUOTA_FIELDS
from .selectors import quota_allocated_to_children, tenants_that_can_have_sub_tenants


def _add_service_errors(form: forms.Form, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, messages_ in error.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


class TenantAddForm(forms.ModelForm):
    kind = forms.ChoiceField(
        choices=[(TenantKind.TENANT, "Tenant"), (TenantKind.SUB_TENANT, "Sub-tenant")], initial=TenantKind.TENANT
    )
    plan = forms.ChoiceField(choices=PLAN_CHOICES, initial="standard")
    domain = forms.CharField(required=False, help_text="Leave empty for <slug>.<base domain>.")
    max_users = forms.IntegerField(required=False, min_value=0, help_text="Empty: the plan's default.")
    max_sub_tenants = forms.IntegerField(required=False, min_value=0, help_text="Empty: the plan's default.")
    max_cis = forms.IntegerField(required=False, min_value=0, help_text="Empty: the plan's default.")

    class Meta:
        model = Tenant
        fields = ["name", "slug", "kind", "parent", "plan", "max_users", "max_sub_tenants", "max_cis"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = tenants_that_can_have_sub_tenants()
        self.fields["parent"].help_text = "Only for a sub-tenant: the tenant it belongs to."
        self.provisioned: Tenant | None = None

    def _post_clean(self):
        # The model instance is built by the provisioning service, not from the form.
        pass

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.provisioned = services.tenant_provision(
                name=data["name"],
                slug=data["slug"],
                kind=data["kind"],
                parent=data.get("parent") if data["kind"] == TenantKind.SUB_TENANT else None,
                plan=data["plan"],
                quotas={field: data[field] for field in QUOTA_FIELDS if data.get(field) is not None},
                domains=[data["domain"]] if data.get("domain") else None,
            )
        except ValidationError as error:
            _add_service_errors(self, error)
        return data


class TenantChangeForm(forms.ModelForm):
    plan = forms.ChoiceField(choices=PLAN_CHOICES)

    class Meta:
        model = Tenant
        fields = ["name", "plan", "max_users", "max_sub_tenants", "max_cis"]

    def _post_clean(self):
        pass

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            services.tenant_update(
                tenant=self.instance,
                name=data["name"],
                plan=data["plan"],
                quotas={field: data[field] for field in QUOTA_FIELDS if field in self.changed_data},
            )
        except ValidationError as error:
            _add_service_errors(self, error)
        return data


class DomainFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        for form in kept:
            try:
                form.cleaned_data["domain"] = services.validate_domain(form.cleaned_data.get("domain", ""))
            except ValidationError as error:
                form.add_error("domain", error.message_dict.get("domains", error.messages))
        primaries = sum(1 for form in kept if form.cleaned_data.get("is_primary"))
        if kept and primaries != 1:
            raise ValidationError("Exactly one domain must be primary.")
        if not kept:
            raise ValidationError("A tenant needs at least one domain.")


class DomainInline(admin.TabularInline):
    model = Domain
    formset = DomainFormSet
    fields = ["domain", "is_primary"]
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["tree_name", "slug", "kind", "status_badge", "plan", "primary_domain", "created_at"]
    list_filter = ["kind", "status", "plan"]
    search_fields = ["name", "slug", "domains__domain"]
    actions = ["suspend_selected", "resume_selected", "archive_selected"]
    readonly_fields = [
        "slug",
        "kind",
        "parent",
        "schema_name",
        "status",
        "status_changed_at",
        "created_at",
        "updated_at",
        "quota_summary",
    ]
    list_per_page = 100

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with transaction.atomic():
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if request.method == "POST" and response.status_code == 200:
                # The page comes back with errors (an inline, say) after the form's clean() already wrote
                # through a service: undo it, so that nothing shown as rejected was saved.
                transaction.set_rollback(True)
        return response

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = TenantChangeForm if obj else TenantAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [
                (None, {"fields": ["name", "slug", "kind", "parent", "domain"]}),
                ("Plan and quotas", {"fields": ["plan", "max_users", "max_sub_tenants", "max_cis"]}),
            ]
        return [
            (None, {"fields": ["name", "slug", "kind", "parent", "schema_name"]}),
            ("Status", {"fields": ["status", "status_changed_at"]}),
            ("Plan and quotas", {"fields": ["plan", "max_users", "max_sub_tenants", "max_cis", "quota_summary"]}),
            ("Dates", {"fields": ["created_at", "updated_at"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def get_inlines(self, request, obj):
        # Domains are created by provisioning; they are edited afterwards. The provider's is managed by migrate_all.
        return [DomainInline] if obj is not None and not obj.is_provider else []

    def get_queryset(self, request):
        # Parents first, each followed by its children: sort by "<parent slug>/<slug>" for sub-tenants.
        tree_key = Case(
            When(kind=TenantKind.PROVIDER, then=Value("")),
            When(
                kind=TenantKind.SUB_TENANT,
                then=Concat(F("parent__slug"), Value("/"), F("slug"), output_field=CharField()),
            ),
            default=F("slug"),
            output_field=CharField(),
        )
        return (
            super()
            .get_queryset(request)
            .select_related("parent")
            .prefetch_related("domains")
            .annotate(tree_key=tree_key)
            .order_by("tree_key")
        )

    @admin.display(description="Tenant", ordering="tree_key")
    def tree_name(self, tenant: Tenant):
        depth = {TenantKind.PROVIDER: 0, TenantKind.TENANT: 1, TenantKind.SUB_TENANT: 2}[tenant.kind]
        return format_html(
            '<span style="padding-left:{}rem">{}{}</span>', depth * 1.25, "└ " if depth == 2 else "", tenant.name
        )

    @admin.display(description="Status", ordering="status")
    def status_badge(self, tenant: Tenant):
        effective = tenant.effective_status()
        if effective != tenant.status:
            return f"{tenant.get_status_display()} (parent {effective})"
        return tenant.get_status_display()

    @admin.display(description="Primary domain")
    def primary_domain(self, tenant: Tenant):
        return next((d.domain for d in tenant.domains.all() if d.is_primary), "-")

    @admin.display(description="Allocated to sub-tenants")
    def quota_summary(self, tenant: Tenant):
        if tenant.kind != TenantKind.TENANT:
            return "-"
        allocated = quota_allocated_to_children(tenant)
        return (
            f"{allocated['children']} of {tenant.max_sub_tenants} sub-tenants; "
            f"users {allocated['max_users']} of {tenant.max_users}; CIs {allocated['max_cis']} of {tenant.max_cis}"
        )

    def save_model(self, request, obj, form, change):
        # The forms already wrote through the services in clean(); adopt the result for the admin's response.
        source = form.provisioned if not change else Tenant.objects.get(pk=obj.pk)
        obj.__dict__.update({k: v for k, v in source.__dict__.items() if k != "_state"})
        obj._state.adding = False

    def save_formset(self, request, form, formset, change):
        # The admin's change message reads these lists, which formset.save() would have filled.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        kept = [f for f in formset.forms if getattr(f, "cleaned_data", None) and not f.cleaned_data.get("DELETE")]
        # The new primary first: demoting the old one before it would leave the tenant without one.
        for inline_form in sorted(kept, key=lambda f: not f.cleaned_data["is_primary"]):
            data = inline_form.cleaned_data
            if inline_form.instance.pk is None:
                formset.new_objects.append(
                    services.domain_add(tenant=form.instance, domain=data["domain"], is_primary=data["is_primary"])
                )
            elif inline_form.has_changed():
                updated = services.domain_update(
                    domain=inline_form.instance, new_domain=data["domain"], is_primary=data["is_primary"]
                )
                formset.changed_objects.append((updated, inline_form.changed_data))
        for inline_form in formset.deleted_forms:
            if inline_form.instance.pk:
                services.domain_remove(domain=inline_form.instance)
                formset.deleted_objects.append(inline_form.instance)

    def has_delete_permission(self, request, obj=None):
        # Only an archived tenant can be deleted, one at a time, from its own page.
        return bool(obj and obj.status == TenantStatus.ARCHIVED and super().has_delete_permission(request, obj))

    def delete_model(self, request, obj):
        services.tenant_delete(tenant=obj)

    def _apply(self, request, queryset, service, verb: str) -> None:
        done, failed = [], []
        for tenant in queryset:
            try:
                service(tenant=tenant)
                done.append(tenant.slug)
            except ValidationError as error:
                failed.append(f"{tenant.slug}: {describe_validation_error(error)}")
        if done:
            self.message_user(request, f"{verb}: {', '.join(done)}.", messages.SUCCESS)
        for failure in failed:
            self.message_user(request, failure, messages.ERROR)

    @admin.action(description="Suspend selected tenants", permissions=["change"])
    def suspend_selected(self, request, queryset):
        self._apply(request, queryset, services.tenant_suspend, "Suspended")

    @admin.action(description="Resume selected tenants", permissions=["change"])
    def resume_selected(self, request, queryset):
        self._apply(request, queryset, services.tenant_resume, "Resumed")

    @admin.action(description="Archive selected tenants", permissions=["change"])
    def archive_selected(self, request, queryset):
        self._apply(request, queryset, services.tenant_archive, "Archived")


@admin.register(DelegatedAccess)
class DelegatedAccessAdmin(admin.ModelAdmin):
    """Read-only: which home accounts have opened which tenants as delegates, and when last."""

    list_display = ["home_email", "home_schema", "tenant", "first_opened_at", "last_opened_at"]
    list_filter = ["home_schema"]
    search_fields = ["home_email", "tenant__slug", "tenant__name"]
    list_select_related = ["tenant"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
