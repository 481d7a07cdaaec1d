"""django-tenants: which apps live in the public schema, which in every tenant schema.

Realm model: accounts, auth, sessions, the JWT blacklist and axes' lockout records are in both lists, so every tenant
schema has its own users and sessions, and the provider's staff live in
``public``. The admin exists only in ``public`` (the provider host).
"""

from ._env import read_int

SHARED_APPS = [
    # Before django_tenants: Nimbus's create_tenant command replaces the library's interactive one.
    "apps.tenancy",
    "django_tenants",
    "apps.core",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "apps.accounts",
    "apps.access",
    "apps.audit",
    "apps.identity",
    "auditlog",
    "guardian",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "django_guid",
    "rest_framework_simplejwt.token_blacklist",
    "axes",
]

TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "apps.accounts",
    "apps.access",
    # Each tenant's audit stream lives in its schema; the provider's in public.
    "apps.audit",
    # Each tenant configures its own identity providers; the provider host may have its own too.
    "apps.identity",
    # Model-change history (django-auditlog), fed into the schema's own audit stream.
    "auditlog",
    # Object grants belong to the schema whose users and objects they name.
    "guardian",
    "django.contrib.sessions",
    # Refresh-token blacklist and sign-in lockout records belong to the realm they protect.
    "rest_framework_simplejwt.token_blacklist",
    "axes",
]

INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]

TENANT_MODEL = "tenancy.Tenant"
TENANT_DOMAIN_MODEL = "tenancy.Domain"
PUBLIC_SCHEMA_URLCONF = "nimbus.urls_public"
ROOT_URLCONF = "nimbus.urls_tenant"
DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

# New tenants are cloned from this migrated template schema instead of migrated from zero.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
# Issue SET search_path only when the schema changes, not before every query.
TENANT_LIMIT_SET_CALLS = True
SHOW_PUBLIC_IF_NO_TENANT_FOUND = False

# How long a host → tenant routing decision is cached (0: not cached). Services forget changed hosts at once.
NIMBUS_ROUTING_CACHE_SECONDS = read_int("NIMBUS_ROUTING_CACHE_SECONDS", 60, minimum=0, maximum=3600)

# Copies of the template kept ready, so that provisioning renames one instead of cloning.
NIMBUS_SPARE_SCHEMAS = read_int("NIMBUS_SPARE_SCHEMAS", 2, minimum=0, maximum=50)
