"""URLs of the provider host (the public schema): landing page, admin, API docs."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.graphql.views import NimbusGraphQLView
from apps.tenancy.views import provider_landing

admin.site.site_header = "Nimbus provider administration"
admin.site.site_title = "Nimbus provider"
admin.site.index_title = "Provider administration"

urlpatterns = [
    path("", provider_landing, name="provider-landing"),
    path("admin/", admin.site.urls),
    path("", include("apps.accounts.urls")),
    path("audit/", include("apps.audit.urls")),
    path("api/v1/", include("apps.accounts.api.urls")),
    path("api/v1/access/", include("apps.access.api.urls")),
    path("api/v1/audit/", include("apps.audit.api.urls")),
    path("graphql/", NimbusGraphQLView.as_view(), name="graphql"),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
