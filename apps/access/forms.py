"""Forms of the access-control pages. They only read and shape input; every rule is the services' (and the engine's)."""

from __future__ import annotations

from collections import defaultdict

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from apps.core.authorization import visible
from apps.core.permissions import Tier

from . import registry
from .models import Group, Role, RoleAssignment

MONOSPACE = {"class": "font-monospace", "spellcheck": "false", "autocomplete": "off"}


class UserChoiceField(forms.ModelChoiceField):
    """A user of this tenant, shown by email (and name when there is one)."""

    def label_from_instance(self, obj) -> str:
        return f"{obj.email} ({obj.display_name})" if obj.display_name else obj.email


def tenant_users(actor=None):
    """The tenant's users to choose from; with ``actor``, only those the actor may see (no enumeration by id)."""
    users = get_user_model().objects.order_by("email")
    return users if actor is None else visible(actor, "accounts:user:view", users)


def permission_groups(*, ceiling: Tier, checked=()) -> list[tuple[str, list[dict]]]:
    """The registry's permissions by app, each with its tier and whether the actor may grant it at all."""
    grouped: dict[str, list[dict]] = defaultdict(list)
    for permission in registry.all_permissions():
        grouped[permission.app].append(
            {
                "name": permission.name,
                "label": permission.label,
                "tier": permission.tier.label,
                "checked": permission.name in checked,
                "disabled": not permission.tier <= ceiling,
            }
        )
    return sorted(grouped.items())


class RoleForm(forms.Form):
    """A custom role. The permission checkboxes are drawn by the template, grouped by app (``permission_groups``)."""

    name = forms.CharField(
        max_length=64,
        required=False,
        help_text="Letters, digits and dashes (spaces become dashes); made from the label when left empty.",
    )
    label = forms.CharField(max_length=150)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    permissions = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, ceiling: Tier, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.ceiling = ceiling
        # Every registered name is a valid choice: one above the actor's tier reaches the service, which says why not.
        self.fields["permissions"].choices = [(p.name, p.name) for p in registry.all_permissions()]
        if editing:
            del self.fields["name"]  # a role's name is what assignments and the API know it by

    def groups(self) -> list[tuple[str, list[dict]]]:
        if self.is_bound:
            checked = set(self.data.getlist("permissions")) if hasattr(self.data, "getlist") else set()
        else:
            checked = set(self.initial.get("permissions", ()))
        return permission_groups(ceiling=self.ceiling, checked=checked)


class GroupForm(forms.Form):
    name = forms.CharField(max_length=150)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class GroupMemberForm(forms.Form):
    user = UserChoiceField(queryset=get_user_model().objects.none(), label="Add a member")

    def __init__(self, *args, group: Group, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = tenant_users(actor).exclude(access_groups=group)


class GroupNestForm(forms.Form):
    child = forms.ModelChoiceField(
        queryset=Group.objects.none(),
        label="Put a group inside this one",
        help_text="Its members, and the members of the groups inside it, become members of this group.",
    )

    def __init__(self, *args, group: Group, **kwargs):
        super().__init__(*args, **kwargs)
        # Cycles are left in the list on purpose: the service refuses them and says which groups are involved.
        self.fields["child"].queryset = Group.objects.exclude(pk=group.pk).exclude(parent_links__parent=group)


def scope_type_choices() -> list[tuple[str, str]]:
    return [(RoleAssignment.SCOPE_TENANT, "The whole tenant")] + [(t.name, t.label) for t in registry.scope_types()]


class AssignmentForm(forms.Form):
    role = forms.ModelChoiceField(queryset=Role.objects.all())
    user = UserChoiceField(queryset=get_user_model().objects.none(), required=False, help_text="A user…")
    group = forms.ModelChoiceField(queryset=Group.objects.all(), required=False, help_text="…or a group.")
    scope_type = forms.ChoiceField(label="Scope", choices=())
    scope_id = forms.CharField(
        label="Scope id", max_length=64, required=False, help_text="Empty for the whole tenant; else the node's id."
    )

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = tenant_users(actor)
        self.fields["scope_type"].choices = scope_type_choices()

    def clean(self):
        data = super().clean()
        if bool(data.get("user")) == bool(data.get("group")):
            raise ValidationError("Choose either a user or a group, not both.", code="principal")
        return data


class PolicyForm(forms.Form):
    name = forms.CharField(
        max_length=64, help_text="Letters, digits and dashes (spaces become dashes); decisions name the policy by it."
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    enabled = forms.BooleanField(required=False, initial=True, help_text="Disabled policies decide nothing.")
    # Last, so that the live check (below the form's fields) sits right under it.
    text = forms.CharField(
        label="Cedar",
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, **MONOSPACE}),
        help_text="One or more permit or forbid statements, each ending with a semicolon.",
    )

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if editing:
            del self.fields["name"]


