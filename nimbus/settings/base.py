"""Settings common to every environment; dev, test and prod import this and adjust little.

Integration-specific settings live in their own modules (tenants, celery,
channels, temporal, spectacular, logging) and are pulled in at the end.
"""

from __future__ import annotations

from pathlib import Path

from ._env import (
    BASE_DIR,
    env,
    read_bool,
    read_database,
    read_hostname,
    read_int,
    read_redis_url,
    require_services,
)

DEBUG = read_bool("DEBUG", False)
SECRET_KEY = env.str("SECRET_KEY", default="")

NIMBUS_BASE_DOMAIN = read_hostname("NIMBUS_BASE_DOMAIN", "localhost")
NIMBUS_PORT = read_int("NIMBUS_PORT", 8000, minimum=1, maximum=65535)
NIMBUS_DATA_DIR = Path(env.str("NIMBUS_DATA_DIR", default=str(BASE_DIR / ".nimbus"))).resolve()
# Audit archives (compressed chunks of old sealed events and their manifests), one folder per schema.
NIMBUS_AUDIT_ARCHIVE_DIR = Path(
    env.str("NIMBUS_AUDIT_ARCHIVE_DIR", default=str(NIMBUS_DATA_DIR / "audit-archives"))
).resolve()
# Audit archives go to any S3 API endpoint (MinIO in docker-compose.yml) when one is named; else the directory above.
S3_ENDPOINT_URL = env.str("S3_ENDPOINT_URL", default="")
S3_BUCKET = env.str("S3_BUCKET", default="nimbus")
S3_ACCESS_KEY_ID = env.str("S3_ACCESS_KEY_ID", default="")
S3_SECRET_ACCESS_KEY = env.str("S3_SECRET_ACCESS_KEY", default="")
S3_REGION = env.str("S3_REGION", default="us-east-1")

# The provider answers on the base domain, each tenant on a subdomain of it.
ALLOWED_HOSTS = [NIMBUS_BASE_DOMAIN, f".{NIMBUS_BASE_DOMAIN}", *env.list("NIMBUS_EXTRA_ALLOWED_HOSTS", default=[])]

require_services()
REDIS_URL = read_redis_url()

DATABASES = {"default": read_database()}
DATABASES["default"].update(
    {
        # django-tenants switches search_path on this backend; ours adds the RLS tenant setting.
        "ENGINE": "apps.tenancy.postgresql_backend",
        # Bounded: a connection caches catalog data for every tenant table it touched.
        "CONN_MAX_AGE": read_int("NIMBUS_DB_CONN_MAX_AGE", 60),
        "CONN_HEALTH_CHECKS": True,
    }
)
DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

MIDDLEWARE = [
    # Health first: probes must answer without a tenant, a session or a valid Host.
    "apps.core.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django_guid.middleware.guid_middleware",
    "apps.tenancy.middleware.TenantMiddleware",
    "apps.access.middleware.AccessVersionSnapshotMiddleware",
    # Outside sessions and authentication, it reads request.user only after the view ran (see its docstring).
    "apps.audit.middleware.AuditRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After authentication and messages: they sign out or redirect a signed-in user with a message.
    "apps.accounts.middleware.SessionTimeoutMiddleware",
    "apps.accounts.middleware.PasswordExpiryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a sign-in that hit the lockout into the lockout response.
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.tenancy.context_processors.tenant",
                "apps.core.context_processors.navigation",
            ],
        },
    }
]

WSGI_APPLICATION = "nimbus.wsgi.application"
LOGIN_URL = "accounts:sign-in"
LOGIN_REDIRECT_URL = "/"
PASSWORD_RESET_TIMEOUT = 3600
# Delegated-access links (provider staff or a parent tenant's admin opening a tenant) are spent within seconds.
NIMBUS_DELEGATION_LINK_SECONDS = read_int("NIMBUS_DELEGATION_LINK_SECONDS", 60, minimum=10, maximum=600)
# How long an emailed invitation link (set your first password) stays valid.
NIMBUS_INVITATION_DAYS = read_int("NIMBUS_INVITATION_DAYS", 7, minimum=1, maximum=90)
# Fernet keys that encrypt secrets at rest (apps.core.crypto): the first encrypts, all decrypt (rotation).
# Unset: one key derived from SECRET_KEY, the development default.
NIMBUS_ENCRYPTION_KEYS = env.list("NIMBUS_ENCRYPTION_KEYS", default=[])
# Hosts and networks (CIDR) that outbound fetches (IdP discovery, SAML metadata) may reach although they are
# private, loopback or otherwise not public (apps.core.outbound); empty: public addresses only.
NIMBUS_OUTBOUND_ALLOW = env.list("NIMBUS_OUTBOUND_ALLOW", default=[])
# How often every enabled IdP's discovery document or metadata URL is read again (a Temporal Schedule).
NIMBUS_IDENTITY_REFRESH_HOURS = env.int("NIMBUS_IDENTITY_REFRESH_HOURS", default=24)
# Dotted path to a callable(identity) -> user | None deciding what an SSO sign-in with no linked account
# becomes (just-in-time creation); empty: such sign-ins are refused with a clear page.
NIMBUS_SSO_JIT_HOOK = env.str("NIMBUS_SSO_JIT_HOOK", default="")
AUTH_USER_MODEL = "accounts.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # Minimum length and re-use come from the tenant's account policy.
    {"NAME": "apps.accounts.password_validation.PolicyMinimumLengthValidator"},
    {"NAME": "apps.accounts.password_validation.PasswordHistoryValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Collected assets belong to the release, not to the data directory (which may be a volume).
STATIC_ROOT = Path(env.str("NIMBUS_STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))).resolve()
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "nimbus",
        # Every key carries the schema it was written from, so tenants never share entries.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
    }
}

_email = env.email_url("EMAIL_URL", default="consolemail://")
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
EMAIL_FILE_PATH = _email.get("EMAIL_FILE_PATH") or str(NIMBUS_DATA_DIR / "mail")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default=f"nimbus@{NIMBUS_BASE_DOMAIN}")

# Django's database sessions, read with a query compiled once per process.
SESSION_ENGINE = "apps.accounts.session_store"
# Cookies are per host: a tenant's session never travels to another tenant's host.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# The cookie outlives the longest session a tenant's policy allows (90 days); the policy's idle and absolute
# limits end sessions sooner, on the server (apps.accounts.middleware).
SESSION_COOKIE_AGE = 90 * 24 * 3600
# How long a schema's account policy is cached (0: read from the database on every use); saving it forgets it.
NIMBUS_POLICY_CACHE_SECONDS = read_int("NIMBUS_POLICY_CACHE_SECONDS", 300, minimum=0, maximum=86400)
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if read_bool("NIMBUS_BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "RETURN_HEADER": True,
    "VALIDATE_GUID": True,
    "INTEGRATIONS": [],
}

from .access import *  # noqa: E402,F403
from .axes import *  # noqa: E402,F403
from .celery import *  # noqa: E402,F403
from .channels import *  # noqa: E402,F403
from .jwt import *  # noqa: E402,F403
from .logging import *  # noqa: E402,F403
from .spectacular import *  # noqa: E402,F403
from .temporal import *  # noqa: E402,F403
from .tenants import *  # noqa: E402,F403
