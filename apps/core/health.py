"""Liveness and readiness probes, answered before tenant routing on every host.

``/healthz`` says the process is alive. ``/readyz`` checks PostgreSQL, Redis
and Temporal concurrently, each with a short timeout, and answers 503 with
a reason per failed dependency, so a load balancer can take the instance out.
The probe is unauthenticated and answers on any host, so its reasons name
only the kind of failure (the details go to the log) and its result is
reused for a second, so a flood of probes cannot fan out to the services.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 2.0
RESULT_TTL_SECONDS = 1.0


def short_reason(exc: BaseException) -> str:
    """The failure's kind, plus its first line in DEBUG (host names and socket paths stay out of production)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if text and settings.DEBUG:
        return f"{type(exc).__name__}: {text}"[:200]
    return type(exc).__name__


def check_database() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        # This runs in a pool thread: never leave its connection open.
        connection.close()


@lru_cache(maxsize=4)
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=CHECK_TIMEOUT_SECONDS, socket_connect_timeout=CHECK_TIMEOUT_SECONDS)


def check_redis() -> None:
    if not _redis_client(settings.REDIS_URL).ping():
        raise RuntimeError("PING was not answered")


def check_temporal() -> None:
    from temporalio.client import Client

    async def probe() -> None:
        client = await Client.connect(settings.TEMPORAL_ADDRESS, namespace=settings.TEMPORAL_NAMESPACE)
        if not await client.service_client.check_health():
            raise RuntimeError("health check answered 'not serving'")

    async def bounded() -> None:
        await asyncio.wait_for(probe(), timeout=CHECK_TIMEOUT_SECONDS)

    asyncio.run(bounded())


READINESS_CHECKS = {"database": check_database, "redis": check_redis, "temporal": check_temporal}


def _run(name: str, check) -> dict[str, str]:
    try:
        check()
    except Exception as exc:  # noqa: BLE001 - every failure is reported, none is raised
        logger.warning("readiness check failed", extra={"check": name, "error": repr(exc)[:500]})
        return {"status": "error", "reason": short_reason(exc)}
    return {"status": "ok"}


def readiness() -> tuple[bool, dict[str, dict[str, str]]]:
    with ThreadPoolExecutor(max_workers=len(READINESS_CHECKS), thread_name_prefix="readyz") as pool:
        futures = {name: pool.submit(_run, name, check) for name, check in READINESS_CHECKS.items()}
        results = {name: future.result() for name, future in futures.items()}
    return all(result["status"] == "ok" for result in results.values()), results


_last_result: tuple[float, tuple[bool, dict]] | None = None
_result_lock = threading.Lock()


def readiness_cached() -> tuple[bool, dict[str, dict[str, str]]]:
    """``readiness()``, computed at most once per RESULT_TTL_SECONDS per process."""
    global _last_result
    with _result_lock:
        if _last_result is None or time.monotonic() - _last_result[0] > RESULT_TTL_SECONDS:
            _last_result = (time.monotonic(), readiness())
        return _last_result[1]


def readiness_forget() -> None:
    global _last_result
    with _result_lock:
        _last_result = None


class HealthCheckMiddleware:
    """Answers ``/healthz`` and ``/readyz`` itself, for any Host, before anything touches the database."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if request.path == "/healthz":
            response = JsonResponse({"status": "ok"})
        elif request.path == "/readyz":
            ready, checks = readiness_cached()
            response = JsonResponse(
                {"status": "ok" if ready else "error", "checks": checks}, status=200 if ready else 503
            )
        else:
            return self.get_response(request)
        response["Cache-Control"] = "no-store"
        return response
