"""Audit API, mounted at /api/v1/audit/ on every host (each schema has its own stream; the provider's in public)."""

from rest_framework.routers import SimpleRouter

from .views import AuditEventViewSet

app_name = "audit-api"

router = SimpleRouter()
router.register("events", AuditEventViewSet, basename="event")

urlpatterns = router.urls
