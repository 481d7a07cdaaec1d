"""Access-control API endpoints: roles, the permission registry, groups, assignments, policies, grants, decisions.

Every endpoint is decided by the engine through ``ActionPermission`` with the
``access:*`` permissions; every write goes through ``apps.access.services``,
whose refusals become 400 (``ValidationError``) or 403 (``PermissionDenied``)
problems. Object endpoints answer 404 to someone who may not even see the
object, and 403 with the reason to someone who may see it but not do this.
"""

from collections import defaultdict
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.access import engine, registry, selectors, services
from apps.access.models import Group, GroupNesting, Policy, Role, RoleAssignment
from apps.accounts.api.views import service_errors
from apps.core import authorization
from apps.core.api.permissions import ActionPermission, AuthorizedFilter
from apps.core.api.schema import problem_responses
from apps.core.authorization import Resource, visible

from .filtersets import AssignmentFilterSet, GroupFilterSet, PolicyFilterSet, RoleFilterSet
from .serializers import (
    AssignmentCreateSerializer,
    AssignmentSerializer,
    EffectivePermissionsSerializer,
    GrantQuerySerializer,
    GrantSerializer,
    GrantWriteSerializer,
    GroupChildSerializer,
    GroupCreateSerializer,
    GroupMemberSerializer,
    GroupSerializer,
    GroupSummarySerializer,
    GroupUpdateSerializer,
    PermissionQuerySerializer,
    PermissionSerializer,
    PolicyCreateSerializer,
    PolicySerializer,
    PolicyTextSerializer,
    PolicyUpdateSerializer,
    PolicyValidationSerializer,
    RoleCreateSerializer,
    RoleSerializer,
    RoleUpdateSerializer,
    SimulationRequestSerializer,
    SimulationSerializer,
    UserSummarySerializer,
)

ID = "[0-9]+"
SIMULATE = "access:decision:simulate"
OBJECT_ERRORS = problem_responses(400, 401, 403, 404)
LIST_ERRORS = problem_responses(400, 401, 403)


@contextmanager
def service_refusals():
    """``service_errors`` (ValidationError: 400), and a service's PermissionDenied as a 403 carrying its reason."""
    try:
        with service_errors():
            yield
    except PermissionDenied as denied:
        raise exceptions.PermissionDenied(str(denied)) from None


def _validated(serializer_class, data, **kwargs) -> dict:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _context(request) -> dict:
    return authorization.context_for(request, source="api")


class TenantWideActionPermission(ActionPermission):
    """``ActionPermission``, except that a list needs its permission over the whole tenant.

    For collections whose rows are not registry resources (role assignments,
    object grants, the registry itself): there is no per-row restriction to
    apply, so holding the permission on one object or in one scope does not
    open the whole list.
    """

    def has_permission(self, request, view) -> bool:
        if getattr(view, "action", None) != "list":
            return super().has_permission(request, view)
        user = request.user
        if not user or not user.is_authenticated:
            raise exceptions.NotAuthenticated()
        required = view.action_permissions["list"]
        decision = authorization.authorize(user, required, None, _context(request))
        if not decision.allowed:
            raise exceptions.PermissionDenied(authorization.denial_message(user, required, decision))
        return True


