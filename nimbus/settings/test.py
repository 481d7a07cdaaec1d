"""Tests: real services (embedded or by URL), isolated per pytest-xdist worker."""

import os

from .base import *  # noqa: F403
from .base import CACHES, CHANNEL_LAYERS, SECRET_KEY

SECRET_KEY = SECRET_KEY or "nimbus-test-secret-key"
DEBUG = False

# xdist workers share Redis and Temporal: keep their keys, queues and groups apart.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
CACHES["default"]["KEY_PREFIX"] = f"nimbus-test-{_WORKER}"
CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"nimbus-test-{_WORKER}:channels"
CELERY_TASK_DEFAULT_QUEUE = f"nimbus-test-{_WORKER}"
TEMPORAL_TASK_QUEUE = f"nimbus-test-{_WORKER}"

# Tests exercise the clone path by default; the spare pool has tests of its own.
NIMBUS_SPARE_SCHEMAS = 0
# Tests roll their database changes back, which a cache would not; the routing cache has tests of its own.
NIMBUS_ROUTING_CACHE_SECONDS = 0
# Likewise the account policy cache (its own test turns it on).
NIMBUS_POLICY_CACHE_SECONDS = 0
WHITENOISE_USE_FINDERS = True
# Assets are served from the app directories; nothing is collected outside production.
STATIC_ROOT = None
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
NIMBUS_LOG_FORMAT = "text"
LOGGING["handlers"]["console"]["formatter"] = "text"

# Worker threads (Celery, Temporal activities, Channels) close their connections after each unit
# of work, so none is left open when the test database is dropped.
DATABASES["default"]["CONN_MAX_AGE"] = 0
