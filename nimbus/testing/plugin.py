"""pytest plugin: real PostgreSQL, Redis and Temporal for the test session.

Loaded with ``-p nimbus.testing.plugin`` (see pyproject.toml) so that it runs
before pytest-django reads the settings. On the controlling process it
starts, for each of DATABASE_URL, REDIS_URL and TEMPORAL_ADDRESS left unset,
the embedded server under ``<NIMBUS_DATA_DIR>/test-services`` on free ports,
and exports the URLs; pytest-xdist workers inherit them. Servers given by URL
are used as they are.

temporalio's native runtime can abort the interpreter at exit after a
successful run (sdk-python#300), so the session ends with ``os._exit`` and the
real exit status.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from nimbus.embedded import EmbeddedServices

_services: EmbeddedServices | None = None
_exit_status: int | None = None


def _is_xdist_worker() -> bool:
    return "PYTEST_XDIST_WORKER" in os.environ


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    global _services
    if _is_xdist_worker():
        return
    root = Path(__file__).resolve().parents[2]
    data_dir = Path(os.environ.get("NIMBUS_DATA_DIR") or root / ".nimbus") / "test-services"
    # No preferred ports: never collide with a development instance that is running.
    _services = EmbeddedServices(data_dir, redis_port=None, temporal_port=None, temporal_ui_port=None)
    os.environ.update(_services.start())


def pytest_sessionfinish(session, exitstatus):
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    if _services is not None:
        _services.stop()
    if _exit_status is not None:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)
