"""Run benchmarks: ``python -m bench`` runs every ``bench/<topic>.py``, ``python -m bench <topic> ...`` some.

Before Django is set up, the runner makes sure the services exist: for each
of DATABASE_URL, REDIS_URL and TEMPORAL_ADDRESS left unset it starts the
embedded server under ``<NIMBUS_DATA_DIR or .nimbus>/bench-services`` on free
ports (never the development ports), exports the addresses, and stops those
servers at the end. On the PostgreSQL server from DATABASE_URL it creates a
fresh database ``nimbus_bench`` (dropping a leftover one first), points
DATABASE_URL at it, sets up Django with the test settings (quiet text
logging), migrates the public schema and creates the provider. Each topic's
``main()`` then runs in turn; a topic that fails is reported and the others
still run. The database is dropped at the end.

The process ends with ``os._exit`` and the real status: temporalio's native
runtime can abort the interpreter at exit after a successful run
(sdk-python#300, see ``nimbus.testing.plugin``).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import traceback
import warnings
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
BENCH_DATABASE = "nimbus_bench"


def available_topics() -> list[str]:
    return sorted(path.stem for path in BENCH_DIR.glob("*.py") if not path.stem.startswith("_"))


def with_database(url: str, name: str) -> str:
    """The same server URL (user, host, socket directory, options) naming another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(server_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    # Connect to the URL's own database: the bench database may not exist yet.
    with psycopg.connect(server_url, autocommit=True) as conn:
        _drop(conn, name)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        _drop(conn, name)


def _drop(conn, name: str, attempts: int = 20) -> None:
    """Drop database ``name``, ending any session still in it.

    ``WITH (FORCE)`` refuses, for a non-superuser, when an autovacuum worker
    is in the database (after a benchmark's heavy DDL it often is): its
    process belongs to no role the application may signal. A plain ``DROP
    DATABASE`` cancels autovacuum workers itself, so it is the fallback, retried
    briefly while other sessions are still leaving.
    """
    from psycopg import errors, sql

    force = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
    plain = sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name))
    for attempt in range(attempts):
        try:
            conn.execute(force)
            return
        except errors.InsufficientPrivilege:
            pass
        try:
            conn.execute(plain)
            return
        except errors.ObjectInUse:
            if attempt == attempts - 1:
                raise
            time.sleep(0.5)


def prepare_django() -> None:
    """Set Django up on the bench database: public schema migrated, provider present."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "nimbus.settings.test"
    os.environ.setdefault("NIMBUS_LOG_LEVEL", "WARNING")
    # The test settings serve static files from the finders; STATIC_ROOT (built by collectstatic)
    # plays no part here, so WhiteNoise's warning that it is missing is only noise.
    warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers.base")
    import django

    django.setup()
    from django.core.management import call_command

    from apps.tenancy import services

    call_command("migrate_schemas", shared=True, interactive=False, verbosity=0)
    services.provider_ensure()


def run_topic(topic: str) -> bool:
    print(f"== bench {topic}", flush=True)
    start = time.perf_counter()
    try:
        module = importlib.import_module(f"bench.{topic}")
        module.main()
    except Exception:  # noqa: BLE001 - report it and go on with the other topics
        traceback.print_exc()
        print(f"== bench {topic} FAILED after {time.perf_counter() - start:.1f}s", flush=True)
        return False
    print(f"== bench {topic} done in {time.perf_counter() - start:.1f}s", flush=True)
    return True


def run(topics: list[str]) -> int:
    from nimbus.embedded import EmbeddedServiceError, EmbeddedServices

    data_dir = Path(os.environ.get("NIMBUS_DATA_DIR") or ROOT / ".nimbus").resolve() / "bench-services"
    # No preferred ports: never collide with a development instance or a test session.
    embedded = EmbeddedServices(data_dir, redis_port=None, temporal_port=None, temporal_ui_port=None)
    ok = True
    try:
        try:
            os.environ.update(embedded.start())
        except EmbeddedServiceError as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 2
        server_url = os.environ["DATABASE_URL"]
        recreate_database(server_url, BENCH_DATABASE)
        django_ready = False
        try:
            os.environ["DATABASE_URL"] = with_database(server_url, BENCH_DATABASE)
            prepare_django()
            django_ready = True
            for topic in topics:
                ok = run_topic(topic) and ok
        finally:
            if django_ready:
                from django.db import connections

                connections.close_all()
            drop_database(server_url, BENCH_DATABASE)
            os.environ["DATABASE_URL"] = server_url
    finally:
        embedded.stop()
    return 0 if ok else 1


def main(argv: list[str]) -> int:
    topics = available_topics()
    if any(arg in ("-h", "--help") for arg in argv):
        print(f"usage: python -m bench [topic ...]\ntopics: {', '.join(topics)}")
        return 0
    unknown = [arg for arg in argv if arg not in topics]
    if unknown:
        print(f"bench: unknown topic(s) {', '.join(unknown)}; choose from {', '.join(topics)}", file=sys.stderr)
        return 2
    return run(argv or topics)


if __name__ == "__main__":
    status = 1
    try:
        status = main(sys.argv[1:])
    except KeyboardInterrupt:
        status = 130
    except BaseException:  # noqa: BLE001 - os._exit below would swallow the traceback
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
