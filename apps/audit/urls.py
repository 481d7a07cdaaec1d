"""The audit pages, included under /audit/ on tenant hosts and on the provider host (its stream in ``public``)."""

from django.urls import path

from . import archive_views, export_views, views

app_name = "audit"

urlpatterns = [
    path("", views.explorer, name="explorer"),
    path("events/<int:pk>/", views.event_detail, name="event-detail"),
    path("verify/", views.verify, name="verify"),
    path("saved-queries/", views.saved_query_save, name="saved-query-save"),
    path("saved-queries/<int:pk>/delete/", views.saved_query_delete, name="saved-query-delete"),
    path("redaction/", views.redaction, name="redaction"),
    path("redaction/<int:pk>/toggle/", views.redaction_toggle, name="redaction-toggle"),
    path("redaction/<int:pk>/delete/", views.redaction_delete, name="redaction-delete"),
    # --- Retention and archives (apps/audit/archive_views.py, added separately): their routes go below. ---
    path("exports/", export_views.export_list, name="exports"),
    path("exports/new/", export_views.export_start, name="export-start"),
    path("exports/<int:pk>/", export_views.export_detail, name="export-detail"),
    path("exports/<int:pk>/download/", export_views.export_download, name="export-download"),
    path("retention/", archive_views.retention, name="retention"),
    path("archives/", archive_views.archive_list, name="archives"),
    path("archives/<int:pk>/verify/", archive_views.archive_verify, name="archive-verify"),
    path("archives/<int:pk>/restore/", archive_views.archive_restore, name="archive-restore"),
    path("archives/<int:pk>/release/", archive_views.archive_release, name="archive-release"),
    path("archives/<int:pk>/download/", archive_views.archive_download, name="archive-download"),
]
