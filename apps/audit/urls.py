"""The audit pages, included under /audit/ on tenant hosts and on the provider host (its stream in ``public``)."""

from django.urls import path

from . import views

app_name = "audit"

urlpatterns = [
    path("", views.explorer, name="explorer"),
    path("events/<int:pk>/", views.event_detail, name="event-detail"),
    path("verify/", views.verify, name="verify"),
    path("redaction/", views.redaction, name="redaction"),
    path("redaction/<int:pk>/toggle/", views.redaction_toggle, name="redaction-toggle"),
    path("redaction/<int:pk>/delete/", views.redaction_delete, name="redaction-delete"),
    # --- Retention and archives (apps/audit/archive_views.py, added separately): their routes go below. ---
]
