"""Serializers of the access-control API. Inputs are strict (unknown fields are refused); outputs are read-only."""

from django.contrib.auth import get_user_model
from rest_framework import serializers

from apps.access.engine import SOURCES
from apps.access.models import TIER_CHOICES, Group, Policy, Role, RoleAssignment
from apps.core.api.serializers import StrictSerializer

MAX_DESCRIPTION = 2000


class RowIdField(serializers.PrimaryKeyRelatedField):
    """The id of a row of this tenant's schema: an unknown id and another tenant's id are both "no such …"."""

    def __init__(self, *, noun: str, **kwargs):
        kwargs.setdefault("pk_field", serializers.IntegerField())
        kwargs["error_messages"] = {
            "does_not_exist": f"There is no {noun} with id {{pk_value}} in this tenant.",
            "incorrect_type": f"Give the {noun}'s id, a number.",
            **kwargs.get("error_messages", {}),
        }
        super().__init__(**kwargs)


def _description(**kwargs):
    return serializers.CharField(max_length=MAX_DESCRIPTION, allow_blank=True, **kwargs)


# --- Outputs ---------------------------------------------------------------------------------------


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    display_name = serializers.CharField(read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        ref_name = "AccessUserSummary"


class GroupSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)

    class Meta:
        ref_name = "AccessGroupSummary"


