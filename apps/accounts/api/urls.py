"""Accounts API, mounted at /api/v1/ on every host."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import MeView, TokenObtainView, TokenRefreshView, TokenRevokeView, UserViewSet

app_name = "accounts-api"

router = SimpleRouter()
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("me/", MeView.as_view(), name="me"),
    path("auth/token/", TokenObtainView.as_view(), name="token-obtain"),
    path("auth/token/refresh/", TokenRefreshView.as_view(), name="token-refresh"),
    path("auth/token/revoke/", TokenRevokeView.as_view(), name="token-revoke"),
    *router.urls,
]
