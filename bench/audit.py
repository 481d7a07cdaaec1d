"""Audit trail: the cost of auditing a write, ingest with sealing, verification and queries over 1,000,000 events.

Measured in one run, against the bench database the runner prepared
(``python -m bench audit``). Two tenants are provisioned through
``tenant_provision``: ``benchaudit`` (everything Nimbus does) and
``benchauditnaive`` (the naive baseline of (b), so its events never mix with
the real chain). In ``benchaudit`` a tenant administrator is created, the
actor of every request and event.

(a) ``PATCH /api/v1/users/<id>/`` (a new display name each time) by the tenant
    administrator, signed in by session, with Django's test client in this
    process (see bench/auth.py for why not over HTTP). Audited, one request
    writes three events (``accounts:user:update`` from the service, the
    django-auditlog model change, and the middleware's ``http:request``) and
    django-auditlog's own ``LogEntry``. Auditing off is the very same request
    with ``recorder.record`` swapped for a function that writes nothing (in
    every module that imported it, this process only) and django-auditlog
    disabled (``disable_auditlog``). The two kinds are interleaved so that
    drift hits them alike. Figure ``api_write_ms``: p50 audited, baseline p50
    not audited. Goal: audited at most 1.15 times the unaudited p50.
(b) Sustained ingest into one tenant's chain: ``WRITERS`` threads, each with
    its own connection, write transactions of ``EVENTS_PER_TRANSACTION``
    events for ``INGEST_SECONDS`` (each event made by ``recorder.build``, as
    ``record`` makes it, redaction included; the transaction's events in one
    multi-row INSERT, standing for many app servers' requests at once: one
    Python process cannot call ``record`` 10,000 times a second, and the
    single-thread rate of ``record`` is printed as context), while one
    sealer thread runs ``services.seal_pending`` in a loop, as the Temporal
    schedule would (but without its pause). The figure is the time per event
    from the first write until the last one is sealed (the sealer's lag at
    the end included), in microseconds per event (so ``ratio`` is baseline /
    value like everywhere: above 1 is faster). The baseline, measured the
    same way right after in ``benchauditnaive``: the same writers, but each
    event locks a one-row chain head (``SELECT ... FOR UPDATE``), is chained
    onto it (the same ``services.link``), inserted sealed, and moves the head:
    the synchronous per-event chain that ``seal_pending`` replaces. Goal: at
    least 10,000 events/s (100 µs per event).
(c) ``services.verify_chain()`` over the whole chain of ``benchaudit`` (the
    events of (a), (b) and the 1,000,000 below, all sealed by
    ``seal_pending``): microseconds per event. Baseline: the same rows'
    hashes recomputed by the pre-optimisation way of walking them (model
    instances from ``QuerySet.iterator``, ``services.link`` on each), over the
    first ``BASELINE_VERIFY_SAMPLE`` events. Goal:
    at least 100,000 events/s (10 µs per event).
(d) 1,000,000 events are bulk-loaded into ``benchaudit`` by one ``INSERT ...
    SELECT`` over ``generate_series`` (seeded ``random()``: 200 actors, 40 actions, 8 resource types, 2,000 resources,
    500 addresses, outcomes 90/7/3 %, over 90 days), then sealed with the real
    ``services.seal_pending`` (timed, reported as context). Then
    ``GET /api/v1/audit/events/`` with each explorer filter (actor, action
    prefix, resource, outcome, address, request id, a one-day window, and
    combinations) and with full-text ``q`` (an actor, a resource word, a
    rare word, two words), each ``QUERY_REPEATS`` times. Figures
    ``filter_p95_ms`` and ``search_p95_ms``: p95 over their mix; baseline
    the p95 of the unfiltered first page. Goal: under 200 ms.
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from auditlog.context import disable_auditlog
from django.db import connection, connections, transaction
from django.test import Client, override_settings
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.audit import recorder, services
from apps.audit.models import AuditEvent
from apps.tenancy import services as tenancy_services

from ._report import Figure, note, report

TOPIC = "audit"
SLUG = "benchaudit"
NAIVE_SLUG = "benchauditnaive"
ADMIN_EMAIL = f"admin@{SLUG}.localhost"
SEED = 20251130

WRITE_REQUESTS = int(os.environ.get("BENCH_AUDIT_REQUESTS", 300))
WRITE_WARMUP = 30
WRITE_BUDGET_SECONDS = 60.0
GOAL_WRITE_RATIO = 1.15

WRITERS = 4
EVENTS_PER_TRANSACTION = 20
INGEST_SECONDS = float(os.environ.get("BENCH_AUDIT_INGEST_SECONDS", 10))
SEAL_BATCH = 5000
GOAL_INGEST_PER_SECOND = 10_000

EVENTS = int(os.environ.get("BENCH_AUDIT_EVENTS", 1_000_000))
GOAL_VERIFY_PER_SECOND = 100_000
BASELINE_VERIFY_SAMPLE = 100_000

QUERY_REPEATS = 20
GOAL_QUERY_P95_MS = 200.0


# --- Set-up ----------------------------------------------------------------------------------------


def set_up() -> tuple[str, str, User]:
    start = time.perf_counter()
    tenant = tenancy_services.tenant_provision(name="Bench Audit", slug=SLUG)
    naive = tenancy_services.tenant_provision(name="Bench Audit Naive", slug=NAIVE_SLUG)
    with schema_context(tenant.schema_name):
        admin = user_create(email=ADMIN_EMAIL, password=None, display_name="Bench Admin", is_tenant_admin=True)
    note(
        f"set-up (untimed): tenants {SLUG!r} and {NAIVE_SLUG!r} provisioned, an administrator created, "
        f"in {time.perf_counter() - start:.2f}s"
    )
    return tenant.schema_name, naive.schema_name, admin


@contextmanager
def quiet_request_log() -> Iterator[None]:
    request_logger = logging.getLogger("django.request")
    level = request_logger.level
    request_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        request_logger.setLevel(level)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


# --- (a) An audited API write ----------------------------------------------------------------------


def _no_record(action, **kwargs):
    return None


@contextmanager
def auditing_off() -> Iterator[None]:
    """``recorder.record`` writes nothing (in every module that imported it) and django-auditlog is disabled."""
    real = recorder.record
    holders = [module for module in list(sys.modules.values()) if getattr(module, "record", None) is real]
    for module in holders:
        module.record = _no_record
    try:
        with disable_auditlog():
            yield
    finally:
        for module in holders:
            module.record = real


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    """The SQL statements run on this thread's connection meanwhile (CaptureQueriesContext loses those of a
    request made with the test client: Django empties the query log when a request starts)."""
    seen: list[str] = []

    def wrapper(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield seen


def api_write(schema: str, admin: User) -> tuple[list[float], list[float], bool, str]:
    host = tenancy_services.default_domain_for(SLUG)
    client = Client(HTTP_HOST=host)
    with schema_context(schema):
        client.force_login(admin)
        target = user_create(email=f"target@{SLUG}.localhost", password=None, display_name="Target")
    connection.set_schema_to_public()
    url = f"/api/v1/users/{target.pk}/"
    audited, unaudited, statuses = [], [], set()
    counter = iter(range(10**9))

    def patch(times: list[float] | None, off: bool) -> None:
        body = json.dumps({"display_name": f"Target {next(counter)}"})
        start = time.perf_counter()
        if off:
            with auditing_off():
                response = client.patch(url, body, content_type="application/json")
        else:
            response = client.patch(url, body, content_type="application/json")
        elapsed = time.perf_counter() - start
        statuses.add(response.status_code)
        if times is not None:
            times.append(elapsed)

    def events() -> int:
        with schema_context(schema):
            return AuditEvent.objects.count()

    with quiet_request_log(), override_settings(NIMBUS_ROUTING_CACHE_SECONDS=60):
        for _ in range(WRITE_WARMUP):
            patch(None, False)
            patch(None, True)
        before = events()
        patch(None, True)
        written_off = events() - before
        with counting_queries() as on_queries:
            patch(None, False)
        written_on = events() - before - written_off
        with counting_queries() as off_queries:
            patch(None, True)
        gc.collect()
        deadline = time.perf_counter() + WRITE_BUDGET_SECONDS
        for _ in range(WRITE_REQUESTS):
            patch(audited, False)
            patch(unaudited, True)
            if time.perf_counter() >= deadline:
                break
    ok = statuses == {200} and written_on >= 3 and written_off == 0
    note("(a) statements of an audited request: " + " | ".join(" ".join(sql.split()[:4]) for sql in on_queries))
    context = (
        f"(a) PATCH {url} x{len(audited)} each way, interleaved: events per request audited {written_on}, "
        f"not audited {written_off}; queries per request audited {len(on_queries)}, not audited "
        f"{len(off_queries)}; statuses {sorted(statuses)}"
    )
    return audited, unaudited, ok, context


# --- (b) Sustained ingest ----------------------------------------------------------------------------


def _writer(schema: str, stop: threading.Event, counts: list[int], slot: int, write) -> None:
    rng = random.Random(SEED + slot)
    try:
        with schema_context(schema):
            while not stop.is_set():
                with transaction.atomic():
                    write(rng)
                counts[slot] += EVENTS_PER_TRANSACTION
    finally:
        connections.close_all()


def _ingest_event_kwargs(rng: random.Random) -> dict:
    n = rng.randrange(1000)
    return {
        "resource_type": "accounts:user",
        "resource_id": n,
        "resource_display": f"user{n:04d}@{SLUG}.localhost",
        "changes": {"display_name": [f"Name {n}", f"Name {n + 1}"]},
        "metadata": {"method": "PATCH", "path": f"/api/v1/users/{n}/", "status": 200, "latency_ms": 4.2},
    }


RECORD_SAMPLE = 500


def record_rate(schema: str, admin: User) -> str:
    """Context for (b): ``recorder.record`` one event at a time, one thread, alone and all in one transaction."""
    rng = random.Random(SEED)
    parts = []
    with schema_context(schema):
        for label, atomic in (("a transaction each", False), ("all in one transaction", True)):
            wall, cpu = time.perf_counter(), time.thread_time()
            with transaction.atomic() if atomic else contextlib.nullcontext():
                for _ in range(RECORD_SAMPLE):
                    recorder.record("accounts:user:update", actor=admin, **_ingest_event_kwargs(rng))
            wall, cpu = time.perf_counter() - wall, time.thread_time() - cpu
            parts.append(
                f"{label} {RECORD_SAMPLE / wall:,.0f}/s ({wall / RECORD_SAMPLE * 1e6:.0f}us wall, "
                f"{cpu / RECORD_SAMPLE * 1e6:.0f}us of this thread's CPU per event)"
            )
    return f"(b) recorder.record, one thread, {RECORD_SAMPLE} events: " + "; ".join(parts)


def ingest_nimbus(schema: str, admin: User) -> tuple[float, int, str]:
    """Writers record unsealed events while one sealer seals: (seconds until all sealed, events, context)."""

    def write(rng: random.Random) -> None:
        events = [
            recorder.build("accounts:user:update", actor=admin, **_ingest_event_kwargs(rng))
            for _ in range(EVENTS_PER_TRANSACTION)
        ]
        AuditEvent.objects.bulk_create(events)

    with schema_context(schema):
        services.seal_pending(limit=10**9)
        head = AuditEvent.objects.filter(seq__isnull=False).order_by("-seq").values_list("seq", flat=True).first()
    stop, done_writing = threading.Event(), threading.Event()
    counts = [0] * WRITERS
    sealed = [0]
    max_backlog = [0]

    def sealer() -> None:
        try:
            with schema_context(schema):
                while True:
                    n = services.seal_pending(limit=SEAL_BATCH)
                    sealed[0] += n
                    if n == 0:
                        if done_writing.is_set() and services.seal_pending(limit=SEAL_BATCH) == 0:
                            return
                        time.sleep(0.01)
                    max_backlog[0] = max(max_backlog[0], sum(counts) - sealed[0])
        finally:
            connections.close_all()

    threads = [threading.Thread(target=_writer, args=(schema, stop, counts, i, write)) for i in range(WRITERS)]
    seal_thread = threading.Thread(target=sealer)
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    seal_thread.start()
    time.sleep(INGEST_SECONDS)
    stop.set()
    for thread in threads:
        thread.join()
    writing = time.perf_counter() - start
    done_writing.set()
    seal_thread.join()
    elapsed = time.perf_counter() - start
    total = sum(counts)
    with schema_context(schema):
        unsealed = AuditEvent.objects.filter(seq__isnull=True).count()
        last = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first()
    context = (
        f"(b) Nimbus: {WRITERS} writers, {EVENTS_PER_TRANSACTION} events per transaction, {total} events in "
        f"{writing:.1f}s of writing ({total / writing:,.0f}/s written); all sealed {elapsed - writing:.2f}s after "
        f"the writers stopped ({total / elapsed:,.0f}/s written and sealed); largest backlog seen "
        f"{max_backlog[0]}; unsealed at the end {unsealed}; chain grew from {head or 0} to {last}"
    )
    return elapsed, total, context


NAIVE_HEAD_TABLE = "bench_audit_chain_head"


def ingest_naive(schema: str, admin: User) -> tuple[float, int, str]:
    """The baseline: each event chained under a row lock on the chain head, in the writer's transaction."""
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE {NAIVE_HEAD_TABLE} (id int PRIMARY KEY, seq bigint NOT NULL, hash text NOT NULL)")
        cursor.execute(f"INSERT INTO {NAIVE_HEAD_TABLE} VALUES (1, 0, %s)", [services.GENESIS])

    def write(rng: random.Random) -> None:
        for _ in range(EVENTS_PER_TRANSACTION):
            event = recorder.build("accounts:user:update", actor=admin, **_ingest_event_kwargs(rng))
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT seq, hash FROM {NAIVE_HEAD_TABLE} WHERE id = 1 FOR UPDATE")
                seq, prev = cursor.fetchone()
                # The id is part of the chained form: take it from the sequence before hashing.
                cursor.execute("SELECT nextval(pg_get_serial_sequence('audit_auditevent', 'id'))")
                event.id = cursor.fetchone()[0]
                event.seq, event.prev_hash, event.sealed_at = seq + 1, prev, event.occurred_at
                event.hash = services.link(prev, event, seq + 1)
                event.save(force_insert=True)
                cursor.execute(f"UPDATE {NAIVE_HEAD_TABLE} SET seq = %s, hash = %s WHERE id = 1", [seq + 1, event.hash])

    stop = threading.Event()
    counts = [0] * WRITERS
    threads = [threading.Thread(target=_writer, args=(schema, stop, counts, i, write)) for i in range(WRITERS)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(INGEST_SECONDS)
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    total = sum(counts)
    with schema_context(schema):
        result = services.verify_chain()
    context = (
        f"(b) naive baseline: {WRITERS} writers, {total} events chained under the row lock in {elapsed:.1f}s "
        f"({total / elapsed:,.0f}/s); its chain verifies: {result.ok} ({result.checked} events)"
    )
    return elapsed, total, context


# --- (d) Bulk load of 1,000,000 events -------------------------------------------------------------

ACTIONS = [
    f"{app}:{resource}:{verb}"
    for app, resource in (
        ("accounts", "user"),
        ("accounts", "token"),
        ("access", "role"),
        ("access", "group"),
        ("access", "policy"),
        ("cmdb", "ci"),
        ("iac", "stack"),
        ("providers", "vm"),
    )
    for verb in ("create", "update", "delete", "view", "approve")
]
RESOURCE_TYPES = ["accounts:user", "access:role", "access:group", "cmdb:ci", "iac:stack", "providers:vm", "x", "y"]
WORDS = ["web", "db", "cache", "queue", "edge", "batch", "api", "auth", "report", "backup", "mail", "search"]
RARE_WORD = "zanzibar"


def actor_email(n: int) -> str:
    return f"user{n:03d}@{SLUG}.localhost"


LOAD_SQL = """
INSERT INTO audit_auditevent (
    occurred_at, actor_id, actor_display, on_behalf_of, action, resource_type, resource_id, resource_display,
    outcome, request_id, source_ip, user_agent, changes, metadata, prev_hash, hash
)
SELECT
    %(start)s::timestamptz + %(step)s::interval * g,
    a + 1,
    'user' || lpad(a::text, 3, '0') || %(domain)s,
    '',
    (%(actions)s::text[])[1 + floor(x * %(n_actions)s)::int],
    (%(types)s::text[])[1 + r %% %(n_types)s],
    r::text,
    (%(words)s::text[])[1 + r %% %(n_words)s] || '-' || lpad(r::text, 4, '0')
        || CASE WHEN g %% 100000 = 7 THEN ' ' || %(rare)s ELSE '' END,
    CASE WHEN o < 0.90 THEN 'success' WHEN o < 0.97 THEN 'denied' ELSE 'error' END,
    md5(g::text || ':' || o::text),
    (%(addresses)s::inet[])[1 + floor(y * %(n_addresses)s)::int],
    'Mozilla/5.0 (bench)',
    jsonb_build_object('display_name', jsonb_build_array('name ' || r, 'name ' || (r + 1))),
    jsonb_build_object('method', 'PATCH', 'path', '/api/v1/x/' || r || '/', 'status', 200),
    '',
    ''
FROM (
    SELECT g, floor(random() * 200)::int AS a, floor(random() * 2000)::int AS r,
           random() AS o, random() AS x, random() AS y
    FROM generate_series(1, %(count)s) AS g
) AS s
"""


def load_events(schema: str, count: int) -> float:
    """Insert ``count`` unsealed events in one INSERT ... SELECT (generated in the server, seeded); seconds taken.

    Not through the recorder: 1,000,000 Python round trips would take longer than the whole bench should.
    """
    rng = random.Random(SEED)
    addresses = [f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(500)]
    params = {
        "start": datetime.now(UTC) - timedelta(days=90),
        "step": timedelta(days=90) / count,
        "domain": f"@{SLUG}.localhost",
        "actions": ACTIONS,
        "n_actions": len(ACTIONS),
        "types": RESOURCE_TYPES,
        "n_types": len(RESOURCE_TYPES),
        "words": WORDS,
        "n_words": len(WORDS),
        "rare": RARE_WORD,
        "addresses": addresses,
        "n_addresses": len(addresses),
        "count": count,
    }
    start = time.perf_counter()
    with schema_context(schema), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(SEED % 1000) / 1000])
        cursor.execute(LOAD_SQL, params)
        cursor.execute("ANALYZE audit_auditevent")
    return time.perf_counter() - start


