"""The deployment files agree with the code they deploy and with each other.

Covers docker-compose.yml, the Dockerfile, .dockerignore, the PostgreSQL init
script and build.ps1. No Docker engine is needed: the files are parsed, and
where a step can run without Docker (the image's collectstatic step, the probe
path, the one-shot shell scripts) it is run. When the docker CLI has the
compose plugin, compose itself validates the file as well.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from django.http import HttpResponse
from django.test import RequestFactory

from apps.core.health import HealthCheckMiddleware
from nimbus.settings._env import PRODUCTION_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
APP_SERVICES = ("web", "migrate", "celery", "temporal-worker")
INFRASTRUCTURE_SERVICES = ("postgres", "valkey", "temporal", "temporal-ui", "minio")
MAKE_TASKS = {"install", "run", "test", "bench", "lint", "format"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        keyword, _, rest = (pending + line).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def instruction(dockerfile, keyword: str) -> list[str]:
    return [rest for kw, rest in dockerfile if kw == keyword]


def depends_on(service: dict) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60, check=False)
    return probe.returncode == 0


# --- docker-compose.yml -----------------------------------------------------------------


def test_compose_runs_the_infrastructure_and_every_application_role(compose):
    services = set(compose["services"])
    missing = set(INFRASTRUCTURE_SERVICES + APP_SERVICES) - services
    assert not missing, f"docker-compose.yml lacks services: {sorted(missing)}"


def test_compose_is_well_formed_and_valid_for_docker_compose_when_available(compose):
    allowed_top_level = {"name", "services", "volumes", "networks", "configs", "secrets"}
    unknown = {key for key in compose if key not in allowed_top_level and not key.startswith("x-")}
    assert not unknown, f"unknown top-level keys: {sorted(unknown)}"
    declared_volumes = set(compose.get("volumes") or {})
    for name, service in compose["services"].items():
        assert "image" in service or "build" in service, f"{name} has neither image nor build"
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
            else:
                assert source in declared_volumes, f"{name} uses undeclared volume {source}"

    if docker_compose_available():
        env = {**os.environ, "SECRET_KEY": "x" * 64}
        result = subprocess.run(
            ["docker", "compose", "-f", "docker-compose.yml", "config", "-q"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def test_application_services_share_the_production_environment(compose):
    shared = compose["x-nimbus-env"]
    assert shared["DJANGO_SETTINGS_MODULE"] == "nimbus.settings.prod"
    # Exactly the variables nimbus.settings.prod refuses to start without.
    assert set(PRODUCTION_VARIABLES) <= set(shared)
    for name in APP_SERVICES:
        environment = compose["services"][name]["environment"]
        assert isinstance(environment, dict), f"{name} environment must be the shared mapping"
        differing = {key for key, value in shared.items() if environment.get(key) != value}
        assert not differing, f"{name} does not carry the shared value of {sorted(differing)}"


def test_compose_refuses_to_start_without_a_secret_key(compose):
    assert compose["x-nimbus-env"]["SECRET_KEY"].startswith("${SECRET_KEY:?")


def test_application_connects_to_postgres_as_the_non_superuser_nimbus_role(compose):
    url = urlsplit(compose["x-nimbus-env"]["DATABASE_URL"])
    assert url.scheme == "postgresql"
    assert (url.username, url.hostname, url.port, url.path) == ("nimbus", "postgres", 5432, "/nimbus")
    postgres = compose["services"]["postgres"]
    # The superuser is only the cluster administrator; the application never uses it.
    assert postgres["environment"]["POSTGRES_USER"] == "postgres"
    assert url.username != postgres["environment"]["POSTGRES_USER"]
    init_mounts = [m for m in postgres["volumes"] if ":/docker-entrypoint-initdb.d/" in m]
    assert [m.split(":", 1)[0] for m in init_mounts] == ["./deploy/postgres/init.sh"]
    init_sql = (ROOT / "deploy/postgres/init.sh").read_text()
    role = re.search(r"CREATE ROLE nimbus\b([^;]*);", init_sql)
    assert role, "init.sh does not create the nimbus role"
    for attribute in ("LOGIN", "NOSUPERUSER", "NOBYPASSRLS"):
        assert attribute in role.group(1).split(), f"the nimbus role lacks {attribute}"
    assert re.search(r"CREATE DATABASE nimbus OWNER nimbus\s*;", init_sql)
    assert "NIMBUS_DB_PASSWORD" in postgres["environment"]


def test_every_image_is_pinned_to_a_version(compose):
    for name, service in compose["services"].items():
        if "image" not in service:
            continue
        image = service["image"].split("@", 1)[0]
        last_segment = image.rsplit("/", 1)[-1]
        assert ":" in last_segment, f"{name}: image {image} has no tag"
        tag = last_segment.split(":", 1)[1]
        assert tag and tag != "latest", f"{name}: image {image} is not pinned"


def test_migrations_complete_before_any_long_running_application_service_starts(compose):
    services = compose["services"]
    assert "migrate_all" in services["migrate"]["command"]
    assert services["migrate"]["restart"] == "no"
    assert depends_on(services["migrate"])["postgres"] == "service_healthy"
    for name in ("web", "celery", "temporal-worker"):
        assert depends_on(services[name]).get("migrate") == "service_completed_successfully", name


def test_application_commands_match_the_development_launcher(compose):
    services = compose["services"]
    assert services["celery"]["command"][:4] == ["celery", "-A", "nimbus", "worker"]
    assert services["temporal-worker"]["command"] == ["python", "manage.py", "temporal_worker"]
    # web runs the image's default command.
    assert "command" not in services["web"]


def test_dependency_conditions_refer_to_services_that_can_satisfy_them(compose):
    services = compose["services"]
    for name, service in services.items():
        for target, condition in depends_on(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            if condition == "service_healthy":
                check = services[target].get("healthcheck") or {}
                has_check = bool(check.get("test")) or (target in APP_SERVICES and not check)
                assert has_check and not check.get("disable"), (
                    f"{name} waits for {target} to be healthy, it has no check"
                )
            if condition == "service_completed_successfully":
                assert services[target].get("restart") in ("no", None), f"{target} restarts, so it never completes"


def test_one_shot_shell_scripts_are_valid_sh(compose):
    sh = shutil.which("sh")
    assert sh
    scripts = 0
    for name, service in compose["services"].items():
        if service.get("entrypoint", [None])[0] != "/bin/sh":
            continue
        # Compose turns $$ into a literal $ before the shell sees the script.
        script = service["command"][0].replace("$$", "$")
        result = subprocess.run([sh, "-n", "-c", script], capture_output=True, text=True, check=False)
        assert result.returncode == 0, f"{name}: {result.stderr}"
        scripts += 1
    assert scripts >= 2


def test_admin_interfaces_without_authentication_listen_on_loopback_only(compose):
    for name in ("temporal-ui", "minio"):
        for port in compose["services"][name].get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"


# --- Dockerfile and .dockerignore ----------------------------------------------------------


def test_image_runs_as_an_unprivileged_user(dockerfile):
    users = instruction(dockerfile, "USER")
    assert users, "the Dockerfile never leaves root"
    final_user = users[-1].split(":", 1)[0]
    assert final_user not in ("root", "0")
    commands = [kw for kw, _ in dockerfile if kw in ("USER", "CMD", "ENTRYPOINT")]
    assert commands.index("USER") < commands.index("CMD")


def test_image_installs_production_requirements_under_the_constraints(dockerfile):
    installs = [run for run in instruction(dockerfile, "RUN") if "pip install" in run]
    assert any("requirements/prod.txt" in run and "-c requirements/constraints.txt" in run for run in installs)
    assert not any("requirements/dev.txt" in run for run in installs)


def test_image_collectstatic_step_succeeds_with_its_placeholder_environment(dockerfile, tmp_path):
    step = next(run for run in instruction(dockerfile, "RUN") if "collectstatic" in run)
    command = next(part for part in step.split("&&") if "collectstatic" in part)
    words = shlex.split(command)
    placeholders = {}
    while "=" in words[0]:
        key, _, value = words.pop(0).partition("=")
        placeholders[key] = value
    assert words[:3] == ["python", "manage.py", "collectstatic"]
    assert set(PRODUCTION_VARIABLES) <= set(placeholders)

    image_env: dict[str, str] = {}
    for env in instruction(dockerfile, "ENV"):
        image_env.update(word.split("=", 1) for word in shlex.split(env))
    assert image_env["DJANGO_SETTINGS_MODULE"] == "nimbus.settings.prod"

    # Only what the build would have: no service URLs from the test session.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path)}
    env.update(image_env)
    env.update(placeholders)
    env["NIMBUS_STATIC_ROOT"] = str(tmp_path / "staticfiles")
    result = subprocess.run(
        [sys.executable, *words[1:]], cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "staticfiles" / "staticfiles.json").read_text())
    assert "nimbus/nimbus.css" in manifest["paths"]


def test_default_command_serves_the_asgi_application_on_the_exposed_port(dockerfile):
    command = json.loads(instruction(dockerfile, "CMD")[-1])
    assert command[:2] == ["uvicorn", "nimbus.asgi:application"]
    options = dict(zip(command[2::2], command[3::2], strict=False))
    assert options["--host"] == "0.0.0.0"
    assert options["--ws"] == "websockets-sansio"
    assert "--proxy-headers" in command
    assert options["--port"] in instruction(dockerfile, "EXPOSE")[-1].split()


def test_healthcheck_probes_the_liveness_endpoint_the_application_answers(dockerfile):
    healthcheck = instruction(dockerfile, "HEALTHCHECK")[-1]
    match = re.search(r"urlopen\('http://127\.0\.0\.1:(\d+)(/[^']*)'", healthcheck)
    assert match, "HEALTHCHECK does not probe the local server over HTTP with urllib"
    port, path = match.groups()
    cmd = json.loads(instruction(dockerfile, "CMD")[-1])
    assert cmd[cmd.index("--port") + 1] == port
    middleware = HealthCheckMiddleware(lambda request: HttpResponse(status=404))
    response = middleware(RequestFactory().get(path, HTTP_HOST="127.0.0.1:8000"))
    assert response.status_code == 200


def test_dockerignore_keeps_local_state_out_but_not_what_the_build_needs():
    patterns = {
        line.strip().strip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".venv", ".nimbus", "node_modules", ".git"} <= patterns
    for needed in ("requirements", "static", "manage.py", "nimbus", "apps", "templates"):
        assert needed not in patterns, f".dockerignore excludes {needed}, which the image needs"


# --- build.ps1 ---------------------------------------------------------------------------------


def test_build_ps1_offers_the_makefile_tasks_through_the_same_entry_points():
    makefile = (ROOT / "Makefile").read_text()
    phony = set(re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE).group(1).split())
    assert phony >= MAKE_TASKS

    script = (ROOT / "build.ps1").read_text()
    validate_set = re.search(r"\[ValidateSet\(([^)]*)\)\]", script)
    assert validate_set, "build.ps1 has no ValidateSet for the task name"
    offered = set(re.findall(r"'([^']+)'", validate_set.group(1)))
    assert offered == MAKE_TASKS

    for module in ("nimbus.launcher", "pytest", "bench", "ruff"):
        assert f"-m {module}" in makefile
        assert f"'-m', '{module}'" in script, f"build.ps1 does not run python -m {module}"
    assert "'format', '--check'" in script
    assert "requirements\\dev.txt" in script and "requirements\\constraints.txt" in script
    assert "py' @('-3.11', '-m', 'venv'" in script
