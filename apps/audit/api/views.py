"""The audit API (/api/v1/audit/): this schema's events, newest first, and a check of the chain.

Events are an append-only stream, so pages are cursors (keyset on the id),
not numbers: a page stays right while new events arrive.
"""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response

from apps.audit.models import AuditEvent
from apps.audit.services import verify_chain
from apps.core.api.permissions import ActionPermission, AuthorizedFilter
from apps.core.api.schema import problem_responses

from .filtersets import AuditEventFilterSet
from .serializers import AuditEventSerializer, VerificationSerializer


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
