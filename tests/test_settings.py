"""Configuration comes from the environment; bad or missing values stop start-up with a clear message."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GOOD = {
    "SECRET_KEY": "x" * 60,
    "NIMBUS_BASE_DOMAIN": "nimbus.example.com",
    "DATABASE_URL": "postgresql://nimbus@127.0.0.1:5432/nimbus",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "TEMPORAL_ADDRESS": "127.0.0.1:7233",
}
PROBE = "import django; django.setup(); from django.conf import settings; print(settings.ALLOWED_HOSTS, settings.DEBUG)"


def load_settings(module: str, **overrides: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in GOOD and k not in {"DEBUG", "NIMBUS_PORT"}}
    env.update(GOOD)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    env["DJANGO_SETTINGS_MODULE"] = module
    return subprocess.run([sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_production_settings_load_with_every_variable_set():
    result = load_settings("nimbus.settings.prod")
    assert result.returncode == 0, result.stderr
    assert "['nimbus.example.com', '.nimbus.example.com'] False" in result.stdout


def test_production_names_every_missing_variable_at_once():
    result = load_settings("nimbus.settings.prod", SECRET_KEY=None, DATABASE_URL=None, NIMBUS_BASE_DOMAIN=None)
    assert result.returncode != 0
    assert "Missing required environment variable(s): SECRET_KEY, NIMBUS_BASE_DOMAIN, DATABASE_URL" in result.stderr


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("NIMBUS_PORT", "eighty", "NIMBUS_PORT='eighty' is not a whole number"),
        ("NIMBUS_PORT", "70000", "NIMBUS_PORT=70000 is out of range"),
        ("NIMBUS_BASE_DOMAIN", "not a domain", "is not a valid host name"),
        ("DEBUG", "maybe", "DEBUG='maybe' is not a boolean"),
        ("DATABASE_URL", "mysql://root@localhost/x", "must be a postgresql:// URL"),
        ("REDIS_URL", "localhost:6379", "must start with redis://"),
        ("TEMPORAL_ADDRESS", "temporal", "must be host:port"),
        ("SECRET_KEY", "short", "SECRET_KEY must be at least 50"),
        ("DEBUG", "true", "DEBUG must be false in production"),
    ],
)
def test_bad_values_are_refused_with_a_message_naming_them(variable, value, message):
    result = load_settings("nimbus.settings.prod", **{variable: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_development_defaults_need_only_the_service_urls():
    result = load_settings("nimbus.settings.dev", SECRET_KEY=None, NIMBUS_BASE_DOMAIN=None)
    assert result.returncode == 0, result.stderr
    assert "['localhost', '.localhost', '127.0.0.1', '[::1]'] True" in result.stdout


def test_manage_py_reports_configuration_errors_without_a_traceback():
    env = {k: v for k, v in os.environ.items() if k not in GOOD}
    env.update(GOOD, DJANGO_SETTINGS_MODULE="nimbus.settings.prod", SECRET_KEY="")
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert result.stderr.startswith("Configuration error: Missing required environment variable(s): SECRET_KEY")
    assert "Traceback" not in result.stderr
