"""SCIM: users created per second through ``POST /scim/v2/Users``, and ``userName eq`` filter latency at 50,000 users.

Measured in one run against the bench database the runner prepared
(``python -m bench scim``; ``SCIM_BENCH_USERS`` sets the population, 50,000 by
default, for a quicker check). One tenant (``benchscim``) is provisioned and
given a SCIM token. Every SCIM request goes through Django's test client in
this process (whole middleware stack, tenant routing, token check, view,
audit), with no HTTP server in between (see bench/auth.py for why).

Figures:

* ``user_create_per_s``: ``POST /scim/v2/Users`` (userName, name, emails,
  externalId), ``CREATES`` of them one after another (or fewer past
  ``CREATE_BUDGET_SECONDS``): account, SCIM row, audit events, response.
  Baseline: ``accounts.services.user_create`` called directly (the bare
  account insert, no SCIM, no audit, no HTTP), the same number of times.
  Goal: at least 20 per second (IdPs provision one user per request, a few per
  second). A rate, so here ``ratio`` (always baseline / value) below 1 means
  slower than the bare insert.
* ``filter_p99_ms``: p99 of ``GET /scim/v2/Users?filter=userName eq "<name>"``
  for random existing names (case changed, as IdPs do not keep case), with
  the tenant holding ``SCIM_BENCH_USERS`` SCIM users. Baseline: the same
  requests with the functional index on ``UPPER(user_name)`` dropped (inside
  a transaction that is rolled back), so the figure shows what the index buys.
  Goal: under 50 ms.

The population beyond the timed creates is inserted with ``bulk_create``
(accounts and SCIM rows alike, no audit events): it is the table size that
matters to the filter, not how the rows got there.
"""

from __future__ import annotations

import logging
import os
import random
import statistics
import time
import uuid

from django.db import connection, transaction
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.services import user_create
from apps.identity.models import ScimUser
from apps.identity.services import scim_token_create
from apps.tenancy import services

from ._report import Figure, note, report

TOPIC = "scim"
SLUG = "benchscim"
USERS = int(os.environ.get("SCIM_BENCH_USERS", "50000"))
CREATES = 300
CREATE_BUDGET_SECONDS = 60.0
FILTERS = 1000
FILTER_BUDGET_SECONDS = 60.0
BASELINE_FILTERS = 100
WARMUP = 50
BATCH = 5000
INDEX = "identity_scimuser_user_name_ci_unique"


def _p99(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=100, method="inclusive")[98] * 1000


def _user_body(n: int) -> dict:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": f"created{n}@bench.test",
        "name": {"givenName": "Bench", "familyName": f"User {n}"},
        "emails": [{"value": f"created{n}@bench.test"}],
        "externalId": f"ext-{n}",
        "active": True,
    }


def measure_creates(client: Client, token: str, schema: str) -> tuple[float, float, int]:
    headers = {"Authorization": f"Bearer {token}"}
    seconds = []
    deadline = time.perf_counter() + CREATE_BUDGET_SECONDS
    for n in range(CREATES):
        start = time.perf_counter()
        response = client.post("/scim/v2/Users", _user_body(n), content_type="application/scim+json", headers=headers)
        seconds.append(time.perf_counter() - start)
        if response.status_code != 201:
            raise RuntimeError(f"create answered {response.status_code}: {response.content[:300]!r}")
        if time.perf_counter() >= deadline:
            break
    done = len(seconds)
    baseline = []
    with schema_context(schema):
        for n in range(done):
            start = time.perf_counter()
            user_create(email=f"baseline{n}@bench.test", password=None, display_name="Bench")
            baseline.append(time.perf_counter() - start)
    return done / sum(seconds), done / sum(baseline), done