def seal_all(schema: str) -> tuple[float, int]:
    start, total = time.perf_counter(), 0
    with schema_context(schema):
        while n := services.seal_pending(limit=SEAL_BATCH * 4):
            total += n
    return time.perf_counter() - start, total


# --- (c) Verification --------------------------------------------------------------------------------


def verify_baseline(schema: str, limit: int) -> tuple[float, int]:
    """The first ``limit`` events rehashed the pre-optimisation way: model instances, ``services.link`` each."""
    start = time.perf_counter()
    n, prev, ok = 0, services.GENESIS, True
    with schema_context(schema):
        for event in AuditEvent.objects.filter(seq__lte=limit).order_by("seq").iterator(chunk_size=2000):
            ok = ok and event.prev_hash == prev and services.link(prev, event, event.seq) == event.hash
            prev, n = event.hash, n + 1
    return time.perf_counter() - start, n if ok else -n


# --- (d) Queries ---------------------------------------------------------------------------------------


def queries(schema: str, admin: User) -> tuple[dict[str, list[float]], dict[str, list[float]], list[float], bool]:
    host = tenancy_services.default_domain_for(SLUG)
    client = Client(HTTP_HOST=host)
    with schema_context(schema):
        client.force_login(admin)
        sample = AuditEvent.objects.filter(seq__isnull=False).order_by("-id").values("request_id", "source_ip")[5000]
        middle = AuditEvent.objects.count() // 2
        day = AuditEvent.objects.order_by("-id").values_list("occurred_at", flat=True)[middle]
    connection.set_schema_to_public()
    since, until = day.isoformat(), (day + timedelta(days=1)).isoformat()
    filters = {
        "actor": {"actor": actor_email(17)},
        "action prefix": {"action": "access:role:"},
        "resource": {"resource_type": "cmdb:ci", "resource_id": "1235"},
        "outcome": {"outcome": "error"},
        "address": {"ip": sample["source_ip"]},
        "request id": {"request_id": sample["request_id"]},
        "one day": {"since": since, "until": until},
        "actor + outcome": {"actor": actor_email(42), "outcome": "denied"},
        "action + one day": {"action": "cmdb:ci:delete", "since": since, "until": until},
    }
    searches = {
        "q actor": {"q": actor_email(99)},
        "q word": {"q": "backup"},
        "q rare word": {"q": RARE_WORD},
        "q two words": {"q": "web 0012"},
        "q + outcome": {"q": "mail", "outcome": "denied"},
    }
    statuses = set()

    def run(params: dict | None, times: list[float]) -> None:
        start = time.perf_counter()
        response = client.get("/api/v1/audit/events/", params or {})
        times.append(time.perf_counter() - start)
        statuses.add(response.status_code)

    base: list[float] = []
    filtered: dict[str, list[float]] = {name: [] for name in filters}
    searched: dict[str, list[float]] = {name: [] for name in searches}
    with quiet_request_log(), override_settings(NIMBUS_ROUTING_CACHE_SECONDS=60):
        for _ in range(3):  # warm-up: caches, plans
            run(None, [])
        for _ in range(QUERY_REPEATS):
            run(None, base)
            for name, params in filters.items():
                run(params, filtered[name])
            for name, params in searches.items():
                run(params, searched[name])
    return filtered, searched, base, statuses == {200}


