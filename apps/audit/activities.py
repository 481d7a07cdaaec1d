"""Temporal activities of the audit app: sealing, idempotent (a schema with nothing pending seals nothing).

Each schema is sealed in batches that commit one by one (``services.seal_pending``), so an activity that
dies part-way loses nothing: a retry, or the next scheduled run, carries on from the chain's head. One
schema that fails is logged and reported, never allowed to hold back the others.
"""

from __future__ import annotations

import logging

from django.db import close_old_connections
from django_tenants.utils import get_public_schema_name, schema_context
from temporalio import activity

from .services import seal_pending

logger = logging.getLogger(__name__)

BATCH = 1000
# Bounds one schema's share of a run under a flood of writes; the rest waits for the next run.
MAX_BATCHES_PER_SCHEMA = 20


def seal_schema(schema_name: str, *, batch: int = BATCH, max_batches: int = MAX_BATCHES_PER_SCHEMA) -> int:
    """Seal what is pending in ``schema_name``, a batch per transaction; return how many events were sealed."""
    total = 0
    with schema_context(schema_name):
        for _ in range(max_batches):
            sealed = seal_pending(limit=batch)
            total += sealed
            if sealed < batch:
                break
    return total


def _seal_all(schema_names: list[str]) -> dict:
    sealed, failed = 0, []
    close_old_connections()
    try:
        for schema_name in schema_names:
            try:
                sealed += seal_schema(schema_name)
            except Exception:
                logger.exception("audit sealing failed", extra={"schema": schema_name})
                failed.append(schema_name)
            if activity.in_activity():
                activity.heartbeat(schema_name)
    finally:
        close_old_connections()
    return {"sealed": sealed, "failed": failed}


@activity.defn(name="audit.seal_provider")
def seal_provider() -> dict:
    return _seal_all([get_public_schema_name()])


@activity.defn(name="audit.seal_schemas")
def seal_schemas(schema_names: list[str]) -> dict:
    return _seal_all(schema_names)


def _archive_all(schema_names: list[str]) -> dict:
    """Archive each schema's old sealed events (``archives.archive_run``); a failure leaves that schema untouched."""
    from .archives import archive_run

    archived, failed = 0, []
    close_old_connections()
    try:
        for schema_name in schema_names:
            try:
                with schema_context(schema_name):
                    archived += archive_run().events
            except Exception:
                logger.exception("audit archiving failed", extra={"schema": schema_name})
                failed.append(schema_name)
            if activity.in_activity():
                activity.heartbeat(schema_name)
    finally:
        close_old_connections()
    return {"archived": archived, "failed": failed}


@activity.defn(name="audit.archive_provider")
def archive_provider() -> dict:
    return _archive_all([get_public_schema_name()])


@activity.defn(name="audit.archive_schemas")
def archive_schemas(schema_names: list[str]) -> dict:
    return _archive_all(schema_names)


@activity.defn(name="audit.export_write")
def export_write(schema_name: str, export_id: int) -> str:
    """Write one export's file (``exports.export_write``), heartbeating per chunk; returns the export's status."""
    from .exports import export_write as write

    close_old_connections()
    try:
        with schema_context(schema_name):
            heartbeat = activity.heartbeat if activity.in_activity() else None
            export = write(export_id=export_id, heartbeat=heartbeat)
            return export.status if export else "skipped"
    finally:
        close_old_connections()


@activity.defn(name="audit.export_fail")
def export_fail(schema_name: str, export_id: int, reason: str) -> None:
    from .exports import export_fail as fail

    close_old_connections()
    try:
        with schema_context(schema_name):
            fail(export_id=export_id, reason=reason)
    finally:
        close_old_connections()


def _purge_all(schema_names: list[str]) -> dict:
    from .exports import purge_expired_exports

    expired, failed = 0, []
    close_old_connections()
    try:
        for schema_name in schema_names:
            try:
                with schema_context(schema_name):
                    expired += purge_expired_exports()
            except Exception:
                logger.exception("audit export purge failed", extra={"schema": schema_name})
                failed.append(schema_name)
            if activity.in_activity():
                activity.heartbeat(schema_name)
    finally:
        close_old_connections()
    return {"expired": expired, "failed": failed}


@activity.defn(name="audit.purge_exports_provider")
def purge_exports_provider() -> dict:
    return _purge_all([get_public_schema_name()])


@activity.defn(name="audit.purge_exports_schemas")
def purge_exports_schemas(schema_names: list[str]) -> dict:
    return _purge_all(schema_names)


ACTIVITIES = [
    seal_provider,
    seal_schemas,
    archive_provider,
    archive_schemas,
    export_write,
    export_fail,
    purge_exports_provider,
    purge_exports_schemas,
]
