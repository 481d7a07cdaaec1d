"""Provisioning: the clone path, all-or-nothing, slugs, domains and quota inheritance."""

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django_tenants.utils import schema_context, schema_exists

from apps.tenancy import schemas, services
from apps.tenancy.context import provider_context
from apps.tenancy.models import Domain, SpareSchema, Tenant, TenantKind
from apps.tenancy.plans import PLANS
from apps.tenancy.provisioning import register_seeder, unregister_seeder

pytestmark = pytest.mark.django_db


def table_columns(schema: str, table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s",
            [schema, table],
        )
        return {row[0] for row in cursor.fetchall()}


def applied_migrations(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')
        return set(cursor.fetchall())


def test_provisioned_tenant_gets_schema_domain_and_plan_quotas():
    tenant = services.tenant_provision(name="Umbrella", slug="umbrella", plan="starter")

    assert tenant.schema_name == "t_umbrella"
    assert schema_exists("t_umbrella")
    assert "email" in table_columns("t_umbrella", "accounts_user")
    with provider_context():
        assert list(tenant.domains.values_list("domain", "is_primary")) == [("umbrella.localhost", True)]
    assert (tenant.max_users, tenant.max_sub_tenants, tenant.max_cis) == (10, 0, 500)
    assert tenant.parent.kind == TenantKind.PROVIDER


def test_clone_records_every_migration_the_template_has():
    services.tenant_provision(name="Umbrella", slug="umbrella")

    assert applied_migrations("t_umbrella") == applied_migrations("tenant_template")
    missing, stale = schemas.schema_migration_state("t_umbrella")
    assert (missing, stale) == (set(), set())


def test_failing_seeder_leaves_no_schema_row_or_domain_behind():
    def broken_seeder(*, tenant, options):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")  # proves it ran inside the new schema before failing
        assert connection.schema_name == "t_doomed"
        raise RuntimeError("seeding failed")

    register_seeder("test-broken", broken_seeder)
    try:
        with pytest.raises(RuntimeError, match="seeding failed"):
            services.tenant_provision(name="Doomed", slug="doomed")
    finally:
        unregister_seeder("test-broken")

    assert not schema_exists("t_doomed")
    assert not Tenant.objects.filter(slug="doomed").exists()
    with provider_context():
        assert not Domain.objects.filter(domain="doomed.localhost").exists()


def test_seeders_run_inside_the_new_tenant_schema():
    seen = []
    register_seeder("test-recorder", lambda *, tenant, options: seen.append((connection.schema_name, options)))
    try:
        services.tenant_provision(name="Seeded", slug="seeded", options={"admin_email": "a@seeded.test"})
    finally:
        unregister_seeder("test-recorder")
    assert seen == [("t_seeded", {"admin_email": "a@seeded.test"})]


@pytest.mark.parametrize("slug", ["admin", "www", "api", "public", "template", "static", "pg-stats"])
def test_reserved_slugs_are_refused_with_a_clear_message(slug):
    with pytest.raises(ValidationError) as error:
        services.tenant_provision(name="X", slug=slug)
    assert "reserved" in error.value.message_dict["slug"][0]
    assert not Tenant.objects.filter(slug=slug).exists()


@pytest.mark.parametrize(
    "slug", ["-acme", "acme-", "ac_me", "ac.me", "ac me", "a" * 51, "ac--me", "", "ümlaut", "acme;drop"]
)
def test_slugs_that_are_not_dns_labels_are_refused(slug):
    with pytest.raises(ValidationError) as error:
        services.tenant_provision(name="X", slug=slug)
    assert "slug" in error.value.message_dict


def test_uppercase_slug_is_normalised_to_lowercase():
    tenant = services.tenant_provision(name="Hooli", slug="Hooli")
    assert tenant.slug == "hooli"


def test_duplicate_slug_is_refused():
    with pytest.raises(ValidationError) as error:
        services.tenant_provision(name="Acme again", slug="acme")
    assert "already exists" in error.value.message_dict["slug"][0]


def test_domain_already_in_use_is_refused_before_anything_is_created():
    with pytest.raises(ValidationError) as error:
        services.tenant_provision(name="Squatter", slug="squatter", domains=["acme.localhost"])
    assert "acme.localhost" in error.value.message_dict["domains"][0]
    assert not schema_exists("t_squatter")


def test_invalid_domain_is_refused():
    with pytest.raises(ValidationError) as error:
        services.tenant_provision(name="Bad", slug="bad", domains=["not a host"])
    assert "not a valid host name" in error.value.message_dict["domains"][0]


def test_unknown_plan_and_negative_quota_are_refused():
    with pytest.raises(ValidationError) as error:
        services.tenant_provision(name="X", slug="planless", plan="platinum")
    assert "Unknown plan" in error.value.message_dict["plan"][0]
    with pytest.raises(ValidationError) as error:
        services.tenant_provision(name="X", slug="negative", quotas={"max_users": -1})
    assert "max_users" in error.value.message_dict


def test_sub_tenant_quota_cannot_exceed_what_the_parent_has_left(acme):
    # acme (standard: 100 users) already gave acme-dev the starter default of 10.
    with pytest.raises(ValidationError) as error:
        services.tenant_provision(
            name="Big", slug="acme-big", kind=TenantKind.SUB_TENANT, parent=acme, quotas={"max_users": 91}
        )
    assert "has left to give (90)" in error.value.message_dict["max_users"][0]

    ok = services.tenant_provision(
        name="Fits", slug="acme-fits", kind=TenantKind.SUB_TENANT, parent=acme, quotas={"max_users": 90}
    )
    assert ok.max_users == 90
    with pytest.raises(ValidationError) as error:
        services.tenant_provision(
            name="None left", slug="acme-none", kind=TenantKind.SUB_TENANT, parent=acme, quotas={"max_users": 1}
        )
    assert "has left to give (0)" in error.value.message_dict["max_users"][0]


def test_sub_tenant_default_quotas_are_capped_by_the_parent_remainder(acme):
    services.tenant_update(tenant=acme, quotas={"max_cis": 600})  # acme-dev holds 500 of them
    child = services.tenant_provision(
        name="Capped", slug="acme-capped", kind=TenantKind.SUB_TENANT, parent=acme, plan="standard"
    )
    assert child.max_cis == 100
    assert child.max_users == PLANS["standard"].max_users - 10
    assert child.max_sub_tenants == 0


def test_parent_runs_out_of_sub_tenant_slots(acme):
    services.tenant_update(tenant=acme, quotas={"max_sub_tenants": 1})  # acme-dev uses the only slot
    with pytest.raises(ValidationError) as error:
        services.tenant_provision(name="Extra", slug="acme-extra", kind=TenantKind.SUB_TENANT, parent=acme)
    assert "sub-tenant slots" in error.value.message_dict["parent"][0]


def test_sub_tenants_cannot_nest_or_hang_off_the_provider(acme_dev, provider):
    with pytest.raises(ValidationError, match="Only a tenant"):
        services.tenant_provision(name="Deep", slug="deep", kind=TenantKind.SUB_TENANT, parent=acme_dev)
    with pytest.raises(ValidationError, match="Only a tenant"):
        services.tenant_provision(name="Top", slug="top", kind=TenantKind.SUB_TENANT, parent=provider)
    with pytest.raises(ValidationError, match="needs a parent"):
        services.tenant_provision(name="Orphan", slug="orphan", kind=TenantKind.SUB_TENANT)


def test_suspended_parent_cannot_get_new_sub_tenants(initech):
    with pytest.raises(ValidationError, match="suspended"):
        services.tenant_provision(name="Sub", slug="initech-sub", kind=TenantKind.SUB_TENANT, parent=initech)


def test_parent_quota_cannot_shrink_below_what_its_sub_tenants_hold(acme):
    with pytest.raises(ValidationError) as error:
        services.tenant_update(tenant=acme, quotas={"max_users": 5, "max_sub_tenants": 0})
    assert "already hold 10" in error.value.message_dict["max_users"][0]
    assert "already has 1 sub-tenants" in error.value.message_dict["max_sub_tenants"][0]


def test_sub_tenant_quota_raise_is_checked_against_the_parent(acme_dev):
    with pytest.raises(ValidationError) as error:
        services.tenant_update(tenant=acme_dev, quotas={"max_users": 101})
    assert "max_users" in error.value.message_dict
    updated = services.tenant_update(tenant=acme_dev, quotas={"max_users": 100})
    assert updated.max_users == 100


def _set_template_behind_accounts_migration():
    """Make the template look as if it was built before the accounts app's migrations existed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'tenant_template' "
            "AND (table_name LIKE 'accounts\\_%%' OR table_name LIKE 'token\\_blacklist\\_%%' "
            "OR table_name LIKE 'access\\_%%' OR table_name LIKE 'guardian\\_%%' "
            "OR table_name LIKE 'auditlog\\_%%' OR table_name LIKE 'audit\\_%%' OR table_name LIKE 'identity\\_%%')"
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'DROP TABLE IF EXISTS tenant_template."{table}" CASCADE')
        # These apps' migrations depend on the user model's, so a template this old lacks them too.
        cursor.execute(
            "DELETE FROM tenant_template.django_migrations "
            "WHERE app IN ('accounts', 'admin', 'token_blacklist', 'access', 'guardian', 'auditlog', 'audit', "
            "'identity')"
        )


def test_tenant_cloned_after_a_new_migration_has_its_columns():
    _set_template_behind_accounts_migration()
    schemas.template_forget()

    tenant = services.tenant_provision(name="Late", slug="late")

    assert {"email", "display_name", "is_staff"} <= table_columns(tenant.schema_name, "accounts_user")
    assert {"email", "display_name"} <= table_columns("tenant_template", "accounts_user")
    with schema_context(tenant.schema_name):
        from apps.accounts.models import User

        User.objects.create(email="works@late.test")
        assert User.objects.count() == 1


def test_template_holding_unknown_migrations_is_rebuilt():
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tenant_template.django_migrations (app, name, applied) "
            "VALUES ('accounts', '9999_removed_long_ago', now())"
        )
    changed = schemas.template_ensure(force=True)
    assert changed
    missing, stale = schemas.schema_migration_state("tenant_template")
    assert (missing, stale) == (set(), set())


# --- The spare pool -------------------------------------------------------------------------


def test_provisioning_renames_a_waiting_spare_instead_of_cloning():
    assert schemas.spares_refill(target=1) == 1
    spare = SpareSchema.objects.get()

    tenant = services.tenant_provision(name="Quick", slug="quick")

    assert not schema_exists(spare.schema_name)
    assert not SpareSchema.objects.exists()
    assert "email" in table_columns(tenant.schema_name, "accounts_user")
    assert applied_migrations(tenant.schema_name) == applied_migrations("tenant_template")


def test_spare_made_for_other_migrations_is_never_used_and_is_dropped_at_refill():
    schemas.spares_refill(target=1)
    old = SpareSchema.objects.get()
    SpareSchema.objects.filter(pk=old.pk).update(migrations_fingerprint="made-for-older-code")

    services.tenant_provision(name="Careful", slug="careful")
    assert schema_exists(old.schema_name)  # cloned instead

    assert schemas.spares_refill(target=2) == 2
    assert not schema_exists(old.schema_name)
    assert SpareSchema.objects.filter(migrations_fingerprint=schemas.migrations_fingerprint()).count() == 2


def test_refill_task_tops_the_pool_up_to_the_configured_size():
    from apps.tenancy.tasks import refill_spare_schemas

    with override_settings(NIMBUS_SPARE_SCHEMAS=2):
        assert refill_spare_schemas.apply().get() == 2
        assert refill_spare_schemas.apply().get() == 0
    assert all(schema_exists(name) for name in SpareSchema.objects.values_list("schema_name", flat=True))


def test_a_refill_finding_another_running_leaves_the_pool_to_it():
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [schemas.REFILL_LOCK_KEY])
        assert schemas.spares_refill(target=2) == 0
        assert not SpareSchema.objects.exists()
    finally:
        other.close()
    assert schemas.spares_refill(target=1) == 1


def test_provisioning_schedules_a_refill_after_commit_only_when_the_pool_is_on(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        services.tenant_provision(name="Off", slug="pool-off")
    assert "_refill_spares_later" not in [callback.__name__ for callback in callbacks]
    with override_settings(NIMBUS_SPARE_SCHEMAS=1), django_capture_on_commit_callbacks() as callbacks:
        services.tenant_provision(name="On", slug="pool-on")
    assert "_refill_spares_later" in [callback.__name__ for callback in callbacks]


def test_failed_provisioning_gives_its_spare_back():
    schemas.spares_refill(target=1)
    spare = SpareSchema.objects.get()
    register_seeder("test-broken", lambda *, tenant, options: 1 / 0)
    try:
        with pytest.raises(ZeroDivisionError):
            services.tenant_provision(name="Doomed", slug="doomed")
    finally:
        unregister_seeder("test-broken")
    assert schema_exists(spare.schema_name)
    assert SpareSchema.objects.filter(pk=spare.pk).exists()
