"""System checks for the tenancy layer."""

from django.core.checks import Warning as CheckWarning
from django.core.checks import register
from django.db import DatabaseError, connection


@register("database", deploy=True)
def database_role_respects_rls(app_configs=None, databases=None, **kwargs):
    """Row-level security does not bind superusers or BYPASSRLS roles: warn when connected as one."""
    if databases is not None and "default" not in databases:
        return []
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
            row = cursor.fetchone()
    except DatabaseError:
        return []
    if row and row[0]:
        return [
            CheckWarning(
                "The database role is a superuser or has BYPASSRLS, so row-level security on shared tables is "
                "not enforced.",
                hint="Connect Nimbus with an ordinary role that owns its database (see docs/operations.md).",
                id="tenancy.W001",
            )
        ]
    return []
