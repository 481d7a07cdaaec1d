"""Audit API, mounted at /api/v1/audit/ on every host (each schema has its own stream; the provider's in public)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .exports import AuditExportViewSet
from .views import AuditArchiveViewSet, AuditEventViewSet, RedactionRuleViewSet, RetentionViewSet, SavedQueryViewSet

app_name = "audit-api"

router = SimpleRouter()
router.register("events", AuditEventViewSet, basename="event")
router.register("saved-queries", SavedQueryViewSet, basename="saved-query")
router.register("exports", AuditExportViewSet, basename="export")
router.register("redaction-rules", RedactionRuleViewSet, basename="redaction-rule")

urlpatterns = [
    *router.urls,
    path("retention/", RetentionViewSet.as_view({"get": "show", "put": "change"}), name="retention"),
    path("archives/", AuditArchiveViewSet.as_view({"get": "index"}), name="archive-list"),
    path("archives/<int:archive_id>/verify/", AuditArchiveViewSet.as_view({"post": "check"}), name="archive-verify"),
    path(
        "archives/<int:archive_id>/restore/", AuditArchiveViewSet.as_view({"post": "restore"}), name="archive-restore"
    ),
    path(
        "archives/<int:archive_id>/release/", AuditArchiveViewSet.as_view({"post": "release"}), name="archive-release"
    ),
    path(
        "archives/<int:archive_id>/download/",
        AuditArchiveViewSet.as_view({"get": "download"}),
        name="archive-download",
    ),
]