def populate(schema: str, total: int) -> int:
    """Bring the tenant's SCIM users up to ``total`` with bulk inserts (``user0``… onwards); return how many."""
    with schema_context(schema):
        added = max(total - ScimUser.objects.count(), 0)
        start = time.perf_counter()
        for offset in range(0, added, BATCH):
            count = min(BATCH, added - offset)
            with transaction.atomic():
                users = User.objects.bulk_create(
                    [
                        User(email=f"user{offset + i}@bench.test", display_name=f"User {offset + i}", password="!")
                        for i in range(count)
                    ]
                )
                ScimUser.objects.bulk_create(
                    [
                        ScimUser(scim_id=uuid.uuid4(), user=user, user_name=f"User{offset + i}@Bench.test")
                        for i, user in enumerate(users)
                    ]
                )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE identity_scimuser")
            cursor.execute("ANALYZE accounts_user")
        note(f"populated to {ScimUser.objects.count()} SCIM users in {time.perf_counter() - start:.1f}s (bulk insert)")
    return added


def filter_requests(client: Client, token: str, population: int, count: int, budget: float) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    seconds = []
    deadline = time.perf_counter() + budget
    for _ in range(count):
        n = random.randrange(population)
        url = f'/scim/v2/Users?filter=userName eq "user{n}@BENCH.TEST"'
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        seconds.append(time.perf_counter() - start)
        body = response.json()
        if response.status_code != 200 or body["totalResults"] != 1:
            raise RuntimeError(f"filter answered {response.status_code}: {response.content[:300]!r}")
        if time.perf_counter() >= deadline:
            break
    return seconds


def main() -> None:
    logging.getLogger("django.request").setLevel(logging.ERROR)
    start = time.perf_counter()
    tenant = services.tenant_provision(name="Bench SCIM", slug=SLUG)
    with schema_context(tenant.schema_name):
        _row, token = scim_token_create(name="bench")
    host = services.default_domain_for(SLUG)
    client = Client(HTTP_HOST=host)
    note(f"set-up (untimed): tenant {SLUG!r} provisioned and a SCIM token made in {time.perf_counter() - start:.2f}s")

    per_second, baseline_per_second, done = measure_creates(client, token, tenant.schema_name)
    connection.set_schema_to_public()
    note(
        f"{done} SCIM creates (budget {CREATE_BUDGET_SECONDS:g}s): {per_second:.1f}/s; "
        f"the same number of bare accounts.user_create calls: {baseline_per_second:.1f}/s"
    )

    population = populate(tenant.schema_name, USERS)
    connection.set_schema_to_public()
    filter_requests(client, token, population, WARMUP, FILTER_BUDGET_SECONDS)
    seconds = filter_requests(client, token, population, FILTERS, FILTER_BUDGET_SECONDS)
    p50, p99 = statistics.median(seconds) * 1000, _p99(seconds)
    with schema_context(tenant.schema_name), connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN SELECT 1 FROM identity_scimuser WHERE UPPER(user_name::text) = UPPER(%s)", ["user1@bench.test"]
        )
        plan = " / ".join(row[0].strip() for row in cursor.fetchall())
    note(f"{len(seconds)} filter requests: p50 {p50:.2f}ms, p99 {p99:.2f}ms at {USERS} users; plan: {plan}")

    with transaction.atomic():
        with schema_context(tenant.schema_name), connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX {INDEX}")
        connection.set_schema_to_public()
        baseline_seconds = filter_requests(client, token, population, BASELINE_FILTERS, FILTER_BUDGET_SECONDS)
        transaction.set_rollback(True)
    baseline_p99 = _p99(baseline_seconds)
    note(
        f"{len(baseline_seconds)} filter requests without the UPPER(user_name) index (rolled back afterwards): "
        f"p50 {statistics.median(baseline_seconds) * 1000:.2f}ms, p99 {baseline_p99:.2f}ms"
    )
    report(
        [
            Figure(TOPIC, "user_create_per_s", per_second, baseline_per_second, "/s", ">=20/s", per_second >= 20),
            Figure(TOPIC, "filter_p99_ms", p99, baseline_p99, "ms", f"<50ms@{USERS}users", p99 < 50),
        ]
    )