class SelfOrActionPermission(ActionPermission):
    """Anyone signed in may ask about themself (``user_id`` in the URL); about anyone else, ``ActionPermission``."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user and user.is_authenticated and int(view.kwargs.get("user_id", -1)) == user.pk:
            return True
        return super().has_permission(request, view)


class AccessViewSet(viewsets.GenericViewSet):
    """Decided by the engine; lists restricted to what the principal may see; digits-only ids."""

    permission_classes = [ActionPermission]
    filter_backends = [AuthorizedFilter, DjangoFilterBackend]
    lookup_value_regex = ID

    def get_object(self):
        try:
            return super().get_object()
        except Http404:
            # Absent, or not readable (filtered out): the same words either way, as the permission check says them.
            raise exceptions.NotFound("No such object.") from None


def _paginated(view, rows, serializer_class):
    page = view.paginate_queryset(rows)
    return view.get_paginated_response(serializer_class(page, many=True).data)


# --- Roles and the permission registry ------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List roles, system and custom",
        description="Filter with `system=true|false`, `tier` or `permission`; search with `q`.",
        responses={200: RoleSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(
        summary="One role, with its permissions and tier", responses={200: RoleSerializer, **OBJECT_ERRORS}
    ),
)
class RoleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccessViewSet):
    """System roles (read-only: they follow the registry) and the tenant's custom roles."""

    access_kind = "access:role"
    action_permissions = {
        "list": "access:role:view",
        "retrieve": "access:role:view",
        "create": "access:role:create",
        "partial_update": "access:role:update",
        "destroy": "access:role:delete",
    }
    serializer_class = RoleSerializer
    filterset_class = RoleFilterSet

    def get_queryset(self):
        return Role.objects.annotate(assignment_count=Count("assignments")).order_by("-is_system", "name")

    def _answer(self, role, code=status.HTTP_200_OK):
        return Response(RoleSerializer(self.get_queryset().get(pk=role.pk)).data, status=code)

    @extend_schema(
        summary="Create a custom role",
        description="Refused (403) when it would grant a permission above your own tier; unknown permissions: 400.",
        request=RoleCreateSerializer,
        responses={201: RoleSerializer, **problem_responses(400, 401, 403)},
    )
    def create(self, request):
        data = _validated(RoleCreateSerializer, request.data)
        with service_refusals():
            role = services.role_create(actor=request.user, **data)
        return self._answer(role, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a custom role's label, description or permissions",
        description="System roles cannot be changed (400). `permissions` replaces the whole list.",
        request=RoleUpdateSerializer,
        responses={200: RoleSerializer, **OBJECT_ERRORS},
    )
    def partial_update(self, request, pk=None):
        role = self.get_object()
        data = _validated(RoleUpdateSerializer, request.data, partial=True)
        with service_refusals():
            services.role_update(actor=request.user, role=role, **data)
        return self._answer(role)

    @extend_schema(
        summary="Delete a custom role",
        description="Refused (400) for system roles and while the role is assigned.",
        responses={204: OpenApiResponse(description="Deleted."), **OBJECT_ERRORS},
    )
    def destroy(self, request, pk=None):
        role = self.get_object()
        with service_refusals():
            services.role_delete(role=role, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_view(
    list=extend_schema(
        summary="List every registered permission",
        description="Each with its tier and the system roles of this tenant that grant it.",
        parameters=[PermissionQuerySerializer],
        responses={200: PermissionSerializer(many=True), **LIST_ERRORS},
    )
)
class PermissionViewSet(AccessViewSet):
    """The permission registry: what roles can be made of."""

    permission_classes = [TenantWideActionPermission]
    filter_backends = []
    action_permissions = {"list": "access:role:view"}
    serializer_class = PermissionSerializer

    def list(self, request):
        query = _validated(PermissionQuerySerializer, request.query_params)
        granted_by: dict[str, list[str]] = defaultdict(list)
        for name, permissions in (
            Role.objects.filter(is_system=True).order_by("name").values_list("name", "permissions")
        ):
            for permission in permissions:
                granted_by[permission].append(name)
        needle = query.get("q", "").strip().lower()
        rows = [
            {"name": p.name, "label": p.label, "tier": p.tier.key, "system_roles": granted_by.get(p.name, [])}
            for p in registry.all_permissions()
            if query.get("tier") in (None, p.tier.key)
            and (not needle or needle in p.name.lower() or needle in p.label.lower())
        ]
        return _paginated(self, rows, PermissionSerializer)


# --- Groups -----------------------------------------------------------------------------------------

USER_ID = OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="A direct member's id.")
CHILD_ID = OpenApiParameter("child_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="A nested group's id.")


@extend_schema_view(
    list=extend_schema(
        summary="List groups",
        description="Search with `q`.",
        responses={200: GroupSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One group", responses={200: GroupSerializer, **OBJECT_ERRORS}),
)
class GroupViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccessViewSet):
    """Groups of users and of other groups (nesting is acyclic, at most 10 levels)."""

    access_kind = "access:group"
    action_permissions = {
        "list": "access:group:view",
        "retrieve": "access:group:view",
        "members": "access:group:view",
        "children": "access:group:view",
        "effective_members": "access:group:view",
        "create": "access:group:create",
        "partial_update": "access:group:update",
        "members_add": "access:group:update",
        "member_remove": "access:group:update",
        "children_add": "access:group:update",
        "child_remove": "access:group:update",
        "destroy": "access:group:delete",
    }
    serializer_class = GroupSerializer
    filterset_class = GroupFilterSet

    def get_queryset(self):
        return (
            Group.objects.annotate(member_count=Count("members", distinct=True))
            .order_by("name")
            .prefetch_related("child_links", "parent_links")
        )

    def _answer(self, group, code=status.HTTP_200_OK):
        return Response(GroupSerializer(self.get_queryset().get(pk=group.pk)).data, status=code)

    @extend_schema(
        summary="Create a group",
        request=GroupCreateSerializer,
        responses={201: GroupSerializer, **problem_responses(400, 401, 403)},
    )
    def create(self, request):
        data = _validated(GroupCreateSerializer, request.data)
        with service_refusals():
            group = services.group_create(actor=request.user, **data)
        return self._answer(group, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Rename a group or change its description",
        description="A rename is refused (400) while a tenant policy names the group.",
        request=GroupUpdateSerializer,
        responses={200: GroupSerializer, **OBJECT_ERRORS},
    )
    def partial_update(self, request, pk=None):
        group = self.get_object()
        data = _validated(GroupUpdateSerializer, request.data, partial=True)
        with service_refusals():
            services.group_update(actor=request.user, group=group, **data)
        return self._answer(group)

    @extend_schema(
        summary="Delete a group",
        description="Its nestings, assignments and object grants go with it; refused (400) while a policy names it.",
        responses={204: OpenApiResponse(description="Deleted."), **OBJECT_ERRORS},
    )
    def destroy(self, request, pk=None):
        group = self.get_object()
        with service_refusals():
            services.group_delete(actor=request.user, group=group)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="List a group's direct members", responses={200: UserSummarySerializer(many=True), **OBJECT_ERRORS}
    )
    @action(detail=True, methods=["get"])
    def members(self, request, pk=None):
        group = self.get_object()
        return _paginated(self, group.members.order_by("email"), UserSummarySerializer)

    @extend_schema(
        summary="Add a user to a group",
        description="201 when added, 200 when the user was already a direct member.",
        request=GroupMemberSerializer,
        responses={201: UserSummarySerializer, 200: UserSummarySerializer, **OBJECT_ERRORS},
    )
    @members.mapping.post
    def members_add(self, request, pk=None):
        group = self.get_object()
        user = _validated(GroupMemberSerializer, request.data)["user"]
        if not visible(
            request.user, "accounts:user:view", get_user_model().objects.filter(pk=user.pk), request=request
        ).exists():
            # Said exactly as for an id that does not exist: no enumerating people one may not see.
            raise exceptions.ValidationError({"user": [f'Invalid pk "{user.pk}" - object does not exist.']})
        already = group.members.filter(pk=user.pk).exists()
        with service_refusals():
            services.group_member_add(actor=request.user, group=group, user=user)
        code = status.HTTP_200_OK if already else status.HTTP_201_CREATED
        return Response(UserSummarySerializer(user).data, status=code)

    @extend_schema(
        summary="Remove a user from a group",
        description="404 when the user is not a direct member (membership through a nested group is that group's).",
        parameters=[USER_ID],
        responses={204: OpenApiResponse(description="Removed."), **OBJECT_ERRORS},
    )
    @action(detail=True, methods=["delete"], url_path=rf"members/(?P<user_id>{ID})")
    def member_remove(self, request, pk=None, user_id=None):
        group = self.get_object()
        user = group.members.filter(pk=user_id).first()
        if user is None:
            raise exceptions.NotFound("That user is not a direct member of this group.")
        with service_refusals():
            services.group_member_remove(actor=request.user, group=group, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="List the groups nested directly in a group",
        responses={200: GroupSummarySerializer(many=True), **OBJECT_ERRORS},
    )
    @action(detail=True, methods=["get"])
    def children(self, request, pk=None):
        group = self.get_object()
        return _paginated(
            self, Group.objects.filter(parent_links__parent=group).order_by("name"), GroupSummarySerializer
        )

    @extend_schema(
        summary="Nest a group in this one",
        description="Everyone in the nested group becomes a member of this one. A nesting that would make a cycle "
        "or go deeper than 10 levels is refused (400). 201 when nested, 200 when it already was.",
        request=GroupChildSerializer,
        responses={201: GroupSummarySerializer, 200: GroupSummarySerializer, **OBJECT_ERRORS},
    )
    @children.mapping.post
    def children_add(self, request, pk=None):
        group = self.get_object()
        child = _validated(GroupChildSerializer, request.data)["group"]
        if not self._visible_groups().filter(pk=child.pk).exists():
            # Groups the principal may not see are as absent here as everywhere else.
            raise exceptions.ValidationError({"group": [f"There is no group with id {child.pk} in this tenant."]})
        already = GroupNesting.objects.filter(parent=group, child=child).exists()
        with service_refusals():
            services.group_nest(actor=request.user, parent=group, child=child)
        code = status.HTTP_200_OK if already else status.HTTP_201_CREATED
        return Response(GroupSummarySerializer(child).data, status=code)

    @extend_schema(
        summary="Take a nested group out of this one",
        parameters=[CHILD_ID],
        responses={204: OpenApiResponse(description="Un-nested."), **OBJECT_ERRORS},
    )
    @action(detail=True, methods=["delete"], url_path=rf"children/(?P<child_id>{ID})")
    def child_remove(self, request, pk=None, child_id=None):
        group = self.get_object()
        link = GroupNesting.objects.select_related("child").filter(parent=group, child_id=child_id).first()
        if link is None:
            raise exceptions.NotFound("That group is not nested directly in this one.")
        with service_refusals():
            services.group_unnest(actor=request.user, parent=group, child=link.child)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="List everyone in a group, directly or through nested groups",
        responses={200: UserSummarySerializer(many=True), **OBJECT_ERRORS},
    )
    @action(detail=True, methods=["get"], url_path="effective-members")
    def effective_members(self, request, pk=None):
        group = self.get_object()
        return _paginated(self, selectors.group_effective_members(group), UserSummarySerializer)

    def _visible_groups(self):
        return AuthorizedFilter().filter_queryset(self.request, Group.objects.all(), self)


