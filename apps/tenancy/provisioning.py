"""Extension point for tenant provisioning: seeders that higher apps register.

Apps above ``tenancy`` (accounts, access, ...) must seed every new tenant
(system roles, first admin, default policies) without ``tenancy`` importing
them. Each registers a seeder here from its ``AppConfig.ready``; the
provisioning service calls them in registration order, inside the new
tenant's schema and inside the provisioning transaction, so a failing seeder
undoes the whole tenant.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import Tenant

Seeder = Callable[..., None]
_seeders: list[tuple[str, Seeder]] = []


def register_seeder(name: str, seeder: Seeder) -> None:
    """Register ``seeder(tenant=..., options=...)``; re-registering a name replaces it."""
    unregister_seeder(name)
    _seeders.append((name, seeder))


def unregister_seeder(name: str) -> None:
    _seeders[:] = [(n, s) for n, s in _seeders if n != name]


def run_seeders(*, tenant: Tenant, options: dict[str, Any]) -> None:
    for _name, seeder in list(_seeders):
        seeder(tenant=tenant, options=options)
