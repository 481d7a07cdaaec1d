"""Celery tasks of the tenancy app. Tasks take ids or names, never model instances."""

from django.db import connection

from nimbus.celery import app


@app.task(name="tenancy.context_probe")
def context_probe() -> dict:
    """Report the schema the worker ran this task in: the sender's, thanks to tenant-schemas-celery."""
    tenant = getattr(connection, "tenant", None)
    return {"schema": connection.schema_name, "slug": getattr(tenant, "slug", None)}


@app.task(name="tenancy.refill_spare_schemas", ignore_result=True)
def refill_spare_schemas() -> int:
    """Top up the pool of spare tenant schemas after a provisioning used one."""
    from . import schemas

    return schemas.spares_refill()