# --- Main ------------------------------------------------------------------------------------------


def main() -> None:
    schema, naive_schema, admin = set_up()
    load_before = os.getloadavg()
    figures = []

    # (a)
    audited, unaudited, write_ok, context = api_write(schema, admin)
    note(context)
    on, off = statistics.median(audited) * 1000, statistics.median(unaudited) * 1000
    note(
        f"(a) p50 audited {on:.2f}ms, not audited {off:.2f}ms ({on / off:.3f}x); p95 {p95(audited) * 1000:.2f}ms "
        f"and {p95(unaudited) * 1000:.2f}ms"
    )
    figures.append(
        Figure(
            TOPIC,
            "api_write_ms",
            value=on,
            baseline=off,
            unit="ms",
            goal=f"value<={GOAL_WRITE_RATIO:g}xbaseline",
            met=write_ok and on <= GOAL_WRITE_RATIO * off,
        )
    )

    # (b)
    note(record_rate(schema, admin))
    seconds, total, context = ingest_nimbus(schema, admin)
    note(context)
    naive_seconds, naive_total, naive_context = ingest_naive(naive_schema, admin)
    note(naive_context)
    per_event = seconds / total * 1e6
    naive_per_event = naive_seconds / naive_total * 1e6
    figures.append(
        Figure(
            TOPIC,
            "ingest_us_per_event",
            value=per_event,
            baseline=naive_per_event,
            unit="us",
            goal=f"value<={1e6 / GOAL_INGEST_PER_SECOND:g}us({GOAL_INGEST_PER_SECOND}/s)",
            met=per_event <= 1e6 / GOAL_INGEST_PER_SECOND,
        )
    )

    # (d) load, seal; (c) verify
    load_seconds = load_events(schema, EVENTS)
    note(f"(d) {EVENTS:,} events loaded by INSERT ... SELECT in {load_seconds:.1f}s ({EVENTS / load_seconds:,.0f}/s)")
    seal_seconds, sealed = seal_all(schema)
    note(
        f"(d) services.seal_pending sealed {sealed:,} events in {seal_seconds:.1f}s ({sealed / seal_seconds:,.0f}/s, "
        f"batches of {SEAL_BATCH * 4})"
    )
    with schema_context(schema):
        gc.collect()
        start, cpu = time.perf_counter(), time.thread_time()
        result = services.verify_chain()
        verify_seconds, verify_cpu = time.perf_counter() - start, time.thread_time() - cpu
    baseline_seconds, baseline_count = verify_baseline(schema, BASELINE_VERIFY_SAMPLE)
    note(
        f"(c) verify_chain: {result.checked:,} events, {result.checkpoints} checkpoints, ok {result.ok}, in "
        f"{verify_seconds:.1f}s ({result.checked / verify_seconds:,.0f}/s; this thread's CPU {verify_cpu:.1f}s, "
        f"{result.checked / verify_cpu:,.0f}/s by CPU time); baseline walk (model instances) over "
        f"the first {abs(baseline_count):,}: {baseline_seconds:.1f}s ({abs(baseline_count) / baseline_seconds:,.0f}/s)"
        f", its hashes matched: {baseline_count > 0}"
    )
    verify_us = verify_seconds / max(result.checked, 1) * 1e6
    figures.append(
        Figure(
            TOPIC,
            "verify_us_per_event",
            value=verify_us,
            baseline=baseline_seconds / max(abs(baseline_count), 1) * 1e6,
            unit="us",
            goal=f"value<={1e6 / GOAL_VERIFY_PER_SECOND:g}us({GOAL_VERIFY_PER_SECOND}/s)",
            met=result.ok and result.checked >= EVENTS and verify_us <= 1e6 / GOAL_VERIFY_PER_SECOND,
        )
    )

    # (d) queries
    filtered, searched, base, queries_ok = queries(schema, admin)
    for name, times in {**filtered, **searched}.items():
        note(f"(d) {name}: p50 {statistics.median(times) * 1000:.1f}ms, p95 {p95(times) * 1000:.1f}ms")
    base_p95 = p95(base) * 1000
    note(f"(d) unfiltered first page: p50 {statistics.median(base) * 1000:.1f}ms, p95 {base_p95:.1f}ms")
    for name, group in (("filter_p95_ms", filtered), ("search_p95_ms", searched)):
        value = p95([t for times in group.values() for t in times]) * 1000
        figures.append(
            Figure(
                TOPIC,
                name,
                value=value,
                baseline=base_p95,
                unit="ms",
                goal=f"value<{GOAL_QUERY_P95_MS:g}ms",
                met=queries_ok and value < GOAL_QUERY_P95_MS,
            )
        )
    load_after = os.getloadavg()
    note(f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after, on {os.cpu_count()} CPUs")
    report(figures)