class RoleSerializer(serializers.ModelSerializer):
    """A role, what it grants, and how many assignments use it (a role still assigned cannot be deleted)."""

    tier = serializers.ChoiceField(
        choices=TIER_CHOICES, read_only=True, help_text="The highest tier among its permissions."
    )
    assignment_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Role
        fields = [
            "id",
            "name",
            "label",
            "description",
            "is_system",
            "tier",
            "permissions",
            "assignment_count",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        ref_name = "AccessRole"


class PermissionSerializer(serializers.Serializer):
    """One permission of the registry, and the system roles of this tenant that grant it."""

    name = serializers.CharField(read_only=True, help_text="app:resource:action")
    label = serializers.CharField(read_only=True)
    tier = serializers.ChoiceField(choices=TIER_CHOICES, read_only=True)
    system_roles = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        ref_name = "AccessPermission"


class GroupSerializer(serializers.ModelSerializer):
    """A group: how many direct members; ``children``, the groups nested in it; ``parents``, those holding it."""

    member_count = serializers.IntegerField(read_only=True, help_text="Direct members (users).")
    children = serializers.SerializerMethodField()
    parents = serializers.SerializerMethodField()

    class Meta:
        model = Group
        fields = ["id", "name", "description", "member_count", "children", "parents", "created_at"]
        read_only_fields = fields
        ref_name = "AccessGroup"

    def get_children(self, group) -> list[int]:
        return sorted(link.child_id for link in group.child_links.all())

    def get_parents(self, group) -> list[int]:
        return sorted(link.parent_id for link in group.parent_links.all())


class AssignmentSerializer(serializers.ModelSerializer):
    role_name = serializers.CharField(source="role.name", read_only=True)
    user_email = serializers.EmailField(source="user.email", read_only=True, allow_null=True, default=None)
    group_name = serializers.CharField(source="group.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = RoleAssignment
        fields = [
            "id",
            "role",
            "role_name",
            "user",
            "user_email",
            "group",
            "group_name",
            "scope_type",
            "scope_id",
            "created_at",
        ]
        read_only_fields = fields
        ref_name = "AccessAssignment"


class PolicySerializer(serializers.ModelSerializer):
    statements = serializers.SerializerMethodField(
        help_text="The ids its statements have in decisions' reasons (policy/<name>, or policy/<name>/<n>)."
    )

    class Meta:
        model = Policy
        fields = [
            "id",
            "name",
            "description",
            "text",
            "enabled",
            "statements",
            "created_at",
            "updated_at",
            "updated_by",
        ]
        read_only_fields = fields
        ref_name = "AccessPolicy"

    def get_statements(self, policy) -> list[str]:
        return list(policy.compiled)


class PolicyProblemSerializer(serializers.Serializer):
    message = serializers.CharField(read_only=True)
    line = serializers.IntegerField(read_only=True, allow_null=True, help_text="1-based; null when not known.")
    column = serializers.IntegerField(read_only=True, allow_null=True, help_text="1-based; null when not known.")

    class Meta:
        ref_name = "AccessPolicyProblem"


class PolicyValidationSerializer(serializers.Serializer):
    valid = serializers.BooleanField(read_only=True)
    problems = PolicyProblemSerializer(many=True, read_only=True)

    class Meta:
        ref_name = "AccessPolicyValidation"


class GrantSerializer(serializers.Serializer):
    """A permission granted on one object to one user or group."""

    id = serializers.CharField(read_only=True, help_text="user-<n> or group-<n>: informative, not an address.")
    principal_type = serializers.ChoiceField(choices=["user", "group"], read_only=True)
    principal_id = serializers.IntegerField(read_only=True)
    principal_name = serializers.CharField(read_only=True, help_text="The user's email or the group's name.")
    kind = serializers.CharField(read_only=True)
    object_id = serializers.CharField(read_only=True)
    permission = serializers.CharField(read_only=True)

    class Meta:
        ref_name = "AccessGrant"


class ReasonSerializer(serializers.Serializer):
    """One policy that decided, explained."""

    id = serializers.CharField(read_only=True, help_text="builtin/…, assignment/<id>, object-grant or policy/<name>…")
    kind = serializers.ChoiceField(choices=["builtin", "assignment", "grant", "policy", "unknown"], read_only=True)
    effect = serializers.CharField(read_only=True, help_text="permit or forbid (empty when unknown).")
    text = serializers.CharField(read_only=True)
    assignment = serializers.IntegerField(read_only=True, required=False)
    policy = serializers.CharField(read_only=True, required=False)

    class Meta:
        ref_name = "AccessDecisionReason"


class ScopeSerializer(serializers.Serializer):
    scope_type = serializers.CharField(read_only=True)
    scope_id = serializers.CharField(read_only=True, help_text="Empty for the whole tenant.")

    class Meta:
        ref_name = "AccessScope"


class EffectivePermissionSerializer(serializers.Serializer):
    permission = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    tier = serializers.ChoiceField(choices=TIER_CHOICES, read_only=True)
    allowed = serializers.BooleanField(read_only=True, help_text="The engine's decision on the whole tenant, now.")
    reasons = ReasonSerializer(many=True, read_only=True)
    scopes = ScopeSerializer(many=True, read_only=True, help_text="Where the user's roles grant it.")

    class Meta:
        ref_name = "AccessEffectivePermission"


class EffectivePermissionsSerializer(serializers.Serializer):
    user = UserSummarySerializer(read_only=True)
    permissions = EffectivePermissionSerializer(many=True, read_only=True)

    class Meta:
        ref_name = "AccessEffectivePermissions"


class SimulationSerializer(serializers.Serializer):
    allowed = serializers.BooleanField(read_only=True)
    decision = serializers.ChoiceField(choices=["allow", "deny"], read_only=True)
    reasons = ReasonSerializer(many=True, read_only=True)
    errors = serializers.ListField(child=serializers.CharField(), read_only=True)
    message = serializers.CharField(read_only=True, help_text="The decision in one sentence.")
    context = serializers.DictField(read_only=True, help_text="The context Cedar evaluated, with derived time fields.")

    class Meta:
        ref_name = "AccessSimulation"


# --- Inputs ------------------------------------------------------------------------------------------


class RoleCreateSerializer(StrictSerializer):
    name = serializers.CharField(
        max_length=150,
        required=False,
        allow_blank=True,
        default="",
        help_text="Made into a slug (at most 64 characters); taken from the label when left out.",
    )
    label = serializers.CharField(max_length=150)
    description = _description(required=False, default="")
    permissions = serializers.ListField(
        child=serializers.CharField(max_length=150), max_length=1000, help_text="Registered permission names."
    )

    class Meta:
        ref_name = "AccessRoleCreate"


class RoleUpdateSerializer(StrictSerializer):
    label = serializers.CharField(max_length=150, required=False)
    description = _description(required=False)
    permissions = serializers.ListField(
        child=serializers.CharField(max_length=150),
        max_length=1000,
        required=False,
        help_text="The whole new list (it replaces the old one).",
    )

    class Meta:
        ref_name = "AccessRoleUpdate"


class GroupCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150)
    description = _description(required=False, default="")

    class Meta:
        ref_name = "AccessGroupCreate"


class GroupUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150, required=False, help_text="Refused while a policy names the group.")
    description = _description(required=False)

    class Meta:
        ref_name = "AccessGroupUpdate"


class GroupMemberSerializer(StrictSerializer):
    user = RowIdField(noun="user", queryset=get_user_model().objects.all())

    class Meta:
        ref_name = "AccessGroupMemberAdd"