class SimulatorForm(forms.Form):
    """What to ask the engine: who, what, on what, and in which circumstances."""

    MFA_CHOICES = [("", "Not known"), ("yes", "Yes"), ("no", "No")]

    user = UserChoiceField(queryset=get_user_model().objects.none())
    action = forms.ChoiceField(choices=())
    resource_kind = forms.ChoiceField(label="Resource kind", required=False, choices=())
    resource_id = forms.CharField(label="Resource id", max_length=128, required=False)
    tags = forms.CharField(
        label="Resource tags",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "environment=prod", **MONOSPACE}),
        help_text="One key=value a line.",
    )
    now = forms.DateTimeField(
        label="When",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="Empty for now; read in the server's time zone.",
    )
    ip = forms.GenericIPAddressField(label="Source address", required=False)
    mfa = forms.ChoiceField(label="Signed in with MFA", choices=MFA_CHOICES, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = tenant_users()
        self.fields["action"].choices = [(p.name, f"{p.name} — {p.label}") for p in registry.all_permissions()]
        kinds = sorted({p.name.rsplit(":", 1)[0] for p in registry.all_permissions()})
        labels = {kind.name: kind.label for kind in registry.resource_kinds()}
        self.fields["resource_kind"].choices = [("", "The tenant")] + [
            (kind, f"{kind} ({labels[kind]})" if kind in labels else kind) for kind in kinds
        ]

    def clean_tags(self) -> dict[str, str]:
        tags: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["tags"].splitlines(), start=1):
            if not line.strip():
                continue
            key, equals, value = line.partition("=")
            if not equals or not key.strip():
                raise ValidationError(f"Line {number}: write key=value.", code="tags")
            tags[key.strip()] = value.strip()
        return tags

    def clean(self):
        data = super().clean()
        if data.get("resource_id") and not data.get("resource_kind"):
            self.add_error("resource_kind", "Choose the kind of the resource the id belongs to.")
        return data

    def context(self) -> dict:
        """The engine's context from the cleaned form (``now`` left out means the present moment)."""
        data = self.cleaned_data
        context: dict = {}
        if data.get("now"):
            context["now"] = data["now"]
        if data.get("ip"):
            context["ip"] = data["ip"]
        if data.get("mfa"):
            context["mfa"] = data["mfa"] == "yes"
        return context


def grantable_permissions() -> list:
    """Permissions on kinds whose objects can be granted one by one (kinds with a model)."""
    kinds = {kind.name for kind in registry.resource_kinds() if kind.model}
    return [p for p in registry.all_permissions() if p.name.rsplit(":", 1)[0] in kinds]


class ObjectGrantForm(forms.Form):
    permission = forms.ChoiceField(choices=())
    kind = forms.ChoiceField(label="Kind", choices=())
    object_id = forms.CharField(label="Object id", max_length=64)
    user = UserChoiceField(queryset=get_user_model().objects.none(), required=False, help_text="A user…")
    group = forms.ModelChoiceField(queryset=Group.objects.all(), required=False, help_text="…or a group.")

    def __init__(self, *args, actor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["permission"].choices = [(p.name, f"{p.name} — {p.label}") for p in grantable_permissions()]
        self.fields["kind"].choices = [(k.name, f"{k.label} ({k.name})") for k in registry.resource_kinds() if k.model]
        self.fields["user"].queryset = tenant_users(actor)

    def clean(self):
        data = super().clean()
        if bool(data.get("user")) == bool(data.get("group")):
            raise ValidationError("Choose either a user or a group, not both.", code="principal")
        return data
