"""The audit API (/api/v1/audit/): this schema's events, newest first, a check of the chain, retention, archives,
saved queries and the tenant's redaction rules.

Events are an append-only stream, so pages are cursors (keyset on the id),
not numbers: a page stays right while new events arrive.
"""

from django.http import FileResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from apps.accounts.api.views import service_errors
from apps.audit import selectors, services
from apps.audit.archives import ArchiveError, release_restored, restore_archive, retention_update, verify_archive
from apps.audit.models import AuditArchive, AuditEvent, RedactionRule, RetentionPolicy, SavedQuery
from apps.audit.recorder import record
from apps.audit.services import verify_chain
from apps.audit.storage import StorageError, get_storage
from apps.core.api.permissions import ActionPermission, AuthorizedFilter
from apps.core.api.schema import problem_responses

from .filtersets import AuditEventFilterSet
from .serializers import (
    ArchiveVerificationSerializer,
    AuditArchiveSerializer,
    AuditEventSerializer,
    RedactionRuleCreateSerializer,
    RedactionRuleSerializer,
    RedactionRuleUpdateSerializer,
    RetentionSerializer,
    SavedQuerySerializer,
    VerificationSerializer,
)

ERRORS = problem_responses(401, 403)


class ArchiveConflict(exceptions.APIException):
    status_code = 409
    default_detail = "The archive cannot do that now."
    default_code = "conflict"


class NewestFirst(CursorPagination):
    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


@extend_schema_view(
    list=extend_schema(
        summary="This tenant's audit events, newest first",
        description="Filter by time, actor, action prefix, resource, outcome, address, request id; `q` searches "
        "words. Pages are cursors: follow `next`.",
        responses={200: AuditEventSerializer(many=True), **problem_responses(400, 401, 403)},
    ),
    retrieve=extend_schema(
        summary="One audit event", responses={200: AuditEventSerializer, **problem_responses(401, 404)}
    ),
)
class AuditEventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = AuditEventSerializer
    permission_classes = [ActionPermission]
    filter_backends = [AuthorizedFilter, DjangoFilterBackend]
    filterset_class = AuditEventFilterSet
    pagination_class = NewestFirst
    lookup_value_regex = "[0-9]+"
    access_kind = "audit:event"
    action_permissions = {"list": "audit:event:view", "retrieve": "audit:event:view", "verify": "audit:chain:verify"}

    def get_queryset(self):
        return AuditEvent.objects.all()

    @extend_schema(
        summary="Verify the chain: has any sealed event been edited, deleted, inserted or reordered?",
        request=None,
        responses={200: VerificationSerializer, **problem_responses(401, 403)},
    )
    @action(detail=False, methods=["post"])
    def verify(self, request):
        result = verify_chain()
        unsealed = AuditEvent.objects.filter(seq__isnull=True).count()
        return Response(
            {
                "ok": result.ok,
                "checked": result.checked,
                "first_bad_seq": result.first_bad_seq,
                "reason": result.reason,
                "unsealed": unsealed,
            }
        )


# --- Retention and archives ---------------------------------------------------------------------


class RetentionViewSet(viewsets.GenericViewSet):
    """How long this schema keeps its audit events (``GET`` / ``PUT /api/v1/audit/retention/``)."""

    serializer_class = RetentionSerializer
    permission_classes = [ActionPermission]
    action_permissions = {"show": "audit:retention:view", "change": "audit:retention:update"}

    @extend_schema(summary="How long audit events are kept", responses={200: RetentionSerializer, **ERRORS})
    def show(self, request):
        return Response(RetentionSerializer(RetentionPolicy.current()).data)

    @extend_schema(
        summary="Change how long audit events are kept",
        description="`days_hot` 1 to 3650: days sealed events stay in the table before archiving. "
        "`days_archived` 0 to 3650: days archives are kept (0: forever).",
        request=RetentionSerializer,
        responses={200: RetentionSerializer, **problem_responses(400, 401, 403)},
    )
    def change(self, request):
        data = RetentionSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            policy = retention_update(actor=request.user, **data.validated_data)
        return Response(RetentionSerializer(policy).data)


