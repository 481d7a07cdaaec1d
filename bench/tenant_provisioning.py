"""Tenant provisioning: cloning the template vs migrating, first request, one connection, 1,000 tenants.

Measured in one run, against the bench database the runner prepared
(``python -m bench tenant_provisioning``):

(a) ``clone_per_tenant``: seconds per ``services.tenant_provision`` when the
    schema is cloned from the migrated template ``tenant_template`` (Nimbus's
    path), against django-tenants' default path, which creates an empty
    schema and runs every tenant migration. The baseline is the very same
    service under ``override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False)``
    (django-tenants reads that setting when ``create_schema`` runs). The two
    paths alternate, tenant by tenant, each provisioning on a fresh database
    connection, as one request or task would. Calls to
    ``CloneSchema.clone_schema`` (and the time spent in them) and real, not
    faked, migration applications are counted per path, to show that each
    path did what it claims.
(b) ``provision_to_first_response`` and ``first_request``: right after each
    provisioning above, ``GET /`` on the new tenant's host with Django's test
    client (in process, no HTTP server): time from the start of provisioning
    to the response, and that first request alone. Baselines: the migrating
    path for the former, a second (warm) request to the same tenant for the
    latter. Goal: under one second.
(c) ``clone_one_connection``: ``ONE_CONNECTION_TENANTS`` clone provisionings
    in a row on one database connection (a worker with ``CONN_MAX_AGE``
    provisioning a batch); the median of the last five against (a)'s median.
(d) ``readyz_1000_tenants`` and ``landing_1000_tenants``: median of
    ``REQUESTS`` ``/readyz`` requests and tenant landing pages (``GET /`` on one
    tenant host, always the same tenant), first with the few tenants made
    above, then again after 1,000 more tenants were added. The 1,000 Tenant and
    Domain rows are bulk-created and only a sample gets a real schema, within a
    time budget; the output says how many.

``ratio`` is baseline / value (above 1: Nimbus is faster). Each figure is a
median; context lines (``# ...``) come first, the ``BENCH`` lines last.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.clone import CloneSchema
from django_tenants.utils import get_public_schema_name, schema_context

from apps.tenancy import services
from apps.tenancy.models import Domain, Tenant, TenantKind
from apps.tenancy.plans import PLANS
from apps.tenancy.selectors import provider_get

from ._report import Figure, median, note, report, timed

TOPIC = "tenant_provisioning"
TENANTS_PER_PATH = 15
ONE_CONNECTION_TENANTS = 30
BULK_TENANTS = 1000
REQUESTS = 50
# Wall-clock budget for giving bulk-created tenants real schemas; the rest stay rows only.
SAMPLE_SCHEMA_BUDGET_SECONDS = 30.0
SAMPLE_SCHEMA_MAX = 200

CLONE_RATIO_GOAL = 10.0
FIRST_RESPONSE_GOAL_SECONDS = 1.0
# Repeating an operation, or having 1,000 tenants, may cost at most 25% more (ratio = baseline / value).
SCALE_RATIO_GOAL = 0.8


@dataclass
class Batch:
    """What one series of provisionings did: per-tenant timings and what ran underneath."""

    name: str
    provision: list[float] = field(default_factory=list)
    first_response: list[float] = field(default_factory=list)
    first_request: list[float] = field(default_factory=list)
    warm_request: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    clones: int = 0
    clone_seconds: float = 0.0
    migrations_run: int = 0
    slugs: list[str] = field(default_factory=list)


@contextmanager
def instrumented(batch: Batch) -> Iterator[None]:
    """Count and time schema clones, and count real migration applications, while provisioning."""
    clone = CloneSchema.clone_schema
    apply = MigrationExecutor.apply_migration

    def timed_clone(*args, **kwargs):
        seconds, result = timed(lambda: clone(*args, **kwargs))
        batch.clone_seconds += seconds
        return result

    with (
        mock.patch.object(CloneSchema, "clone_schema", autospec=True, side_effect=timed_clone) as clones,
        mock.patch.object(MigrationExecutor, "apply_migration", autospec=True, side_effect=apply) as applies,
    ):
        yield
    batch.clones += clones.call_count
    batch.migrations_run += sum(1 for call in applies.call_args_list if not call.kwargs.get("fake"))


def host_for(slug: str) -> str:
    return services.default_domain_for(slug)


def get(client: Client, url: str = "/") -> tuple[float, int]:
    seconds, response = timed(lambda: client.get(url))
    return seconds, response.status_code


def provision_and_request(batch: Batch, slug: str, *, migrate: bool, fresh_connection: bool = True) -> None:
    """Provision ``slug``, then request its landing page twice (first, then warm)."""
    # The baseline: django-tenants falls back to CREATE SCHEMA + every migration when this is off.
    switch = override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False) if migrate else nullcontext()
    client = Client(HTTP_HOST=host_for(slug))
    if fresh_connection:
        # One provisioning per connection, as one request or task does: a session that clones
        # again and again slows down with every clone, which (c) measures on its own.
        connection.close()
    start = time.perf_counter()
    with switch, instrumented(batch):
        services.tenant_provision(name=f"Bench {slug}", slug=slug)
    provisioned = time.perf_counter()
    first, status = get(client)
    answered = time.perf_counter()
    warm, warm_status = get(client)
    batch.provision.append(provisioned - start)
    batch.first_request.append(first)
    batch.first_response.append(answered - start)
    batch.warm_request.append(warm)
    batch.statuses.update({status, warm_status})
    batch.slugs.append(slug)


def tables_of(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def tenant_schemas() -> list[str]:
    """Tenant schemas that really exist (``t_`` prefix, see ``services.schema_name_for``)."""
    with connection.cursor() as cursor:
        cursor.execute(r"SELECT nspname FROM pg_namespace WHERE nspname LIKE 't\_%'")
        return [row[0] for row in cursor.fetchall()]


def backend_memory_mb() -> float | None:
    """Resident memory of this connection's PostgreSQL backend, when the server runs on this machine."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def request_medians(readyz_client: Client, landing_client: Client) -> tuple[float, float, set[int]]:
    """Median seconds of ``REQUESTS`` /readyz and tenant landing requests, after one warm-up each."""
    statuses: set[int] = set()
    get(readyz_client, "/readyz")
    get(landing_client)
    readyz, landing = [], []
    for _ in range(REQUESTS):
        seconds, status = get(readyz_client, "/readyz")
        readyz.append(seconds)
        statuses.add(status)
        seconds, status = get(landing_client)
        landing.append(seconds)
        statuses.add(status)
    return median(readyz), median(landing), statuses


