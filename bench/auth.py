"""Authentication overhead: ``GET /api/v1/me/`` signed in by session, API token and JWT, against baselines.

Measured in one run, against the bench database the runner prepared
(``python -m bench auth``). One tenant (``benchauth``) is provisioned through
``tenant_provision``; in its schema a user is created with a password and
given a personal API token (``api_token_create``) and a JWT pair
(``jwt_pair_issue``; the access token lives five minutes, longer than the run).

Every request goes through Django's test client in this process
(``Client(HTTP_HOST="benchauth.localhost")``): the whole middleware stack,
tenant routing, DRF and the view run, with no HTTP server, socket or
serialisation of the request in between. This is the honest in-process
figure. Over HTTP the app server the tests use (``conftest._app_server``)
serves each request on a new connection, in a new thread, which opens its
own database connection (``CONN_MAX_AGE = 0`` in the test settings): the
connect would swamp the sub-millisecond differences measured here, and
/healthz, which touches no database, would not pay it. So no HTTP figure.

Five kinds of request, ``REQUESTS`` each (fewer if the timed loop runs past
``BUDGET_SECONDS``; the output says how many) after ``WARMUP`` warm-up
requests each, interleaved one of each in turn so that drift (machine load,
cache warmth, garbage collection) hits them alike:

* ``/healthz``: answered by the first middleware, before tenant routing,
  sessions or DRF; the unauthenticated baseline the issue names.
* ``/api/v1/me/`` with no credentials: routed to the tenant, through every
  middleware and DRF, rejected with 401 by the permission check. The
  second, fairer baseline: everything but authentication and the view body.
  Django logs every 4xx as a warning on ``django.request``; that logger is
  held at ERROR while measuring, so the baseline pays no log write the
  signed-in requests do not pay (and the output is not flooded).
* ``/api/v1/me/`` signed in by session (``client.force_login`` inside the
  tenant's schema): the session row and the user are read, in the tenant's
  schema (switching ``search_path`` to it first, which the 401 never does).
* ``/api/v1/me/`` with ``Authorization: Bearer nmb_<prefix>_<secret>``: the
  token row with its user is read (one query, same switch first), the
  secret's digest compared.
* ``/api/v1/me/`` with ``Authorization: Bearer <JWT access token>``: the
  signature and claims (tenant, expiry) checked, the user read (one query,
  same switch first) and its ``tokens_valid_after`` compared.

Figures, per authentication method (``session``, ``token``, ``jwt``):

* ``<method>_added_ms``: p50(me, signed in) - p50(/healthz). Includes tenant
  routing, the rest of the middleware, DRF and the view, not only
  authentication. Baseline: p50(/healthz).
* ``<method>_auth_added_ms``: p50(me, signed in) - p50(me, 401). What
  authenticating (and the small view body, one serializer) adds to a request
  that is routed and handled by DRF anyway. Baseline: p50(me, 401).

Goal for all six: under 2 ms. ``ratio`` is, as everywhere, baseline / value:
here the baseline request's p50 over the time added (above 1: authentication
costs less than the whole baseline request). A figure is MISSED as well when
any response had an unexpected status or the signed-in responses did not
name the bench user. p50, p99 and requests/s of each path, the CPU time the
request thread used (p50; the database server's work is not in it, and it
hardly grows when other processes compete for the CPUs, as wall-clock
times do), and the database queries each path runs, are printed as context
lines first.
"""

from __future__ import annotations

import gc
import logging
import os
import statistics
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.services import api_token_create, jwt_pair_issue, user_create
from apps.tenancy import services
from apps.tenancy.models import Tenant

from ._report import Figure, note, report

TOPIC = "auth"
SLUG = "benchauth"
EMAIL = f"bench@{SLUG}.localhost"
# A throwaway account in the throwaway bench database.
PASSWORD = "nimbus-bench-auth-password"
REQUESTS = 2000
WARMUP = 200
# Wall-clock cap on the timed loop (a loaded machine); fewer requests are then reported, never none.
BUDGET_SECONDS = 75.0
GOAL_MS = 2.0

ME = "/api/v1/me/"
HEALTHZ = "/healthz"


@dataclass
class Route:
    """One kind of request: how to make it, what it should answer, and how long each one took."""

    name: str
    client: Client
    url: str
    expected_status: int
    headers: dict[str, str] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def request(self, *, record: bool = True) -> None:
        start, cpu_start = time.perf_counter(), time.thread_time()
        response = self.client.get(self.url, headers=self.headers)
        elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu_start
        if record:
            self.seconds.append(elapsed)
            self.cpu_seconds.append(cpu)
            self.statuses[response.status_code] += 1

    @property
    def ok(self) -> bool:
        return set(self.statuses) == {self.expected_status}

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.seconds) * 1000

    @property
    def p99_ms(self) -> float:
        return statistics.quantiles(self.seconds, n=100, method="inclusive")[98] * 1000

    @property
    def per_second(self) -> float:
        return len(self.seconds) / sum(self.seconds)

    def summary(self) -> str:
        return (
            f"{self.name}: GET {self.url} x{len(self.seconds)}: p50 {self.p50_ms:.3f}ms, p99 {self.p99_ms:.3f}ms, "
            f"{self.per_second:.0f} requests/s (one at a time, in process); this thread's CPU p50 "
            f"{statistics.median(self.cpu_seconds) * 1000:.3f}ms; statuses {dict(self.statuses)}"
        )


