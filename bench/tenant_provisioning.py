"""Tenant provisioning: spare schema, clone, or migrate; first request; one connection; 1,000 tenants.

Measured in one run, against the bench database the runner prepared
(``python -m bench tenant_provisioning``). The baseline throughout is
django-tenants' default path: ``TenantMixin.create_schema`` with
``TENANT_CREATION_FAKES_MIGRATIONS`` off, which runs ``CREATE SCHEMA`` and
then ``migrate_schemas`` for that schema, applying every tenant migration.
To time it inside the very same service, ``services.tenant_provision`` runs
unchanged except that ``schemas.create_tenant_schema`` is swapped (for the
baseline only) for a call to the saved tenant's ``create_schema`` under
``override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False)``: the row,
domain, seeders, transaction and first request are identical, only the
schema step differs.

The three paths alternate, tenant by tenant, so that drift (catalog growth,
machine load) hits them alike; each provisioning runs on a fresh database
connection, as one request or task would. ``NIMBUS_SPARE_SCHEMAS`` stays 0
(the test settings), so provisioning enqueues no refill task (checked); the
pool is refilled explicitly, outside the timed region. Around each
provisioning the bench records what ``create_tenant_schema`` returned
('spare' or 'clone'), calls to ``schemas.clone_template`` (and the time
spent in them), real (not faked) migration applications, and for the spare
path that the waiting spare schema was renamed away; so each path is shown
to have done what it claims.

(a) ``provision_from_spare``: seconds per ``tenant_provision`` while a
    current spare waits (``spares_refill(target=1)`` before each one,
    untimed), against the baseline. Goal: ten times faster.
(b) ``clone_per_tenant``: the same with an empty pool, so the template is
    cloned on the spot; against the baseline. Goal: no slower than it.
(c) ``spare_refill_per_schema``: seconds per spare made by
    ``spares_refill(target=1)`` (the background cost of (a)), timed on a
    connection just opened; against the seconds django-tenants'
    ``create_schema`` takes in the baseline (the schema step alone, both
    make one ready schema). Goal: no slower than it.
(d) ``provision_to_first_response`` and ``first_request``: right after each
    spare provisioning, ``GET /`` on the new tenant's host with Django's test
    client (in process, no HTTP server): time from the start of provisioning
    to the response, and that first request alone. Baselines: the migrating
    path for the former, a second (warm) request to the same tenant for the
    latter. Goal: under one second. The clone path's figures are printed as
    context.
(e) ``clone_one_connection``: ``ONE_CONNECTION_TENANTS`` clone provisionings
    (fewer if ``ONE_CONNECTION_BUDGET_SECONDS`` runs out) in a row on one
    database connection (a worker with ``CONN_MAX_AGE`` provisioning a
    batch); the median of the last five against (b)'s median,
    each of which had a fresh connection. Cloning must not slow down as a
    session clones again and again. ``CONTROL_TENANTS`` fresh-connection
    clones right after (same, larger catalog) are printed, to tell a session
    slowing down from a database growing.
(f) ``readyz_1000_tenants`` and ``landing_1000_tenants``: median of
    ``REQUESTS`` ``/readyz`` requests (its one-second result cache cleared
    before each, so each runs the checks) and tenant landing pages (``GET /``
    on one tenant host, always the same tenant), first with the few tenants made
    above, then again after 1,000 more tenants were added. The 1,000 Tenant and
    Domain rows are bulk-created and only a sample gets a real schema, within a
    time budget; the output says how many.

``ratio`` is baseline / value (above 1: Nimbus is faster). Each figure is a
median; context lines (``# ...``) come first, the ``BENCH`` lines last.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

from django.conf import settings
from django.db import connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client, override_settings
from django.utils import timezone
from django_tenants.utils import schema_exists

from apps.core import health
from apps.tenancy import schemas, services
from apps.tenancy.context import provider_context
from apps.tenancy.models import Domain, SpareSchema, Tenant, TenantKind
from apps.tenancy.plans import PLANS
from apps.tenancy.selectors import provider_get

from ._report import Figure, median, note, report, timed

TOPIC = "tenant_provisioning"
TENANTS_PER_PATH = 15
ONE_CONNECTION_TENANTS = 30
# Clones can turn slow for a while (see give_schemas); cap (e) so the whole run stays within minutes.
ONE_CONNECTION_BUDGET_SECONDS = 60.0
CONTROL_TENANTS = 3
BULK_TENANTS = 1000
REQUESTS = 50
# Wall-clock budget for giving bulk-created tenants real schemas; the rest stay rows only.
SAMPLE_SCHEMA_BUDGET_SECONDS = 30.0
SAMPLE_SCHEMA_MAX = 200

SPARE_RATIO_GOAL = 10.0
# The on-the-spot clone and the background refill must be no slower than django-tenants' default.
CLONE_RATIO_GOAL = 1.0
FIRST_RESPONSE_GOAL_SECONDS = 1.0
# Repeating an operation, or having 1,000 tenants, may cost at most 25% more (ratio = baseline / value).
SCALE_RATIO_GOAL = 0.8

SPARE, CLONE, MIGRATE = "spare", "clone", "migrate"


@dataclass
class Batch:
    """What one series of provisionings (or refills) did: per-item timings and what ran underneath."""

    name: str
    provision: list[float] = field(default_factory=list)
    schema_step: list[float] = field(default_factory=list)
    first_response: list[float] = field(default_factory=list)
    first_request: list[float] = field(default_factory=list)
    warm_request: list[float] = field(default_factory=list)
    statuses: set[int] = field(default_factory=set)
    sources: Counter[str] = field(default_factory=Counter)
    clones: int = 0
    clone_seconds: float = 0.0
    migrations_run: int = 0
    spares_renamed: int = 0
    slugs: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.name}: {len(self.provision)} timed, median {median(self.provision):.3f}s "
            f"(schema step {median(self.schema_step):.3f}s); schema from {dict(self.sources) or '-'}; "
            f"{self.clones} template clones ({self.clone_seconds / max(self.clones, 1):.3f}s each inside "
            f"clone_template); {self.migrations_run} migrations really run; "
            f"{self.spares_renamed} spare schemas renamed away; statuses {sorted(self.statuses) or '-'}"
        )


def django_tenants_default(schema_name: str) -> str:
    """The baseline schema step: django-tenants' ``create_schema`` without a template to clone.

    With ``TENANT_CREATION_FAKES_MIGRATIONS`` off it runs ``CREATE SCHEMA``
    and ``migrate_schemas --tenant --schema=<name>``: every tenant migration.
    """
    with override_settings(TENANT_CREATION_FAKES_MIGRATIONS=False):
        Tenant.objects.get(schema_name=schema_name).create_schema(verbosity=0)
    return MIGRATE


@contextmanager
def instrumented(batch: Batch, create_schema: Callable[[str], str] | None = None) -> Iterator[None]:
    """Record how the schema was made, count and time template clones, count real migrations.

    ``create_schema`` replaces ``schemas.create_tenant_schema`` (the baseline);
    by default the real one runs, timed.
    """
    create = create_schema or schemas.create_tenant_schema
    clone = schemas.clone_template
    apply = MigrationExecutor.apply_migration

    def timed_create(schema_name: str) -> str:
        seconds, source = timed(lambda: create(schema_name))
        batch.schema_step.append(seconds)
        batch.sources[source] += 1
        return source

    def timed_clone(schema_name: str) -> None:
        seconds, _ = timed(lambda: clone(schema_name))
        batch.clones += 1
        batch.clone_seconds += seconds

    with (
        mock.patch.object(schemas, "create_tenant_schema", new=timed_create),
        mock.patch.object(schemas, "clone_template", new=timed_clone),
        mock.patch.object(MigrationExecutor, "apply_migration", autospec=True, side_effect=apply) as applies,
    ):
        yield
    batch.migrations_run += sum(1 for call in applies.call_args_list if not call.kwargs.get("fake"))


def host_for(slug: str) -> str:
    return services.default_domain_for(slug)


def get(client: Client, url: str = "/") -> tuple[float, int]:
    seconds, response = timed(lambda: client.get(url))
    return seconds, response.status_code


def waiting_spares() -> list[str]:
    with provider_context():
        return list(SpareSchema.objects.values_list("schema_name", flat=True))


def provision_and_request(batch: Batch, slug: str, *, path: str, fresh_connection: bool = True) -> None:
    """Provision ``slug`` by ``path``, then request its landing page twice (first, then warm)."""
    client = Client(HTTP_HOST=host_for(slug))
    baseline = django_tenants_default if path == MIGRATE else None
    spares_before = waiting_spares()
    if path == SPARE and not spares_before:
        raise RuntimeError("the spare path needs a waiting spare; refill the pool first")
    if path != SPARE and spares_before:
        raise RuntimeError(f"the {path} path needs an empty pool; {len(spares_before)} spares wait")
    if fresh_connection:
        # One provisioning per connection, as one request or task does; (e) measures the other case.
        connection.close()
    start = time.perf_counter()
    with instrumented(batch, baseline):
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
    batch.spares_renamed += sum(1 for name in spares_before if not schema_exists(name))


def refill_one(batch: Batch) -> None:
    """``spares_refill(target=1)`` from an empty pool, timed on a connection just opened (as a task's)."""
    connection.close()
    connection.ensure_connection()
    with instrumented(batch):
        seconds, made = timed(lambda: schemas.spares_refill(target=1))
    batch.provision.append(seconds / max(made, 1))
    batch.sources["made"] += made


def tenant_count() -> int:
    with provider_context():
        return Tenant.objects.exclude(kind=TenantKind.PROVIDER).count()


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
    """Median seconds of ``REQUESTS`` /readyz and tenant landing requests, after one warm-up each.

    /readyz reuses its result for a second; it is forgotten before each
    request, so every one runs the readiness checks.
    """
    statuses: set[int] = set()
    get(readyz_client, "/readyz")
    get(landing_client)
    readyz, landing = [], []
    for _ in range(REQUESTS):
        health.readiness_forget()
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
    # Provider context: Domain rows are guarded by row-level security (apps.tenancy.rls).
    with provider_context(), transaction.atomic():
        created = Tenant.objects.bulk_create(tenants, batch_size=500)
        Domain.objects.bulk_create(
            [Domain(domain=host_for(tenant.slug), tenant=tenant, is_primary=True) for tenant in created],
            batch_size=500,
        )
    return created


def give_schemas(tenants: list[Tenant], times: list[float]) -> list[Tenant]:
    """Clone the template into real schemas for as many of ``tenants`` as the time budget allows.

    ``schemas.clone_template`` is what provisioning runs on an empty pool: a
    copy of the template with its migration records. Each clone commits on
    its own (many in one transaction exhaust the lock table) and runs on a
    fresh connection: in one long session, once the catalog has grown, some
    clones were seen to take 8-13 s instead of 0.3 s (django-tenants' plpgsql
    clone function reusing cached generic plans; gone under
    ``plan_cache_mode = force_custom_plan``), which would eat the budget.
    """
    done: list[Tenant] = []
    deadline = time.perf_counter() + SAMPLE_SCHEMA_BUDGET_SECONDS
    # Spread the sample across the 1,000 rather than taking the first ones.
    step = max(len(tenants) // SAMPLE_SCHEMA_MAX, 1)
    for tenant in tenants[::step][:SAMPLE_SCHEMA_MAX]:
        if time.perf_counter() >= deadline:
            break
        connection.close()
        seconds, _ = timed(lambda: schemas.clone_template(tenant.schema_name))  # noqa: B023 - called at once
        times.append(seconds)
        done.append(tenant)
    connection.set_schema_to_public()
    return done


def three_paths() -> tuple[Batch, Batch, Batch, Batch]:
    """(a) to (d): spare, clone and migrate provisionings, alternating, plus the refills before the spares."""
    seconds, _ = timed(lambda: schemas.template_ensure(force=True))
    note(f"template schema checked in {seconds:.2f}s (untimed set-up; migrated once, when the runner migrated)")
    note(
        f"NIMBUS_SPARE_SCHEMAS={settings.NIMBUS_SPARE_SCHEMAS}: provisioning enqueues no refill; "
        "the pool is refilled explicitly, outside the timed region"
    )

    # Warm-up, one of each, not counted: the first provisioning in a process imports and loads the
    # migration graph, and the first clone in the database creates django-tenants' clone function.
    warm = {name: Batch(f"{name} warm-up") for name in ("refill", SPARE, CLONE, MIGRATE)}
    refill_one(warm["refill"])
    provision_and_request(warm[SPARE], "bench-warmup-spare", path=SPARE)
    provision_and_request(warm[CLONE], "bench-warmup-clone", path=CLONE)
    provision_and_request(warm[MIGRATE], "bench-warmup-migrate", path=MIGRATE)
    note(
        "warm-up (excluded): "
        + ", ".join(f"{name} {batch.provision[0]:.2f}s" for name, batch in warm.items())
        + " (refill: seconds per spare made)"
    )

    refill, spare, clone, migrate = Batch("refill"), Batch("spare path"), Batch("clone path"), Batch("migrate path")
    for i in range(TENANTS_PER_PATH):
        refill_one(refill)
        provision_and_request(spare, f"bench-spare-{i:02d}", path=SPARE)
        provision_and_request(clone, f"bench-clone-{i:02d}", path=CLONE)
        provision_and_request(migrate, f"bench-migrate-{i:02d}", path=MIGRATE)

    note(
        f"refill: {len(refill.provision)} spares_refill(target=1) calls made {refill.sources['made']} spares, "
        f"median {median(refill.provision):.3f}s per spare; {refill.clones} template clones "
        f"({refill.clone_seconds / max(refill.clones, 1):.3f}s each), {refill.migrations_run} migrations really run"
    )
    for batch in (spare, clone, migrate):
        note(batch.summary())
    note(
        f"clone path: provision to first response {median(clone.first_response):.3f}s, "
        f"first request {median(clone.first_request) * 1000:.1f}ms (warm {median(clone.warm_request) * 1000:.1f}ms)"
    )
    made = [services.schema_name_for(batch.slugs[0]) for batch in (spare, clone, migrate)]
    same = len({frozenset(tables_of(schema)) for schema in made}) == 1
    states = [schemas.schema_migration_state(schema) for schema in made]
    current = all(missing == set() and stale == set() for missing, stale in states)
    note(
        f"a spare-made, a cloned and a migrated tenant schema hold the same {len(tables_of(made[0]))} tables: "
        f"{same}; each records exactly the code's migrations: {current}"
    )
    return refill, spare, clone, migrate


def one_connection() -> Batch:
    """(e): clone provisionings in a row on one connection, as a worker provisioning a batch does."""
    batch = Batch("one connection")
    connection.close()
    before = backend_memory_mb()
    deadline = time.perf_counter() + ONE_CONNECTION_BUDGET_SECONDS
    for i in range(ONE_CONNECTION_TENANTS):
        if time.perf_counter() >= deadline:
            break
        provision_and_request(batch, f"bench-one-conn-{i:02d}", path=CLONE, fresh_connection=False)
    after = backend_memory_mb()
    times = ", ".join(f"{seconds:.2f}" for seconds in batch.provision)
    note(
        f"{len(batch.provision)} of {ONE_CONNECTION_TENANTS} clone provisionings on one connection "
        f"(budget {ONE_CONNECTION_BUDGET_SECONDS:g}s), seconds each: {times}"
    )
    note(
        f"one connection: first five median {median(batch.provision[:5]):.3f}s, "
        f"last five {median(batch.provision[-5:]):.3f}s; {batch.clones} template clones, "
        f"{batch.migrations_run} migrations really run"
    )
    if before is not None and after is not None:
        note(f"that connection's PostgreSQL backend grew from {before:.0f} MB to {after:.0f} MB resident")
    # Control: the same catalog, fresh sessions. Tells a session slowing down from a growing database.
    control = Batch("control")
    for i in range(CONTROL_TENANTS):
        provision_and_request(control, f"bench-control-{i:02d}", path=CLONE)
    note(
        f"control: {CONTROL_TENANTS} clone provisionings right after, each on a fresh connection: "
        + ", ".join(f"{seconds:.2f}" for seconds in control.provision)
    )
    return batch


def many_tenants(landing_slug: str) -> tuple[tuple[float, float], tuple[float, float], bool]:
    """(f): /readyz and one landing page with a few tenants, then with 1,000 more."""
    readyz_client = Client(HTTP_HOST=settings.NIMBUS_BASE_DOMAIN)
    landing_client = Client(HTTP_HOST=host_for(landing_slug))
    connection.close()
    few = tenant_count()
    readyz_few, landing_few, statuses_few = request_medians(readyz_client, landing_client)
    note(f"with {few} tenants: readyz {readyz_few * 1000:.1f}ms, landing {landing_few * 1000:.1f}ms (baseline)")

    seconds, bulk = timed(lambda: bulk_create_tenants(BULK_TENANTS))
    note(f"bulk-inserted {len(bulk)} Tenant + Domain rows in {seconds:.2f}s (benchmark fixture, not provisioning)")
    clone_times: list[float] = []
    seconds, sampled = timed(lambda: give_schemas(bulk, clone_times))
    note(
        f"cloned real schemas for a sample of {len(sampled)} of those {len(bulk)} tenants in {seconds:.1f}s "
        f"({seconds / max(len(sampled), 1):.2f}s each, a fresh connection each); "
        f"the other {len(bulk) - len(sampled)} are rows only; seconds each: "
        + ", ".join(f"{t:.2f}" for t in clone_times)
    )
    # Each sampled tenant answers once: the clones really serve, and this connection roams many
    # schemas the way a long-lived worker's does before the measurement.
    connection.close()
    sampled_statuses = {get(Client(HTTP_HOST=host_for(tenant.slug)))[1] for tenant in sampled}
    many = tenant_count()
    note(
        f"each sampled tenant answered GET / (statuses {sorted(sampled_statuses)}); "
        f"{len(tenant_schemas())} tenant schemas exist"
    )
    readyz_many, landing_many, statuses_many = request_medians(readyz_client, landing_client)
    note(f"with {many} tenants: readyz {readyz_many * 1000:.1f}ms, landing {landing_many * 1000:.1f}ms")
    ok = statuses_few == {200} and statuses_many == {200} and sampled_statuses <= {200}
    return (readyz_many, readyz_few), (landing_many, landing_few), ok


def main() -> None:
    # Belt and braces: with a pool size above 0 provisioning would enqueue a refill task after commit.
    with (
        override_settings(NIMBUS_SPARE_SCHEMAS=0),
        mock.patch.object(services, "_refill_spares_later") as enqueued,
    ):
        refill, spare, clone, migrate = three_paths()
        batch = one_connection()
        readyz, landing, scale_ok = many_tenants(spare.slugs[0])
    note(f"refill tasks enqueued by provisioning: {enqueued.call_count}; spares left waiting: {len(waiting_spares())}")

    n = TENANTS_PER_PATH
    ok = spare.statuses == clone.statuses == migrate.statuses == {200}
    # Every path must really have taken its own road for the ratios to mean anything.
    spare_ok = spare.sources == {SPARE: n} and spare.spares_renamed == n and not spare.clones
    spare_ok = spare_ok and not spare.migrations_run
    clone_ok = clone.sources == {CLONE: n} and clone.clones == n and not clone.migrations_run
    migrate_ok = migrate.sources == {MIGRATE: n} and not migrate.clones and migrate.migrations_run > 0
    refill_ok = refill.sources == {"made": n} and refill.clones == n and not refill.migrations_run
    one_conn_ok = batch.statuses == {200} and batch.clones == len(batch.slugs) >= 10 and not batch.migrations_run
    note(
        f"paths verified: spare {spare_ok}, clone {clone_ok}, migrate {migrate_ok}, refill {refill_ok}, "
        f"one connection {one_conn_ok}; all responses 200: {ok}"
    )

    spare_s, clone_s, migrate_s = median(spare.provision), median(clone.provision), median(migrate.provision)
    refill_s, migrate_schema_s = median(refill.provision), median(migrate.schema_step)
    first_response, first_request = median(spare.first_response), median(spare.first_request)
    one_conn_s = median(batch.provision[-5:])
    report(
        [
            Figure(
                TOPIC,
                "provision_from_spare",
                value=spare_s,
                baseline=migrate_s,
                unit="s",
                goal=f"ratio>={SPARE_RATIO_GOAL:g}",
                met=migrate_s / spare_s >= SPARE_RATIO_GOAL and spare_ok and migrate_ok and ok,
            ),
            Figure(
                TOPIC,
                "clone_per_tenant",
                value=clone_s,
                baseline=migrate_s,
                unit="s",
                goal=f"ratio>={CLONE_RATIO_GOAL:g}",
                met=migrate_s / clone_s >= CLONE_RATIO_GOAL and clone_ok and migrate_ok and ok,
            ),
            Figure(
                TOPIC,
                "spare_refill_per_schema",
                value=refill_s,
                baseline=migrate_schema_s,
                unit="s",
                goal=f"ratio>={CLONE_RATIO_GOAL:g}",
                met=migrate_schema_s / refill_s >= CLONE_RATIO_GOAL and refill_ok and migrate_ok,
            ),
            Figure(
                TOPIC,
                "provision_to_first_response",
                value=first_response,
                baseline=median(migrate.first_response),
                unit="s",
                goal=f"value<{FIRST_RESPONSE_GOAL_SECONDS:g}s",
                met=first_response < FIRST_RESPONSE_GOAL_SECONDS and spare_ok and ok,
            ),
            Figure(
                TOPIC,
                "first_request",
                value=first_request * 1000,
                baseline=median(spare.warm_request) * 1000,
                unit="ms",
                goal=f"value<{FIRST_RESPONSE_GOAL_SECONDS * 1000:g}ms",
                met=first_request < FIRST_RESPONSE_GOAL_SECONDS and spare_ok and ok,
            ),
            Figure(
                TOPIC,
                "clone_one_connection",
                value=one_conn_s,
                baseline=clone_s,
                unit="s",
                goal=f"ratio>={SCALE_RATIO_GOAL:g}",
                met=clone_s / one_conn_s >= SCALE_RATIO_GOAL and one_conn_ok,
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
