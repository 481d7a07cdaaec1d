"""Accounts API, mounted at /api/v1/ on every host."""

from django.urls import path

from .views import MeView

app_name = "accounts-api"

urlpatterns = [path("me/", MeView.as_view(), name="me")]
