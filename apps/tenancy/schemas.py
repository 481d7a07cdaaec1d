"""Schema-level operations behind provisioning: the template, cloning, and the spare pool.

Tenant schemas are never migrated from zero. The template schema
(``TENANT_BASE_SCHEMA``) is kept at the code's migrations, and a new tenant's
schema is a copy of it:

* **spare pool** — a few copies made ahead of time (``NIMBUS_SPARE_SCHEMAS``,
  refilled off the request path). Provisioning claims one and renames it,
  which takes milliseconds instead of the few hundred a clone takes;
* **clone** — when no current spare is free, the template is cloned on the
  spot with django-tenants' ``clone_schema`` SQL function.

Every copy records the migrations it holds, so no migration is run or faked
after copying. A spare made for other migrations than the code's (its
fingerprint differs) is never used and is dropped at the next refill.

Callers are the tenancy app's services, its refill task and ``migrate_all``;
nothing here validates user input.
"""

from __future__ import annotations

import hashlib
import logging
import uuid

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema
from django_tenants.utils import quote_schema_name, schema_exists

from .context import provider_context
from .models import SpareSchema

logger = logging.getLogger(__name__)

# Stable advisory-lock keys: one process at a time rebuilds the template, and refills the pool.
TEMPLATE_LOCK_KEY = 0x4E494D42  # "NIMB"
REFILL_LOCK_KEY = 0x4E494D43
SPARE_PREFIX = "spare_"

_template_verified_for: set[str] = set()

MigrationKeys = set[tuple[str, str]]


# --- Migrations -----------------------------------------------------------------------------


def migrations_on_disk() -> tuple[MigrationKeys, MigrationKeys]:
    """(every migration in the code, migrations that squashed ones replace)."""
    loader = MigrationLoader(connection, ignore_no_migrations=True, load=True)
    replaced = {key for migration in loader.replacements.values() for key in migration.replaces}
    return set(loader.graph.nodes), replaced


_fingerprint_cache: dict[str, str] = {}


def migrations_fingerprint() -> str:
    """A digest of the tenant apps' migrations: equal fingerprints mean equal tenant schemas.

    Migrations of shared-only apps change nothing inside a tenant schema (they
    are only recorded there, and ``migrate_all`` records them), so they do not
    make spares obsolete.
    """
    key = settings.DATABASES["default"]["NAME"]
    if key not in _fingerprint_cache:
        expected, _replaced = migrations_on_disk()
        tenant_labels = _tenant_app_labels()
        keys = sorted(f"{app}.{name}" for app, name in expected if app in tenant_labels)
        _fingerprint_cache[key] = hashlib.sha256("\n".join(keys).encode()).hexdigest()
    return _fingerprint_cache[key]


def _tenant_app_labels() -> set[str]:
    tenant_apps = set(settings.TENANT_APPS)
    return {config.label for config in apps.get_app_configs() if config.name in tenant_apps}


def schema_migration_state(
    schema: str, on_disk: tuple[MigrationKeys, MigrationKeys] | None = None
) -> tuple[MigrationKeys, MigrationKeys]:
    """(migrations in the code the schema lacks, migrations the schema records that the code no longer has)."""
    expected, replaced = on_disk or migrations_on_disk()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'django_migrations'",
            [schema],
        )
        if cursor.fetchone() is None:
            return expected, set()
        cursor.execute(f"SELECT app, name FROM {quote_schema_name(schema)}.django_migrations")  # noqa: S608
        applied = {(app, name) for app, name in cursor.fetchall()}
    return expected - applied, applied - expected - replaced


# --- The template ---------------------------------------------------------------------------


def template_schema() -> str:
    return settings.TENANT_BASE_SCHEMA


def template_ensure(*, force: bool = False) -> bool:
    """Bring the template schema up to the migrations on disk; return True if it had to change.

    Copies of the template record migrations without running them, so a
    template behind the code would produce tenants with missing tables or
    columns. This runs before every provisioning (cheaply: once verified, a
    process does not look again) and on every ``migrate_all``. A template
    holding migrations that no longer exist is dropped and rebuilt.
    """
    key = settings.DATABASES["default"]["NAME"]
    if not force and key in _template_verified_for:
        return False
    schema = template_schema()
    changed = False
    with provider_context(), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TEMPLATE_LOCK_KEY])
        missing, stale = schema_migration_state(schema)
        if stale:
            logger.warning("tenant template holds unknown migrations; rebuilding it", extra={"stale": sorted(stale)})
            with connection.cursor() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {quote_schema_name(schema)} CASCADE")
        if missing or stale:
            with connection.cursor() as cursor:
                cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_schema_name(schema)}")
            call_command("migrate_schemas", schema_name=schema, tenant=True, interactive=False, verbosity=0)
            changed = True
        if force:
            # After an upgrade of django-tenants, replace its clone function too.
            CloneSchema()._create_clone_schema_function()
        # Trust the template only once this is committed: an enclosing transaction may still roll it back.
        transaction.on_commit(lambda: _template_verified_for.add(key))
    if changed:
        logger.info("tenant template migrated", extra={"schema": schema})
    return changed