# --- Role assignments -------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List role assignments",
        description="Filter by `role`, `user`, `group` (ids) or `scope_type`.",
        responses={200: AssignmentSerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One role assignment", responses={200: AssignmentSerializer, **OBJECT_ERRORS}),
)
class AssignmentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccessViewSet):
    """Who holds which role, over what scope."""

    access_kind = "access:assignment"
    action_permissions = {
        "list": "access:assignment:view",
        "retrieve": "access:assignment:view",
        "create": "access:assignment:create",
        "destroy": "access:assignment:delete",
    }
    permission_classes = [TenantWideActionPermission]
    filter_backends = [DjangoFilterBackend]  # assignments are not registry resources: listing is all or nothing
    serializer_class = AssignmentSerializer
    filterset_class = AssignmentFilterSet

    def get_queryset(self):
        return RoleAssignment.objects.select_related("role", "user", "group").order_by("pk")

    @extend_schema(
        summary="Give a role to a user or a group",
        description="Name exactly one of `user` and `group`. `scope_type` is `tenant` (the default, no `scope_id`) "
        "or a registered scope type with the id of one of its nodes. Refused (403) for a role above your tier.",
        request=AssignmentCreateSerializer,
        responses={201: AssignmentSerializer, **problem_responses(400, 401, 403)},
    )
    def create(self, request):
        data = _validated(AssignmentCreateSerializer, request.data)
        with service_refusals():
            assignment = services.role_assign(
                actor=request.user,
                role=data["role"],
                user=data.get("user"),
                group=data.get("group"),
                scope_type=data["scope_type"],
                scope_id=data["scope_id"],
            )
        return Response(AssignmentSerializer(self.get_queryset().get(pk=assignment.pk)).data, status=201)

    @extend_schema(
        summary="Take a role away",
        description="Refused (403) for a role above your tier.",
        responses={204: OpenApiResponse(description="Removed."), **OBJECT_ERRORS},
    )
    def destroy(self, request, pk=None):
        assignment = self.get_object()
        with service_refusals():
            services.role_unassign(actor=request.user, assignment=assignment)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Tenant policies ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List the tenant's Cedar policies",
        description="Filter with `enabled=true|false`; search with `q`.",
        responses={200: PolicySerializer(many=True), **LIST_ERRORS},
    ),
    retrieve=extend_schema(summary="One policy, with its text", responses={200: PolicySerializer, **OBJECT_ERRORS}),
)
class PolicyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, AccessViewSet):
    """Tenant-authored Cedar ``permit``/``forbid`` statements, validated before they are saved."""

    access_kind = "access:policy"
    action_permissions = {
        "list": "access:policy:view",
        "retrieve": "access:policy:view",
        "create": "access:policy:update",
        "partial_update": "access:policy:update",
        "destroy": "access:policy:update",
        "validate": "access:policy:update",
    }
    serializer_class = PolicySerializer
    filterset_class = PolicyFilterSet

    def get_queryset(self):
        return Policy.objects.all()

    @extend_schema(
        summary="Write a policy",
        description="Invalid Cedar is a 400 whose `errors.text` lists each problem as `line L, column C: message`.",
        request=PolicyCreateSerializer,
        responses={201: PolicySerializer, **problem_responses(400, 401, 403)},
    )
    def create(self, request):
        data = _validated(PolicyCreateSerializer, request.data)
        with service_refusals():
            policy = services.policy_save(actor=request.user, **data)
        return Response(PolicySerializer(policy).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a policy's text, description or whether it is enabled",
        description="The name cannot change. Invalid Cedar is a 400, as when writing one.",
        request=PolicyUpdateSerializer,
        responses={200: PolicySerializer, **OBJECT_ERRORS},
    )
    def partial_update(self, request, pk=None):
        policy = self.get_object()
        data = _validated(PolicyUpdateSerializer, request.data, partial=True)
        with service_refusals():
            policy = services.policy_save(
                actor=request.user,
                name=policy.name,
                text=data.get("text", policy.text),
                description=data.get("description", policy.description),
                enabled=data.get("enabled", policy.enabled),
                policy=policy,
            )
        return Response(PolicySerializer(policy).data)

    @extend_schema(summary="Delete a policy", responses={204: OpenApiResponse(description="Deleted."), **OBJECT_ERRORS})
    def destroy(self, request, pk=None):
        policy = self.get_object()
        with service_refusals():
            services.policy_delete(actor=request.user, policy=policy)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Check Cedar text without saving it",
        description="200 for any text, valid Cedar or not: `valid` says whether it would be accepted, `problems` "
        "why not, each with its line and column (null when unknown). Only a `text` that is not a string, or holds "
        "a NUL character, is a 400.",
        request=PolicyTextSerializer,
        responses={200: PolicyValidationSerializer, **problem_responses(400, 401, 403)},
    )
    @action(detail=False, methods=["post"])
    def validate(self, request):
        text = _validated(PolicyTextSerializer, request.data)["text"]
        _statements, problems = services.policy_check(text)
        return Response({"valid": not problems, "problems": [problem.as_dict() for problem in problems]})


