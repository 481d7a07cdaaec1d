"""Audit exports in the API (/api/v1/audit/exports/): ask for one, follow its progress, download the file.

The same services as the pages (``apps.audit.exports``): filters validated as the events list validates them,
the request recorded as ``audit:event:export``, the download as ``audit:export:download``. Each person sees only
their own exports; anyone else's id is a 404.
"""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.accounts.api.views import service_errors
from apps.audit.exports import export_create, export_open
from apps.audit.models import AuditExport
from apps.core.api.permissions import ActionPermission
from apps.core.api.schema import problem_responses

from .serializers import AuditExportRequestSerializer, AuditExportSerializer


@extend_schema_view(
    list=extend_schema(summary="Your audit exports, newest first", responses={200: AuditExportSerializer(many=True)}),
    retrieve=extend_schema(
        summary="One of your audit exports: its status and progress",
        responses={200: AuditExportSerializer, **problem_responses(401, 404)},
    ),
    create=extend_schema(
        summary="Export the events matching some filters as CSV or JSON Lines (runs in the background)",
        request=AuditExportRequestSerializer,
        responses={202: AuditExportSerializer, **problem_responses(400, 401, 403)},
    ),
)
class AuditExportViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    serializer_class = AuditExportSerializer
    permission_classes = [ActionPermission]
    lookup_value_regex = "[0-9]+"
    # Lists and creation are decided on the whole tenant, one export as a resource of the audit trail; rows are
    # narrowed to the person's own first.
    access_kind = "audit:event"
    action_permissions = {
        "list": "audit:event:export",
        "retrieve": "audit:event:export",
        "create": "audit:event:export",
        "download": "audit:event:export",
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI generator has no user
            return AuditExport.objects.none()
        return AuditExport.objects.filter(requested_by=self.request.user).order_by("-id")

    def create(self, request, *args, **kwargs):
        serializer = AuditExportRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with service_errors():
            export = export_create(actor=request.user, **serializer.validated_data)
        return Response(AuditExportSerializer(export, context={"request": request}).data, status=202)

    @extend_schema(
        summary="Download a finished export's file",
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/jsonl"): OpenApiTypes.BINARY,
            **problem_responses(401, 404, 409),
        },
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        export = self.get_object()
        try:
            stream = export_open(actor=request.user, export=export)
        except PermissionDenied:
            raise exceptions.NotFound() from None
        except DjangoValidationError as error:
            raise Conflict(" ".join(error.messages)) from None
        content_type = "text/csv" if export.format == AuditExport.Format.CSV else "application/jsonl"
        return FileResponse(stream, as_attachment=True, filename=export.filename, content_type=content_type)


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The export is not ready."
    default_code = "conflict"
