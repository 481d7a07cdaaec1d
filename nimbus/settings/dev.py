"""Development: debug on, an insecure key of its own, embedded services filled in by manage.py."""

import os

os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: F403
from .base import SECRET_KEY

SECRET_KEY = SECRET_KEY or "nimbus-development-only-secret-key-not-for-production"
NIMBUS_EXTRA_ALLOWED_HOSTS_DEV = ["127.0.0.1", "[::1]"]
ALLOWED_HOSTS += NIMBUS_EXTRA_ALLOWED_HOSTS_DEV
WHITENOISE_USE_FINDERS = True
# Assets are served from the app directories; nothing is collected outside production.
STATIC_ROOT = None
WHITENOISE_AUTOREFRESH = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
