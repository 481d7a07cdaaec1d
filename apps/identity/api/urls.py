"""Identity API, mounted at /api/v1/identity/ on every host (each schema has its own providers)."""

from rest_framework.routers import SimpleRouter

from .views import IdentityProviderViewSet, ScimTokenViewSet

app_name = "identity-api"

router = SimpleRouter()
router.register("providers", IdentityProviderViewSet, basename="provider")
router.register("scim-tokens", ScimTokenViewSet, basename="scim-token")

urlpatterns = router.urls
