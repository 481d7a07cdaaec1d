"""The permission registry: every ``app:resource:action`` the installed apps declare, checked once at start-up.

Each of Nimbus's installed apps (``apps.*``) may have a ``permissions`` module with a ``PERMISSIONS``
list of ``apps.core.permissions.Permission``. ``collect()`` (called from
``AccessConfig.ready``) imports them all and refuses, with
``ImproperlyConfigured``, a malformed name, a name whose first part is not
the declaring app's label, an empty label, a tier that is not a ``Tier``, or
a name declared twice. A broken declaration stops the process at start-up
rather than surfacing as a wrong authorisation later.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from apps.core.permissions import NAME_PATTERN, Permission, Tier

PROJECT_PACKAGE = "apps."
_permissions: dict[str, Permission] = {}


def validate(declared: Iterable[tuple[str, Permission]]) -> dict[str, Permission]:
    """Check ``(app label, permission)`` pairs; return them by name, or raise naming every problem found."""
    found: dict[str, Permission] = {}
    problems: list[str] = []
    for app_label, permission in declared:
        if not isinstance(permission, Permission):
            problems.append(f"{app_label}: {permission!r} is not a Permission.")
            continue
        name = permission.name
        if not NAME_PATTERN.match(name):
            problems.append(f"{app_label}: '{name}' is not of the form app:resource:action (lower case).")
        elif permission.app != app_label:
            problems.append(f"{app_label}: '{name}' must start with the declaring app's label '{app_label}:'.")
        if not permission.label.strip():
            problems.append(f"{app_label}: '{name}' has no label.")
        if not isinstance(permission.tier, Tier):
            problems.append(f"{app_label}: '{name}' has tier {permission.tier!r}, not a Tier.")
        if name in found:
            problems.append(f"{app_label}: '{name}' is declared twice.")
        found[name] = permission
    if problems:
        raise ImproperlyConfigured("Invalid permission declarations:\n" + "\n".join(problems))
    return found


def _declarations() -> Iterable[tuple[str, Permission]]:
    for config in apps.get_app_configs():
        if not config.name.startswith(PROJECT_PACKAGE):
            continue  # third-party apps have their own meaning for a "permissions" module (DRF's, say)
        try:
            module = import_module(f"{config.name}.permissions")
        except ModuleNotFoundError as error:
            if error.name == f"{config.name}.permissions":
                continue  # the app declares nothing
            raise
        for permission in getattr(module, "PERMISSIONS", ()):
            yield config.label, permission


def collect() -> None:
    """(Re)build the registry from the installed apps."""
    collected = validate(_declarations())
    _permissions.clear()
    _permissions.update(collected)


def all_permissions() -> list[Permission]:
    """Every registered permission, ordered by name."""
    return [_permissions[name] for name in sorted(_permissions)]


def get(name: str) -> Permission | None:
    return _permissions.get(name)


def exists(name: str) -> bool:
    return name in _permissions