# --- Object grants ----------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="List grants on single objects",
        description="Filter with `kind` and `object_id`.",
        parameters=[GrantQuerySerializer],
        responses={200: GrantSerializer(many=True), **LIST_ERRORS},
    )
)
class GrantViewSet(AccessViewSet):
    """Permissions granted on one object to one user or group.

    A grant is named by what it is (permission, kind, object, user or group),
    not by an id: it is created with ``POST grants/`` and withdrawn with
    ``POST grants/remove/`` and the same body.
    """

    access_kind = "access:grant"
    action_permissions = {"list": "access:grant:view", "create": "access:grant:create", "remove": "access:grant:delete"}
    permission_classes = [TenantWideActionPermission]
    filter_backends = []
    serializer_class = GrantSerializer

    def list(self, request):
        query = _validated(GrantQuerySerializer, request.query_params)
        kind = query.get("kind")
        if kind is not None and registry.resource_kind(kind) is None:
            raise exceptions.ValidationError({"kind": [f"Unknown resource kind '{kind}'."]})
        return _paginated(self, selectors.object_grants(kind=kind, object_id=query.get("object_id")), GrantSerializer)

    @extend_schema(
        summary="Grant a permission on one object",
        description="To exactly one `user` or `group`. The permission must be one of the object's kind "
        "(`access:group:update` on an `access:group`) and not above your tier (403). Granting again changes nothing.",
        request=GrantWriteSerializer,
        responses={201: GrantSerializer, **problem_responses(400, 401, 403)},
    )
    def create(self, request):
        data = _validated(GrantWriteSerializer, request.data)
        with service_refusals():
            row = services.object_grant_add(actor=request.user, **data)
        principal = "user" if data.get("user") is not None else "group"
        holder = data[principal]
        granted = {
            "id": f"{principal}-{row.pk}",
            "principal_type": principal,
            "principal_id": holder.pk,
            "principal_name": holder.email if principal == "user" else holder.name,
            "kind": data["kind"],
            "object_id": row.object_pk,
            "permission": data["permission"],
        }
        return Response(GrantSerializer(granted).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Withdraw a grant on one object",
        description="The body names the grant as when it was made. 204 whether or not it existed.",
        request=GrantWriteSerializer,
        responses={204: OpenApiResponse(description="Withdrawn."), **problem_responses(400, 401, 403)},
    )
    @action(detail=False, methods=["post"])
    def remove(self, request):
        data = _validated(GrantWriteSerializer, request.data)
        with service_refusals():
            services.object_grant_remove(actor=request.user, **data)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Decisions ------------------------------------------------------------------------------------------


