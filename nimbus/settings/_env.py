"""Reading and validating the environment: the only source of configuration.

Every setting module reads its values through here, so that a bad or missing
variable stops start-up with one message naming the variable and what it
should hold, instead of failing later inside a request.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]

env = environ.Env()

SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "TEMPORAL_ADDRESS")
PRODUCTION_VARIABLES = ("SECRET_KEY", "NIMBUS_BASE_DOMAIN", *SERVICE_VARIABLES)

_HOSTNAME = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


def require(names: tuple[str, ...], *, why: str) -> None:
    missing = [name for name in names if not os.environ.get(name)]
    if missing:
        raise ImproperlyConfigured(
            f"Missing required environment variable(s): {', '.join(missing)} ({why}). "
            "See README.md, section 'Configuration'."
        )


def require_services() -> None:
    require(
        SERVICE_VARIABLES,
        why="start Nimbus with 'make run' or 'python manage.py', which start embedded services for unset ones, "
        "or point them at real servers",
    )


def read_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use true or false.")


def read_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise ImproperlyConfigured(f"{name}={value} is out of range; it must be {bounds}.")
    return value


def read_hostname(name: str, default: str) -> str:
    value = (os.environ.get(name) or default).strip().lower().rstrip(".")
    if not _HOSTNAME.match(value):
        raise ImproperlyConfigured(f"{name}={value!r} is not a valid host name (like 'nimbus.example.com').")
    return value


def read_database(name: str = "DATABASE_URL") -> dict:
    raw = os.environ[name]
    try:
        config = env.db_url_config(raw)
    except Exception as exc:  # noqa: BLE001 - django-environ raises several unrelated types for a bad URL
        raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    if not config.get("ENGINE", "").endswith("postgresql"):
        raise ImproperlyConfigured(f"{name} must be a postgresql:// URL; Nimbus needs PostgreSQL schemas.")
    options = config.setdefault("OPTIONS", {})
    # A unix-socket URL carries its directory as ?host=...; Django wants it in HOST.
    if "host" in options:
        config["HOST"] = options.pop("host")
    return config


def read_redis_url(name: str = "REDIS_URL") -> str:
    value = os.environ[name]
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"{name}={value!r} must start with redis://, rediss:// or unix://.")
    return value


def read_address(name: str) -> str:
    value = os.environ[name].strip()
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ImproperlyConfigured(f"{name}={value!r} must be host:port, like 127.0.0.1:7233.")
    return value