def set_up() -> tuple[str, str, str]:
    """The bench tenant, its user (with a password), an API token and a JWT: (host, API token, JWT access token)."""
    start = time.perf_counter()
    tenant = services.tenant_provision(name="Bench Auth", slug=SLUG)
    with schema_context(tenant.schema_name):
        user = user_create(email=EMAIL, password=PASSWORD, display_name="Bench Auth")
        _token, plaintext = api_token_create(user=user, name="bench")
        access, _refresh = jwt_pair_issue(user=user)
    note(
        f"set-up (untimed): tenant {SLUG!r} provisioned, user, API token and JWT pair created in its schema "
        f"in {time.perf_counter() - start:.2f}s"
    )
    return services.default_domain_for(SLUG), plaintext, access


def signed_in_client(host: str) -> Client:
    client = Client(HTTP_HOST=host)
    with schema_context(Tenant.objects.get(slug=SLUG).schema_name):
        client.force_login(User.objects.get(email=EMAIL))
    connection.set_schema_to_public()
    return client


def identity_checks(signed_in: list[Route]) -> bool:
    """Every signed-in path really names the bench user on the bench tenant."""
    results = []
    for route in signed_in:
        body = route.client.get(route.url, headers=route.headers).json()
        results.append(body.get("email") == EMAIL and body.get("tenant") == SLUG)
        note(f"{route.name}: /api/v1/me/ answers email={body.get('email')!r} tenant={body.get('tenant')!r}")
    return all(results)


def query_counts(routes: list[Route]) -> None:
    parts = []
    for route in routes:
        with CaptureQueriesContext(connection) as queries:
            route.request(record=False)
        parts.append(f"{route.name} {len(queries)}")
    note("database queries per request (one warm request each): " + ", ".join(parts))


@contextmanager
def quiet_request_log() -> Iterator[None]:
    """Hold Django's ``django.request`` logger at ERROR: no warning line for each 401."""
    request_logger = logging.getLogger("django.request")
    level = request_logger.level
    request_logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        request_logger.setLevel(level)


def measure(routes: list[Route]) -> float:
    """Seconds the timed requests took in all, warm-up excluded; stops early past the time budget."""
    for _ in range(WARMUP):
        for route in routes:
            route.request(record=False)
    gc.collect()
    start = time.perf_counter()
    deadline = start + BUDGET_SECONDS
    for _ in range(REQUESTS):
        for route in routes:
            route.request()
        if time.perf_counter() >= deadline:
            break
    return time.perf_counter() - start


def main() -> None:
    host, plaintext, access = set_up()
    anonymous = Client(HTTP_HOST=host)
    healthz = Route("healthz", anonymous, HEALTHZ, 200)
    unauthenticated = Route("me-401", anonymous, ME, 401)
    session = Route("me-session", signed_in_client(host), ME, 200)
    token = Route("me-token", Client(HTTP_HOST=host), ME, 200, headers={"Authorization": f"Bearer {plaintext}"})
    jwt = Route("me-jwt", Client(HTTP_HOST=host), ME, 200, headers={"Authorization": f"Bearer {access}"})
    signed_in = [session, token, jwt]
    routes = [healthz, unauthenticated, *signed_in]

    identity_ok = identity_checks(signed_in)
    load_before = os.getloadavg()[0]
    # The bench runs on the test settings, which switch the routing cache off; measure production's default.
    with quiet_request_log(), override_settings(NIMBUS_ROUTING_CACHE_SECONDS=60):
        query_counts(routes)
        seconds = measure(routes)
    done = len(healthz.seconds)
    note(
        f"{done} of {REQUESTS} requests per path (budget {BUDGET_SECONDS:g}s) after {WARMUP} warm-up each, "
        f"the five paths interleaved, with Django's test client in process (host {host}); {seconds:.1f}s in all; "
        f"load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after, on {os.cpu_count()} CPUs; "
        "'django.request' held at ERROR meanwhile, so the 401s logged no warning"
    )
    for route in routes:
        note(route.summary())
    for route in signed_in:
        note(
            f"{route.name}: p50 {route.p50_ms / healthz.p50_ms:.1f}x /healthz's, "
            f"{route.p50_ms / unauthenticated.p50_ms:.2f}x the routed 401's; "
            f"p99 adds {route.p99_ms - unauthenticated.p99_ms:.3f}ms over the 401's p99"
        )

    statuses_ok = all(route.ok for route in routes)
    note(f"all statuses as expected: {statuses_ok}; signed-in responses name the bench user: {identity_ok}")
    valid = statuses_ok and identity_ok
    figures = []
    for method, route in (("session", session), ("token", token), ("jwt", jwt)):
        for name, baseline in (("added_ms", healthz), ("auth_added_ms", unauthenticated)):
            added = route.p50_ms - baseline.p50_ms
            figures.append(
                Figure(
                    TOPIC,
                    f"{method}_{name}",
                    value=added,
                    baseline=baseline.p50_ms,
                    unit="ms",
                    goal=f"value<{GOAL_MS:g}ms",
                    met=added < GOAL_MS and valid,
                )
            )
    report(figures)