class EffectivePermissionsViewSet(viewsets.GenericViewSet):
    """What one user may do across the tenant, permission by permission."""

    permission_classes = [SelfOrActionPermission]
    action_permissions = {"retrieve": SIMULATE}
    serializer_class = EffectivePermissionsSerializer

    @extend_schema(
        summary="A user's effective permissions",
        description="For every registered permission: the engine's decision for that user on the whole tenant, now "
        "(roles, groups, account flags and tenant policies; grants on single objects are not counted), the "
        "policies that decided it, and the scopes their roles grant it over. Needs `access:decision:simulate`, "
        "except for your own id.",
        parameters=[OpenApiParameter("user_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: EffectivePermissionsSerializer, **OBJECT_ERRORS},
    )
    def retrieve(self, request, user_id=None):
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None:
            raise exceptions.NotFound("No such user.")
        context = _context(request)
        held = selectors.effective_permissions(user)
        explained: dict[str, dict] = {}

        def explain(reason: str) -> dict:
            if reason not in explained:
                explained[reason] = engine.explain(reason)
            return explained[reason]

        rows = []
        for permission in registry.all_permissions():
            decision = engine.authorize(user, permission.name, None, context)
            rows.append(
                {
                    "permission": permission.name,
                    "label": permission.label,
                    "tier": permission.tier.key,
                    "allowed": decision.allowed,
                    "reasons": [explain(reason) for reason in decision.reasons],
                    "scopes": [
                        {"scope_type": scope_type, "scope_id": scope_id}
                        for scope_type, scope_id in sorted(held.get(permission.name, ()))
                    ],
                }
            )
        return Response(EffectivePermissionsSerializer({"user": user, "permissions": rows}).data)


class SimulationViewSet(viewsets.GenericViewSet):
    """The policy simulator."""

    permission_classes = [ActionPermission]
    action_permissions = {"simulate": SIMULATE}
    serializer_class = SimulationRequestSerializer

    @extend_schema(
        summary="Ask what the engine would decide",
        description="For any user of this tenant, any registered action, on the tenant or on a described resource "
        "(kind, id, tags, scopes), in a given context (time, address, MFA, source). Nothing is changed. An unknown "
        "action or a resource the action does not apply to is a 400.",
        request=SimulationRequestSerializer,
        responses={200: SimulationSerializer, **problem_responses(400, 401, 403)},
    )
    def simulate(self, request):
        data = _validated(SimulationRequestSerializer, request.data)
        described = data.get("resource")
        resource = None
        if described is not None:
            resource = Resource(
                kind=described.get("kind") or None,
                id=described.get("id", ""),
                scopes=tuple(tuple(pair) for pair in described.get("scopes", [])),
                tags=described.get("tags", {}),
            )
        context = {key: value for key, value in (data.get("context") or {}).items() if value is not None}
        try:
            answer = engine.simulate(data["user"], data["action"], resource, context)
        except ValueError as error:
            raise exceptions.ValidationError({"detail": str(error)}) from None
        return Response(answer)
