"""``make run``: one supervisor for the whole development instance.

Starts the embedded services that the environment lacks, migrates every
schema, seeds the demo data once, then runs the web server (HTTP and
websockets), a Celery worker and a Temporal worker under honcho. Ctrl-C
stops all of them, then the embedded services this run started.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from honcho.manager import Manager
from honcho.printer import Printer

from nimbus.embedded import EmbeddedServices, default_data_dir

ROOT = Path(__file__).resolve().parents[1]


def manage(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], env=env, cwd=ROOT, check=True)


def processes(env: dict[str, str]) -> dict[str, str]:
    python = sys.executable
    bind = env.get("NIMBUS_BIND", "127.0.0.1")
    port = env.get("NIMBUS_PORT", "8000")
    return {
        "web": f"{python} -m uvicorn nimbus.asgi:application --host {bind} --port {port} --ws websockets-sansio "
        "--lifespan off --no-access-log",
        "celery": f"{python} -m celery -A nimbus worker --loglevel INFO --concurrency 2 --without-heartbeat "
        "--without-gossip --without-mingle",
        "temporal": f"{python} {ROOT / 'manage.py'} temporal_worker",
    }


def banner(env: dict[str, str], services: EmbeddedServices) -> str:
    domain = env.get("NIMBUS_BASE_DOMAIN", "localhost")
    port = env.get("NIMBUS_PORT", "8000")
    lines = [
        "",
        "Nimbus is starting:",
        f"  provider        http://{domain}:{port}/         (admin: http://{domain}:{port}/admin/)",
        f"  demo tenant     http://acme.{domain}:{port}/",
        f"  demo sub-tenant http://acme-dev.{domain}:{port}/",
        f"  readiness       http://{domain}:{port}/readyz",
        "  provider admin  admin@nimbus.localhost (password: NIMBUS_DEMO_PASSWORD, or .nimbus/demo-password.txt)",
    ]
    for service in services.running:
        if "ui" in service.extra:
            lines.append(f"  temporal UI     {service.extra['ui']}")
    lines.append("Press Ctrl-C to stop.\n")
    return "\n".join(lines)


def run() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "nimbus.settings.dev")
    services = EmbeddedServices(default_data_dir())
    try:
        os.environ.update(services.start())
        env = dict(os.environ)
        # The children must not start embedded services of their own: every URL is now set.
        manage("migrate_all", env=env)
        manage("seed_demo", env=env)
        print(banner(env, services), flush=True)
        manager = Manager(Printer(sys.stdout))
        for name, command in processes(env).items():
            manager.add_process(name, command, env=env, cwd=str(ROOT))
        manager.loop()
        # Ctrl-C (SIGINT) or SIGTERM from the user is a normal stop, not a failure.
        return 0 if manager.returncode in (None, 0, 130, 143) or manager.returncode < 0 else manager.returncode
    except subprocess.CalledProcessError as exc:
        print(f"Start-up step failed: {' '.join(map(str, exc.cmd[1:]))}", file=sys.stderr)
        return exc.returncode or 1
    except KeyboardInterrupt:
        return 130
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(run())