class GroupChildSerializer(StrictSerializer):
    group = RowIdField(noun="group", queryset=Group.objects.all(), help_text="The group to nest in this one.")

    class Meta:
        ref_name = "AccessGroupChildAdd"


class AssignmentCreateSerializer(StrictSerializer):
    role = RowIdField(noun="role", queryset=Role.objects.all())
    user = RowIdField(noun="user", queryset=get_user_model().objects.all(), required=False, allow_null=True)
    group = RowIdField(noun="group", queryset=Group.objects.all(), required=False, allow_null=True)
    scope_type = serializers.CharField(max_length=64, required=False, default=RoleAssignment.SCOPE_TENANT)
    scope_id = serializers.CharField(
        max_length=64, required=False, allow_blank=True, default="", help_text="Empty for the whole tenant."
    )

    class Meta:
        ref_name = "AccessAssignmentCreate"


class PolicyCreateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=150, help_text="Made into a slug (at most 64 characters).")
    description = _description(required=False, default="")
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, help_text="Cedar permit/forbid statements.")
    enabled = serializers.BooleanField(required=False, default=True)

    class Meta:
        ref_name = "AccessPolicyCreate"


class PolicyUpdateSerializer(StrictSerializer):
    description = _description(required=False)
    text = serializers.CharField(allow_blank=True, trim_whitespace=False, required=False)
    enabled = serializers.BooleanField(required=False)

    class Meta:
        ref_name = "AccessPolicyUpdate"


class PolicyTextSerializer(StrictSerializer):
    text = serializers.CharField(allow_blank=True, trim_whitespace=False)

    class Meta:
        ref_name = "AccessPolicyText"


class GrantWriteSerializer(StrictSerializer):
    permission = serializers.CharField(max_length=150, help_text="e.g. access:group:update")
    kind = serializers.CharField(max_length=100, help_text="The object's resource kind, e.g. access:group")
    object_id = serializers.CharField(max_length=64)
    user = RowIdField(noun="user", queryset=get_user_model().objects.all(), required=False, allow_null=True)
    group = RowIdField(noun="group", queryset=Group.objects.all(), required=False, allow_null=True)

    class Meta:
        ref_name = "AccessGrantWrite"


class GrantQuerySerializer(serializers.Serializer):
    kind = serializers.CharField(max_length=100, required=False, help_text="Only grants on objects of this kind.")
    object_id = serializers.CharField(max_length=255, required=False, help_text="Only grants on this object.")

    class Meta:
        ref_name = "AccessGrantQuery"


class PermissionQuerySerializer(serializers.Serializer):
    tier = serializers.ChoiceField(choices=TIER_CHOICES, required=False)
    q = serializers.CharField(max_length=150, required=False, help_text="Part of the name or label.")

    class Meta:
        ref_name = "AccessPermissionQuery"


class SimulatedResourceSerializer(StrictSerializer):
    kind = serializers.CharField(
        max_length=100, required=False, allow_null=True, default=None, help_text="null or absent: the tenant."
    )
    id = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    tags = serializers.DictField(child=serializers.CharField(max_length=256, allow_blank=True), required=False)
    scopes = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField(max_length=64), min_length=2, max_length=2),
        required=False,
        max_length=50,
        help_text="The scope nodes containing the object, nearest first, as [type, id] pairs.",
    )

    class Meta:
        ref_name = "AccessSimulatedResource"

    def validate_tags(self, tags: dict) -> dict:
        if len(tags) > 50:
            raise serializers.ValidationError("At most 50 tags.")
        if any(len(key) > 128 for key in tags):
            raise serializers.ValidationError("Tag keys are at most 128 characters long.")
        return tags


class SimulatedContextSerializer(StrictSerializer):
    now = serializers.DateTimeField(required=False, help_text="ISO 8601; default: now.")
    ip = serializers.IPAddressField(required=False)
    mfa = serializers.BooleanField(required=False)
    source = serializers.ChoiceField(choices=sorted(SOURCES), required=False, help_text="Default: simulator.")

    class Meta:
        ref_name = "AccessSimulatedContext"


class SimulationRequestSerializer(StrictSerializer):
    user = RowIdField(noun="user", queryset=get_user_model().objects.all())
    action = serializers.CharField(max_length=150, help_text="A registered permission, e.g. accounts:user:create")
    resource = SimulatedResourceSerializer(required=False, allow_null=True, help_text="Default: the tenant.")
    context = SimulatedContextSerializer(required=False, allow_null=True)

    class Meta:
        ref_name = "AccessSimulationRequest"