def template_forget() -> None:
    """Make the next provisioning re-check the template (after migrations changed in this process)."""
    _template_verified_for.clear()
    _fingerprint_cache.clear()


# --- Copies ---------------------------------------------------------------------------------


def _ensure_clone_function() -> None:
    # django-tenants re-creates its (large) clone function before every clone; in one database
    # session that leaks about 12 MB per clone and slows each next one. Create it only if missing.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_proc WHERE proname = 'clone_schema' AND pronamespace = 'public'::regnamespace")
        if cursor.fetchone() is None:
            CloneSchema()._create_clone_schema_function()


def clone_template(schema_name: str) -> None:
    """Copy the template, tables, sequences and rows (its migration records included), into a new schema."""
    with provider_context(), transaction.atomic():
        with connection.cursor() as cursor:
            # Shared: clones run side by side, but never while template_ensure rebuilds the template.
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [TEMPLATE_LOCK_KEY])
            # clone_schema's catalog queries are planned once and cached; after a burst of schema creation
            # the cached generic plans went from 0.3 s to 3-13 s per clone (bench/tenant_provisioning.py).
            cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        _ensure_clone_function()
        with connection.cursor() as cursor:
            cursor.execute("SELECT public.clone_schema(%s, %s, 'DATA')", [template_schema(), schema_name])
            (status,) = cursor.fetchone()
        # clone_schema reports a missing template or an existing target with a status code, not an error.
        if status != 0 or not schema_exists(schema_name):
            raise RuntimeError(f"Cloning '{template_schema()}' into '{schema_name}' failed (status {status}).")


def claim_spare(schema_name: str) -> bool:
    """Rename a current spare schema to ``schema_name``; False when none is free.

    Must run inside the caller's transaction: the claim (row lock, rename,
    row delete) commits or rolls back with the tenant it is for. A row whose
    schema has vanished is deleted and the next spare tried.
    """
    with provider_context():
        while True:
            spare = (
                SpareSchema.objects.select_for_update(skip_locked=True)
                .filter(migrations_fingerprint=migrations_fingerprint())
                .order_by("created_at")
                .first()
            )
            if spare is None:
                return False
            if schema_exists(spare.schema_name):
                break
            logger.warning("spare schema row without its schema removed", extra={"schema": spare.schema_name})
            spare.delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"ALTER SCHEMA {quote_schema_name(spare.schema_name)} RENAME TO {quote_schema_name(schema_name)}"
            )
        spare.delete()
    return True


def create_tenant_schema(schema_name: str) -> str:
    """Give ``schema_name`` a current copy of the template; return how ('spare' or 'clone')."""
    if claim_spare(schema_name):
        return "spare"
    clone_template(schema_name)
    return "clone"


def spares_refill(*, target: int | None = None) -> int:
    """Drop spares made for other migrations, then clone until ``target`` current ones wait; return how many made.

    Refills never run concurrently: one that finds another running returns at
    once, since the running one fills the pool to the same target.
    """
    target = settings.NIMBUS_SPARE_SCHEMAS if target is None else target
    with provider_context():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [REFILL_LOCK_KEY])
            if not cursor.fetchone()[0]:
                return 0
        try:
            made = _refill_locked(target)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [REFILL_LOCK_KEY])
    if made:
        logger.info("spare tenant schemas made", extra={"made": made, "target": target})
    return made


def _refill_locked(target: int) -> int:
    fingerprint = migrations_fingerprint()
    for stale in SpareSchema.objects.exclude(migrations_fingerprint=fingerprint):
        spare_drop(stale)
    if target <= 0:
        return 0
    template_ensure()
    made = 0
    while SpareSchema.objects.filter(migrations_fingerprint=fingerprint).count() < target:
        name = f"{SPARE_PREFIX}{uuid.uuid4().hex[:20]}"
        with transaction.atomic():
            clone_template(name)
            SpareSchema.objects.create(schema_name=name, migrations_fingerprint=fingerprint)
        made += 1
    return made


def spare_drop(spare: SpareSchema) -> None:
    with transaction.atomic():
        locked = SpareSchema.objects.select_for_update(skip_locked=True).filter(pk=spare.pk).first()
        if locked is None:
            return  # being claimed right now
        with connection.cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {quote_schema_name(locked.schema_name)} CASCADE")
        locked.delete()