class AuditArchiveViewSet(viewsets.GenericViewSet):
    """This schema's audit archives: list, verify one, download one's events (``.jsonl.gz``)."""

    serializer_class = AuditArchiveSerializer
    permission_classes = [ActionPermission]
    # Decided on the whole tenant: archives are not registry resources, so nobody gets a partial list.
    action_permissions = {
        "index": "audit:event:view",
        "check": "audit:chain:verify",
        "download": "audit:event:export",
        "restore": "audit:retention:update",
        "release": "audit:retention:update",
    }

    def _archive(self, archive_id) -> AuditArchive:
        archive = AuditArchive.objects.filter(pk=archive_id).first()
        if archive is None:
            raise exceptions.NotFound("No such archive.")
        return archive

    @extend_schema(
        summary="This tenant's audit archives, newest first",
        responses={200: AuditArchiveSerializer(many=True), **ERRORS},
    )
    def index(self, request):
        return Response(AuditArchiveSerializer(AuditArchive.objects.order_by("-last_seq"), many=True).data)

    @extend_schema(
        summary="Verify an archive: its file's SHA-256, the chain inside it, and its signed checkpoint",
        request=None,
        parameters=[OpenApiParameter("archive_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: ArchiveVerificationSerializer, **problem_responses(401, 403, 404)},
    )
    def check(self, request, archive_id=None):
        archive = self._archive(archive_id)
        result = verify_archive(archive)
        if result.ok:
            archive.verified_at = timezone.now()
            archive.save(update_fields=["verified_at"])
        return Response(
            {"ok": result.ok, "checked": result.checked, "first_bad_seq": result.first_bad_seq, "reason": result.reason}
        )

    @extend_schema(
        summary="Put an archive's events back in the table to be searched (verified first; the chain is untouched)",
        request=None,
        parameters=[OpenApiParameter("archive_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: AuditArchiveSerializer, **problem_responses(401, 403, 404, 409)},
    )
    def restore(self, request, archive_id=None):
        archive = self._archive(archive_id)
        try:
            restore_archive(archive, actor=request.user)
        except (ArchiveError, StorageError) as error:
            raise ArchiveConflict(str(error)) from None
        return Response(AuditArchiveSerializer(archive).data)

    @extend_schema(
        summary="Take a restored archive's events out of the table again (they stay in the archive)",
        request=None,
        parameters=[OpenApiParameter("archive_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={200: AuditArchiveSerializer, **problem_responses(401, 403, 404, 409)},
    )
    def release(self, request, archive_id=None):
        archive = self._archive(archive_id)
        try:
            release_restored(archive, actor=request.user)
        except ArchiveError as error:
            raise ArchiveConflict(str(error)) from None
        return Response(AuditArchiveSerializer(archive).data)

    @extend_schema(
        summary="Download an archive's events (gzip-compressed JSON Lines)",
        parameters=[OpenApiParameter("archive_id", OpenApiTypes.INT, OpenApiParameter.PATH)],
        responses={(200, "application/gzip"): OpenApiTypes.BINARY, **problem_responses(401, 403, 404)},
    )
    def download(self, request, archive_id=None):
        archive = self._archive(archive_id)
        if archive.purged_at is not None:
            raise exceptions.NotFound("This archive's files were removed by the retention policy.")
        try:
            stream = get_storage().open(archive.object_key)
        except StorageError:
            raise exceptions.NotFound("This archive's file cannot be read from archive storage.") from None
        record(
            "audit:archive:download",
            actor=request.user,
            resource_type="audit:archive",
            resource_id=archive.pk,
            resource_display=str(archive),
        )
        filename = archive.object_key.rsplit("/", 1)[-1]
        return FileResponse(stream, as_attachment=True, filename=filename, content_type="application/gzip")


@extend_schema_view(
    list=extend_schema(summary="Your saved audit queries and those shared in this tenant"),
    create=extend_schema(summary="Save a set of audit filters (validated like the events list's)"),
    destroy=extend_schema(summary="Delete one of your saved queries"),
)
class SavedQueryViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    """Named filter sets for the events list: ``GET events/?<params>`` runs one."""

    serializer_class = SavedQuerySerializer
    permission_classes = [ActionPermission]
    lookup_value_regex = "[0-9]+"
    access_kind = "audit:event"
    action_permissions = {"list": "audit:event:view", "create": "audit:event:view", "destroy": "audit:event:view"}
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no user
            return SavedQuery.objects.none()
        return selectors.saved_queries_for(user=self.request.user)

    def filter_queryset(self, queryset):
        return queryset  # the permission class already decided tenant-wide; rows are the user's own or shared

    def create(self, request, *args, **kwargs):
        serializer = SavedQuerySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            query = services.saved_query_create(owner=request.user, **serializer.validated_data)
        return Response(SavedQuerySerializer(query).data, status=201)

    def destroy(self, request, *args, **kwargs):
        query = self.get_object()
        with service_errors():
            services.saved_query_delete(actor=request.user, query=query)
        return Response(status=204)

    def get_object(self):
        from django.shortcuts import get_object_or_404

        query = get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])
        # Detail routes are decided on the object: someone who lost the right to read the trail keeps no say.
        self.check_object_permissions(self.request, query)
        return query


# --- Tenant redaction rules ---------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="This tenant's redaction rules",
        responses={200: RedactionRuleSerializer(many=True), **problem_responses(401, 403)},
    ),
    retrieve=extend_schema(
        summary="One redaction rule", responses={200: RedactionRuleSerializer, **problem_responses(401, 404)}
    ),
)
class RedactionRuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Rules the tenant adds to the built-in redaction; every change goes through ``services.redaction_rule_save``
    or ``redaction_rule_delete``, which refuse runaway patterns and record ``audit:redaction:update``."""

    serializer_class = RedactionRuleSerializer
    permission_classes = [ActionPermission]
    filter_backends = [AuthorizedFilter]
    lookup_value_regex = "[0-9]+"
    # Decided on the tenant (rules are not registry resources): without audit:redaction:view a rule is a 404,
    # with it but without audit:redaction:update a change is a 403.
    access_kind = "audit:redaction"
    action_permissions = {
        "list": "audit:redaction:view",
        "retrieve": "audit:redaction:view",
        "create": "audit:redaction:update",
        "partial_update": "audit:redaction:update",
        "destroy": "audit:redaction:update",
    }

    def get_queryset(self):
        return RedactionRule.objects.order_by("kind", "pattern")

    @extend_schema(
        summary="Add a redaction rule",
        description="A pattern that is invalid, matches empty text or can run away on some input is a 400 whose "
        "`errors.pattern` says why; so is a rule that exists already.",
        request=RedactionRuleCreateSerializer,
        responses={201: RedactionRuleSerializer, **problem_responses(400, 401, 403)},
    )
    def create(self, request):
        data = RedactionRuleCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors():
            rule = services.redaction_rule_save(actor=request.user, **data.validated_data)
        return Response(RedactionRuleSerializer(rule).data, status=201)

    @extend_schema(
        summary="Change a redaction rule (kind, pattern, description, enabled)",
        description="Fields left out keep their value. A new pattern is checked as when adding a rule.",
        request=RedactionRuleUpdateSerializer,
        responses={200: RedactionRuleSerializer, **problem_responses(400, 401, 403, 404)},
    )
    def partial_update(self, request, pk=None):
        rule = self.get_object()
        data = RedactionRuleUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        changes = data.validated_data
        with service_errors():
            rule = services.redaction_rule_save(
                actor=request.user,
                rule=rule,
                kind=changes.get("kind", rule.kind),
                pattern=changes.get("pattern", rule.pattern),
                description=changes.get("description", rule.description),
                enabled=changes.get("enabled", rule.enabled),
            )
        return Response(RedactionRuleSerializer(rule).data)

    @extend_schema(
        summary="Delete a redaction rule",
        description="Events recorded from then on no longer get its redaction; events already stored keep theirs.",
        responses={204: OpenApiResponse(description="Deleted."), **problem_responses(401, 403, 404)},
    )
    def destroy(self, request, pk=None):
        services.redaction_rule_delete(actor=request.user, rule=self.get_object())
        return Response(status=204)
