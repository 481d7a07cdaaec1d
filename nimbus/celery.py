"""The Celery app. Tasks carry the sender's schema and run in it (tenant-schemas-celery)."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nimbus.settings.dev")

app = CeleryApp("nimbus")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
