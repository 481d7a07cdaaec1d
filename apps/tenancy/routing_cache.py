"""A short-lived cache of host → tenant, so routing a request costs one cache read, not a joined query.

Every tenancy service that changes what routing decides (status, name,
domains) forgets the affected hosts once its transaction commits, so a
suspended tenant is refused on the next request. The TTL only bounds changes
made behind the services' back. Cache operations always run in provider
context, so their keys never depend on the schema a caller happened to be in.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from .context import provider_context


def _key(hostname: str) -> str:
    return f"tenancy:route:{hostname}"


def get(hostname: str):
    if not settings.NIMBUS_ROUTING_CACHE_SECONDS:
        return None
    with provider_context():
        return cache.get(_key(hostname))


def put(hostname: str, tenant) -> None:
    if settings.NIMBUS_ROUTING_CACHE_SECONDS:
        with provider_context():
            cache.set(_key(hostname), tenant, settings.NIMBUS_ROUTING_CACHE_SECONDS)


def forget(hostnames: Iterable[str]) -> None:
    with provider_context():
        cache.delete_many([_key(hostname) for hostname in hostnames])


def forget_on_commit(hostnames: Iterable[str]) -> None:
    """Forget now (for readers inside this transaction) and again after commit (for any that re-read meanwhile)."""
    hostnames = list(hostnames)
    if settings.NIMBUS_ROUTING_CACHE_SECONDS:
        forget(hostnames)
        transaction.on_commit(lambda: forget(hostnames))
