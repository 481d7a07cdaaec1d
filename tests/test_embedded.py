"""Embedded services: started when missing, reused when running, stopped by their owner only."""

import json
import os
import subprocess
import sys

import psycopg
import pytest
import redis

from nimbus.embedded import EmbeddedServices, pid_alive, port_is_free, start_redis, start_temporal, temporal_answers


@pytest.fixture
def service_dir(tmp_path_factory):
    # pgserver hands the data directory to an unprivileged system user: keep it traversable.
    path = tmp_path_factory.mktemp("embedded")
    path.chmod(0o755)
    return path


def test_redis_starts_is_reused_and_stops_with_its_last_user(service_dir):
    first = start_redis(service_dir / "redis", preferred_port=None)
    port = int(first.url.rsplit(":", 1)[1].split("/")[0])
    assert first.started and redis.Redis(port=port).ping()
    again = start_redis(service_dir / "redis", preferred_port=None)
    assert again.url == first.url and not again.started
    pid = json.loads((service_dir / "redis" / "state.json").read_text())["pid"]
    first.release()
    assert not pid_alive(pid)
    assert port_is_free(port)


def _lease_for(state_file, pid: int) -> None:
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "leases": [*state["leases"], pid]}))


def test_server_still_used_by_another_live_process_keeps_running(service_dir):
    mine = start_redis(service_dir / "redis", preferred_port=None)
    state_file = service_dir / "redis" / "state.json"
    _lease_for(state_file, os.getppid())  # a live process (our parent) uses it too
    mine.release()
    assert redis.Redis.from_url(mine.url).ping()
    assert json.loads(state_file.read_text())["leases"] == [os.getppid()]
    # Once that user is gone, the next one to release stops it.
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "leases": []}))
    start_redis(service_dir / "redis", preferred_port=None).release()
    assert not pid_alive(state["pid"])


def test_leases_of_dead_processes_are_dropped(service_dir):
    started = start_redis(service_dir / "redis", preferred_port=None)
    state_file = service_dir / "redis" / "state.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    _lease_for(state_file, int(dead.stdout))
    start_redis(service_dir / "redis", preferred_port=None)
    assert json.loads(state_file.read_text())["leases"] == [os.getpid()]
    pid = json.loads(state_file.read_text())["pid"]
    started.release()
    assert not pid_alive(pid)


def test_temporal_dev_server_starts_answers_and_stops(service_dir):
    service = start_temporal(service_dir / "temporal", preferred_port=None, ui_port=None)
    assert temporal_answers(service.url)
    assert (service_dir / "temporal" / "temporal.db").exists()
    service.release()
    assert not temporal_answers(service.url)


def test_only_services_without_a_url_are_started(service_dir):
    services = EmbeddedServices(service_dir, redis_port=None, temporal_port=None, temporal_ui_port=None)
    given = {"DATABASE_URL": "postgresql://elsewhere/db", "TEMPORAL_ADDRESS": "elsewhere:7233"}
    added = services.start(given)
    try:
        assert list(added) == ["REDIS_URL"]
        assert [s.name for s in services.running] == ["redis"]
    finally:
        services.stop()
    assert services.running == []


def test_embedded_postgres_gives_an_ordinary_role_and_is_reused(service_dir):
    services = EmbeddedServices(service_dir, redis_port=None, temporal_port=None, temporal_ui_port=None)
    url = services.start({"REDIS_URL": "x", "TEMPORAL_ADDRESS": "x"})["DATABASE_URL"]
    try:
        with psycopg.connect(url) as conn:
            role, superuser = conn.execute(
                "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone()
        assert (role, superuser) == ("nimbus", False)
        second = EmbeddedServices(service_dir)
        assert second.start({"REDIS_URL": "x", "TEMPORAL_ADDRESS": "x"})["DATABASE_URL"] == url
    finally:
        services.stop()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(url, connect_timeout=2)