def bulk_create_tenants(count: int) -> list[Tenant]:
    """Benchmark fixture, not application code: ``count`` Tenant and Domain rows, bulk-inserted.

    Provisioning them through the service would clone ``count`` schemas
    (~0.3 s each), far beyond the benchmark's budget; the routing and
    readiness paths measured here read only these rows. Real schemas come
    afterwards, for a sample (``give_schemas``).
    """
    provider = provider_get()
    plan = PLANS["standard"]
    now = timezone.now()
    tenants = [
        Tenant(
            name=f"Bulk {i:04d}",
            slug=f"bulk-{i:04d}",
            kind=TenantKind.TENANT,
            parent=provider,
            plan=plan.name,
            schema_name=services.schema_name_for(f"bulk-{i:04d}"),
            status_changed_at=now,
            **plan.quotas(),
        )
        for i in range(count)
    ]
    with schema_context(get_public_schema_name()), transaction.atomic():
        created = Tenant.objects.bulk_create(tenants, batch_size=500)
        Domain.objects.bulk_create(
            [Domain(domain=host_for(tenant.slug), tenant=tenant, is_primary=True) for tenant in created],
            batch_size=500,
        )
    return created


def give_schemas(tenants: list[Tenant]) -> list[Tenant]:
    """Clone the template into real schemas for as many of ``tenants`` as the time budget allows.

    ``CloneSchema`` copies the template with its data, so a clone already
    records every migration; this skips only the faked ``migrate_schemas``
    that ``Tenant.create_schema`` adds, to fit more schemas in the budget.
    Each clone runs in its own transaction (many in one exhaust the lock
    table) and on its own connection (one session cloning again and again
    slows down, see (c)).
    """
    template = settings.TENANT_BASE_SCHEMA
    cloner = CloneSchema()
    done: list[Tenant] = []
    deadline = time.perf_counter() + SAMPLE_SCHEMA_BUDGET_SECONDS
    # Spread the sample across the 1,000 rather than taking the first ones.
    step = max(len(tenants) // SAMPLE_SCHEMA_MAX, 1)
    for tenant in tenants[::step][:SAMPLE_SCHEMA_MAX]:
        if time.perf_counter() >= deadline:
            break
        connection.close()
        cloner.clone_schema(template, tenant.schema_name)
        done.append(tenant)
    connection.set_schema_to_public()
    return done


def clone_versus_migrate() -> tuple[Batch, Batch]:
    """(a) and (b): the two provisioning paths, alternating, each followed by its first request."""
    seconds, _ = timed(lambda: services.tenant_template_ensure(force=True))
    note(f"template schema migrated in {seconds:.2f}s (untimed set-up, once per database)")

    # Warm-up, one tenant per path, not counted: the first provisioning in a process imports and
    # loads the migration graph, and the first clone compiles django-tenants' large plpgsql clone
    # function (about a second on some machines).
    warm_clone, warm_migrate = Batch("clone warm-up"), Batch("migrate warm-up")
    provision_and_request(warm_clone, "bench-warmup-clone", migrate=False)
    provision_and_request(warm_migrate, "bench-warmup-migrate", migrate=True)
    note(
        f"warm-up (excluded): first clone provisioning {warm_clone.provision[0]:.2f}s, "
        f"first migrating provisioning {warm_migrate.provision[0]:.2f}s"
    )

    clone, migrate = Batch("clone"), Batch("migrate")
    # Alternate the two paths so that any drift (catalog growth, machine load) hits both alike.
    for i in range(TENANTS_PER_PATH):
        provision_and_request(clone, f"bench-clone-{i:02d}", migrate=False)
        provision_and_request(migrate, f"bench-migrate-{i:02d}", migrate=True)

    for batch in (clone, migrate):
        note(
            f"{batch.name} path: {len(batch.slugs)} tenants, median {median(batch.provision):.3f}s, "
            f"{batch.clones} schema clones ({batch.clone_seconds / max(batch.clones, 1):.3f}s each inside "
            f"clone_schema), {batch.migrations_run} migrations really run, statuses {sorted(batch.statuses)}"
        )
    same = tables_of(services.schema_name_for(clone.slugs[0])) == tables_of(services.schema_name_for(migrate.slugs[0]))
    note(f"a cloned and a migrated tenant schema hold the same tables: {same}")
    return clone, migrate


def one_connection() -> Batch:
    """(c): clone provisionings in a row on one connection, as a worker provisioning a batch does."""
    batch = Batch("one connection")
    connection.close()
    before = backend_memory_mb()
    for i in range(ONE_CONNECTION_TENANTS):
        provision_and_request(batch, f"bench-one-conn-{i:02d}", migrate=False, fresh_connection=False)
    after = backend_memory_mb()
    times = ", ".join(f"{seconds:.2f}" for seconds in batch.provision)
    note(f"{ONE_CONNECTION_TENANTS} clone provisionings on one connection, seconds each: {times}")
    if before is not None and after is not None:
        note(f"that connection's PostgreSQL backend grew from {before:.0f} MB to {after:.0f} MB resident")
    return batch


def many_tenants(landing_slug: str) -> tuple[tuple[float, float], tuple[float, float], bool]:
    """(d): /readyz and one landing page with a few tenants, then with 1,000 more."""
    readyz_client = Client(HTTP_HOST=settings.NIMBUS_BASE_DOMAIN)
    landing_client = Client(HTTP_HOST=host_for(landing_slug))
    connection.close()
    few = Tenant.objects.exclude(kind=TenantKind.PROVIDER).count()
    readyz_few, landing_few, statuses_few = request_medians(readyz_client, landing_client)
    note(f"with {few} tenants: readyz {readyz_few * 1000:.1f}ms, landing {landing_few * 1000:.1f}ms (baseline)")

    seconds, bulk = timed(lambda: bulk_create_tenants(BULK_TENANTS))
    note(f"bulk-inserted {len(bulk)} Tenant + Domain rows in {seconds:.2f}s (benchmark fixture, not provisioning)")
    seconds, sampled = timed(lambda: give_schemas(bulk))
    note(
        f"cloned real schemas for a sample of {len(sampled)} of those {len(bulk)} tenants in {seconds:.1f}s "
        f"({seconds / max(len(sampled), 1):.2f}s each); the other {len(bulk) - len(sampled)} are rows only"
    )
    # Each sampled tenant answers once: the clones really serve, and this connection roams many
    # schemas the way a long-lived worker's does before the measurement.
    connection.close()
    sampled_statuses = {get(Client(HTTP_HOST=host_for(tenant.slug)))[1] for tenant in sampled}
    many = Tenant.objects.exclude(kind=TenantKind.PROVIDER).count()
    note(
        f"each sampled tenant answered GET / (statuses {sorted(sampled_statuses)}); "
        f"{len(tenant_schemas())} tenant schemas exist"
    )
    readyz_many, landing_many, statuses_many = request_medians(readyz_client, landing_client)
    note(f"with {many} tenants: readyz {readyz_many * 1000:.1f}ms, landing {landing_many * 1000:.1f}ms")
    ok = statuses_few == {200} and statuses_many == {200} and sampled_statuses <= {200}
    return (readyz_many, readyz_few), (landing_many, landing_few), ok


def main() -> None:
    clone, migrate = clone_versus_migrate()
    batch = one_connection()
    readyz, landing, scale_ok = many_tenants(clone.slugs[0])

    ok = clone.statuses == {200} and migrate.statuses == {200}
    clone_s, migrate_s = median(clone.provision), median(migrate.provision)
    first_response, first_request = median(clone.first_response), median(clone.first_request)
    # Both paths must really have taken their own road for the ratio to mean anything.
    paths_ok = clone.clones == len(clone.slugs) and migrate.clones == 0 and migrate.migrations_run > 0
    one_conn_s = median(batch.provision[-5:])
    report(
        [
            Figure(
                TOPIC,
                "clone_per_tenant",
                value=clone_s,
                baseline=migrate_s,
                unit="s",
                goal=f"ratio>={CLONE_RATIO_GOAL:g}",
                met=migrate_s / clone_s >= CLONE_RATIO_GOAL and paths_ok,
            ),
            Figure(
                TOPIC,
                "provision_to_first_response",
                value=first_response,
                baseline=median(migrate.first_response),
                unit="s",
                goal=f"value<{FIRST_RESPONSE_GOAL_SECONDS:g}s",
                met=first_response < FIRST_RESPONSE_GOAL_SECONDS and ok,
            ),
            Figure(
                TOPIC,
                "first_request",
                value=first_request * 1000,
                baseline=median(clone.warm_request) * 1000,
                unit="ms",
                goal=f"value<{FIRST_RESPONSE_GOAL_SECONDS * 1000:g}ms",
                met=first_request < FIRST_RESPONSE_GOAL_SECONDS and ok,
            ),
            Figure(
                TOPIC,
                "clone_one_connection",
                value=one_conn_s,
                baseline=clone_s,
                unit="s",
                goal=f"ratio>={SCALE_RATIO_GOAL:g}",
                met=clone_s / one_conn_s >= SCALE_RATIO_GOAL and batch.statuses == {200},
            ),
            *(
                Figure(
                    TOPIC,
                    name,
                    value=value * 1000,
                    baseline=baseline * 1000,
                    unit="ms",
                    goal=f"ratio>={SCALE_RATIO_GOAL:g}",
                    met=baseline / value >= SCALE_RATIO_GOAL and scale_ok,
                )
                for name, (value, baseline) in (("readyz_1000_tenants", readyz), ("landing_1000_tenants", landing))
            ),
        ]
    )
