"""Liveness and readiness probes against the real services, and with each one unreachable."""

import pytest
from django.test import override_settings

from apps.core import health
from nimbus.embedded import choose_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_readiness():
    health.readiness_forget()
    yield
    health.readiness_forget()


@pytest.mark.parametrize("host", ["localhost", "acme.localhost", "initech.localhost", "nobody.localhost", "1.2.3.4"])
def test_healthz_answers_on_every_host(host_client, host):
    response = host_client(host).get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_reports_each_real_service_ok(host_client, acme):
    response = host_client("acme.localhost").get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": {"status": "ok"}, "redis": {"status": "ok"}, "temporal": {"status": "ok"}},
    }


def test_readyz_is_503_with_a_reason_when_temporal_is_down(host_client):
    with override_settings(TEMPORAL_ADDRESS=f"127.0.0.1:{choose_port(None)}"):
        response = host_client("localhost").get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["checks"]["temporal"]["status"] == "error"
    assert body["checks"]["temporal"]["reason"]
    assert body["checks"]["database"] == {"status": "ok"}


def test_readyz_is_503_with_a_reason_when_redis_is_down(host_client):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{choose_port(None)}/0"):
        response = host_client("localhost").get("/readyz")
    body = response.json()
    assert response.status_code == 503
    assert body["checks"]["redis"] == {"status": "error", "reason": "ConnectionError"}


def test_readyz_reports_a_database_failure_without_raising(monkeypatch):
    def broken():
        raise RuntimeError("could not connect to server: Connection refused\nIs the server running?")

    monkeypatch.setitem(health.READINESS_CHECKS, "database", broken)
    ready, checks = health.readiness()
    assert not ready
    assert checks["database"] == {"status": "error", "reason": "RuntimeError"}
    with override_settings(DEBUG=True):
        _ready, checks = health.readiness()
    assert checks["database"]["reason"] == "RuntimeError: could not connect to server: Connection refused"


def test_readyz_result_is_reused_for_a_moment(host_client, monkeypatch):
    calls = []
    monkeypatch.setitem(health.READINESS_CHECKS, "redis", lambda: calls.append(1))
    for _ in range(5):
        assert host_client("localhost").get("/readyz").status_code == 200
    assert len(calls) == 1
