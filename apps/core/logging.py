"""Logging filters that enrich every record with Nimbus context."""

import logging


class TenantSchemaFilter(logging.Filter):
    """Adds ``tenant_schema``: the PostgreSQL schema the current thread's connection is set to."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "tenant_schema"):
            try:
                from django.db import connection

                record.tenant_schema = getattr(connection, "schema_name", None) or "-"
            except Exception:  # noqa: BLE001 - logging must never raise (e.g. before settings load)
                record.tenant_schema = "-"
        if not hasattr(record, "correlation_id"):
            record.correlation_id = "-"
        return True
