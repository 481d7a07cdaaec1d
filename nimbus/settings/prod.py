"""Production: every service and secret must be given; nothing has a development default."""

from ._env import PRODUCTION_VARIABLES, read_bool, require

require(PRODUCTION_VARIABLES, why="production settings have no defaults for these")

from django.core.exceptions import ImproperlyConfigured  # noqa: E402

from .base import *  # noqa: E402,F403
from .base import DEBUG, SECRET_KEY  # noqa: E402

if DEBUG:
    raise ImproperlyConfigured("DEBUG must be false in production (nimbus.settings.prod).")
if len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 random characters in production.")

SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000 if read_bool("NIMBUS_HSTS", True) else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
