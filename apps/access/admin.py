"""The provider's own roles, groups, assignments and Cedar policies in the Django admin (public schema only).

Provider staff manage access to the provider host here; tenants manage
theirs on their own pages (``/access/``). Every write goes through
``services`` so that the admin obeys the same rules (no escalation, no
cycles, valid Cedar): each form runs its service while validating, so a
refusal shows as a form error, and the admin's own save keeps what the
service made. The admin's change view runs in one transaction, so nothing
is half-saved.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.html import format_html_join

from . import registry, selectors, services
from .models import Group, GroupNesting, Policy, Role, RoleAssignment


def _permission_choices():
    return [(p.name, f"{p.name} — {p.label} ({p.tier.label})") for p in registry.all_permissions()]


class ServiceForm(forms.ModelForm):
    """A model form whose ``run_service`` does the write; refusals become form errors."""

    actor = None

    def run_service(self):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            self.instance = self.run_service()
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, field_errors in error.message_dict.items():
                    self.add_error(field if field in self.fields else None, field_errors)
            else:
                self.add_error(None, error.messages)
        except PermissionDenied as denied:
            self.add_error(None, str(denied))
        return cleaned

    def save(self, commit=True):
        return self.instance  # the service saved it

    def save_m2m(self):
        pass


class ServiceAdmin(admin.ModelAdmin):
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        with transaction.atomic():
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if request.method == "POST" and response.status_code == 200:
                # Shown again with errors after clean() already wrote through a service: undo that write.
                transaction.set_rollback(True)
        return response

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"actor": request.user})

    def save_model(self, request, obj, form, change):
        pass  # done by the form's service

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change)


class RoleForm(ServiceForm):
    permissions = forms.MultipleChoiceField(choices=_permission_choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = Role
        fields = ["name", "label", "description", "permissions"]

    def run_service(self):
        data = self.cleaned_data
        if self.instance.pk:
            return services.role_update(
                actor=self.actor,
                role=self.instance,
                label=data["label"],
                permissions=data["permissions"],
                description=data["description"],
            )
        return services.role_create(
            actor=self.actor,
            name=data["name"],
            label=data["label"],
            permissions=data["permissions"],
            description=data["description"],
        )


@admin.register(Role)
class RoleAdmin(ServiceAdmin):
    form = RoleForm
    list_display = ["name", "label", "tier", "is_system", "permission_count"]
    list_filter = ["is_system", "tier"]
    search_fields = ["name", "label"]

    @admin.display(description="permissions")
    def permission_count(self, role: Role) -> int:
        return len(role.permissions)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_system:
            return ["name", "label", "description", "tier", "permissions"]
        return ["name"] if obj is not None else []

    def has_change_permission(self, request, obj=None):
        # System roles follow the registry: shown, never edited.
        return super().has_change_permission(request, obj) and not (obj is not None and obj.is_system)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and (obj.is_system or obj.assignments.exists()):
            return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request, obj):
        services.role_delete(role=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for role in queryset:
            try:
                services.role_delete(role=role, actor=request.user)
            except (ValidationError, PermissionDenied) as error:
                reason = " ".join(getattr(error, "messages", [str(error)]))
                self.message_user(request, f"{role.name}: {reason}", messages.ERROR)


class NestingForm(forms.ModelForm):
    class Meta:
        model = GroupNesting
        fields = ["child"]


class NestingFormSet(forms.BaseInlineFormSet):
    """Nested groups, added and removed through the services (cycle and depth checks)."""

    def clean(self):
        super().clean()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE") or form.instance.pk:
                continue
            child = form.cleaned_data.get("child")
            if child is None:
                continue
            try:
                services.group_nest(parent=self.instance, child=child, actor=self.actor)
            except ValidationError as error:
                form.add_error("child", error.messages)
            except PermissionDenied as denied:
                form.add_error("child", str(denied))

    def save(self, commit=True):
        # The additions were made in clean(); the admin's change message reads these three lists.
        self.new_objects, self.changed_objects, self.deleted_objects = [], [], []
        for form in self.deleted_forms:
            if form.instance.pk:
                services.group_unnest(parent=form.instance.parent, child=form.instance.child, actor=self.actor)
                self.deleted_objects.append(form.instance)
        return []


class NestingInline(admin.TabularInline):
    model = GroupNesting
    fk_name = "parent"
    form = NestingForm
    formset = NestingFormSet
    extra = 1
    verbose_name = "nested group"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"actor": request.user})

    verbose_name_plural = "nested groups (their members are members of this group)"


class GroupForm(ServiceForm):
    class Meta:
        model = Group
        fields = ["name", "description", "members"]
        widgets = {"members": admin.widgets.FilteredSelectMultiple("members", is_stacked=False)}

    def run_service(self):
        data = self.cleaned_data
        if self.instance.pk:
            group = services.group_update(
                group=self.instance, name=data["name"], description=data["description"], actor=self.actor
            )
        else:
            group = services.group_create(actor=self.actor, name=data["name"], description=data["description"])
        wanted = set(data.get("members") or [])
        current = set(group.members.all())
        for user in wanted - current:
            services.group_member_add(group=group, user=user, actor=self.actor)
        for user in current - wanted:
            services.group_member_remove(group=group, user=user, actor=self.actor)
        return group


@admin.register(Group)
class GroupAdmin(ServiceAdmin):
    form = GroupForm
    inlines = [NestingInline]
    list_display = ["name", "description", "member_count"]
    search_fields = ["name"]
    readonly_fields = ["effective_members"]

    @admin.display(description="members")
    def member_count(self, group: Group) -> int:
        return group.members.count()

    @admin.display(description="effective members (through nested groups too)")
    def effective_members(self, group: Group):
        if not group.pk:
            return "-"
        members = selectors.group_effective_members(group)
        return format_html_join(", ", "{}", ((user.email,) for user in members)) or "-"

    def delete_model(self, request, obj):
        services.group_delete(group=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for group in queryset:
            try:
                services.group_delete(group=group, actor=request.user)
            except (ValidationError, PermissionDenied) as error:
                reason = " ".join(getattr(error, "messages", [str(error)]))
                self.message_user(request, f"{group.name}: {reason}", messages.ERROR)


class AssignmentForm(ServiceForm):
    class Meta:
        model = RoleAssignment
        fields = ["role", "user", "group", "scope_type", "scope_id"]

    def run_service(self):
        data = self.cleaned_data
        return services.role_assign(
            actor=self.actor,
            role=data["role"],
            user=data.get("user"),
            group=data.get("group"),
            scope_type=data.get("scope_type") or RoleAssignment.SCOPE_TENANT,
            scope_id=data.get("scope_id") or "",
        )


@admin.register(RoleAssignment)
class RoleAssignmentAdmin(ServiceAdmin):
    form = AssignmentForm
    list_display = ["role", "user", "group", "scope_type", "scope_id", "created_at"]
    list_filter = ["role", "scope_type"]
    list_select_related = ["role", "user", "group"]

    def has_change_permission(self, request, obj=None):
        return False  # an assignment is given or taken away, never edited

    def delete_model(self, request, obj):
        services.role_unassign(actor=request.user, assignment=obj)

    def delete_queryset(self, request, queryset):
        for assignment in queryset:
            try:
                services.role_unassign(actor=request.user, assignment=assignment)
            except PermissionDenied as denied:
                self.message_user(request, str(denied), messages.ERROR)


class PolicyForm(ServiceForm):
    class Meta:
        model = Policy
        fields = ["name", "description", "text", "enabled"]
        widgets = {"text": forms.Textarea(attrs={"rows": 14, "cols": 100, "style": "font-family: monospace"})}

    def run_service(self):
        data = self.cleaned_data
        return services.policy_save(
            actor=self.actor,
            name=data.get("name") or self.instance.name,
            text=data["text"],
            description=data["description"],
            enabled=data["enabled"],
            policy=self.instance if self.instance.pk else None,
        )


@admin.register(Policy)
class PolicyAdmin(ServiceAdmin):
    form = PolicyForm
    list_display = ["name", "description", "enabled", "updated_at", "updated_by"]
    list_filter = ["enabled"]
    search_fields = ["name", "description", "text"]

    def get_readonly_fields(self, request, obj=None):
        return ["name"] if obj is not None else []

    def delete_model(self, request, obj):
        services.policy_delete(actor=request.user, policy=obj)

    def delete_queryset(self, request, queryset):
        for policy in queryset:
            services.policy_delete(actor=request.user, policy=policy)
