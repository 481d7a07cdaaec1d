"""URLs of every tenant host. No admin here: tenants never reach the provider admin."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.graphql.views import NimbusGraphQLView
from apps.tenancy.views import tenant_landing

urlpatterns = [
    path("", tenant_landing, name="tenant-landing"),
    path("", include("apps.accounts.urls")),
    path("users/", include("apps.accounts.user_urls")),
    path("access/", include("apps.access.urls")),
    path("audit/", include("apps.audit.urls")),
    path("identity/", include("apps.identity.urls")),
    path("api/v1/", include("apps.accounts.api.urls")),
    path("api/v1/access/", include("apps.access.api.urls")),
    path("api/v1/audit/", include("apps.audit.api.urls")),
    path("api/v1/identity/", include("apps.identity.api.urls")),
    # SCIM 2.0 for the tenant's IdP (bearer SCIM tokens only); never mounted on the provider host.
    path("scim/v2/", include("apps.identity.scim.urls")),
    path("graphql/", NimbusGraphQLView.as_view(), name="graphql"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
