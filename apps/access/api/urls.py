"""Access-control API, mounted at /api/v1/access/ on every host (each schema has its own roles, groups, policies)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import (
    AssignmentViewSet,
    EffectivePermissionsViewSet,
    GrantViewSet,
    GroupViewSet,
    PermissionViewSet,
    PolicyViewSet,
    RoleViewSet,
    SimulationViewSet,
)

app_name = "access-api"

router = SimpleRouter()
router.register("roles", RoleViewSet, basename="role")
router.register("permissions", PermissionViewSet, basename="permission")
router.register("groups", GroupViewSet, basename="group")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("policies", PolicyViewSet, basename="policy")
router.register("grants", GrantViewSet, basename="grant")

urlpatterns = [
    path(
        "effective-permissions/<int:user_id>/",
        EffectivePermissionsViewSet.as_view({"get": "retrieve"}),
        name="effective-permissions",
    ),
    path("simulate/", SimulationViewSet.as_view({"post": "simulate"}), name="simulate"),
    *router.urls,
]
