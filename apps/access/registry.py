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

import re
from collections.abc import Iterable
from importlib import import_module

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from apps.core.permissions import NAME_PATTERN, Permission, ResourceKind, ScopeType, Tier

PROJECT_PACKAGE = "apps."
KIND_PATTERN = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$")
_permissions: dict[str, Permission] = {}
_kinds: dict[str, ResourceKind] = {}
_scope_types: dict[str, ScopeType] = {}


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


def validate_kinds(declared: Iterable[tuple[str, ResourceKind | ScopeType]]) -> dict[str, ResourceKind | ScopeType]:
    """Check ``(app label, resource kind or scope type)`` pairs the same way as permissions."""
    found: dict = {}
    problems: list[str] = []
    for app_label, item in declared:
        if not isinstance(item, ResourceKind | ScopeType):
            problems.append(f"{app_label}: {item!r} is neither a ResourceKind nor a ScopeType.")
            continue
        if not KIND_PATTERN.match(item.name):
            problems.append(f"{app_label}: '{item.name}' is not of the form app:resource (lower case).")
        elif item.name.split(":")[0] != app_label:
            problems.append(f"{app_label}: '{item.name}' must start with the declaring app's label '{app_label}:'.")
        if item.model and item.model.count(".") != 1:
            problems.append(f"{app_label}: '{item.name}' names model '{item.model}', not 'app_label.Model'.")
        if isinstance(item, ScopeType) and not item.model:
            problems.append(f"{app_label}: scope type '{item.name}' names no model.")
        if item.name in found:
            problems.append(f"{app_label}: '{item.name}' is declared twice.")
        found[item.name] = item
    if problems:
        raise ImproperlyConfigured("Invalid resource kinds or scope types:\n" + "\n".join(problems))
    return found


def _modules():
    for config in apps.get_app_configs():
        if not config.name.startswith(PROJECT_PACKAGE):
            continue  # third-party apps have their own meaning for a "permissions" module (DRF's, say)
        try:
            module = import_module(f"{config.name}.permissions")
        except ModuleNotFoundError as error:
            if error.name == f"{config.name}.permissions":
                continue  # the app declares nothing
            raise
        yield config.label, module


def collect() -> None:
    """(Re)build the registry from the installed apps."""
    modules = list(_modules())
    collected = validate((label, p) for label, module in modules for p in getattr(module, "PERMISSIONS", ()))
    kinds = validate_kinds((label, k) for label, module in modules for k in getattr(module, "RESOURCE_KINDS", ()))
    scopes = validate_kinds((label, t) for label, module in modules for t in getattr(module, "SCOPE_TYPES", ()))
    _permissions.clear()
    _permissions.update(collected)
    _kinds.clear()
    _kinds.update(kinds)
    _scope_types.clear()
    _scope_types.update(scopes)


def all_permissions() -> list[Permission]:
    """Every registered permission, ordered by name."""
    return [_permissions[name] for name in sorted(_permissions)]


def get(name: str) -> Permission | None:
    return _permissions.get(name)


def exists(name: str) -> bool:
    return name in _permissions


def resource_kinds() -> list[ResourceKind]:
    return [_kinds[name] for name in sorted(_kinds)]


def resource_kind(name: str) -> ResourceKind | None:
    return _kinds.get(name)


def kind_of_model(model) -> ResourceKind | None:
    """The resource kind whose rows are ``model``'s (``accounts.User`` → ``accounts:user``)."""
    label = model._meta.label
    return next((kind for kind in _kinds.values() if kind.model == label), None)


def scope_types() -> list[ScopeType]:
    return [_scope_types[name] for name in sorted(_scope_types)]


def scope_type(name: str) -> ScopeType | None:
    return _scope_types.get(name)


def add_scope_type(scope: ScopeType) -> None:
    """Register a scope type outside a permissions module (tests exercising scopes before CMDB exists)."""
    _scope_types[scope.name] = scope


def remove_scope_type(name: str) -> None:
    _scope_types.pop(name, None)
