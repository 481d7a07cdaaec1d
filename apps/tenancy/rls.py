"""PostgreSQL row-level security for shared tables that carry a tenant reference.

A shared (public) table read in tenant context is visible from every tenant
schema through ``search_path``. Its rows are fenced by a policy keyed on the
``nimbus.tenant_schema`` session setting, which the database backend sets
together with ``search_path``:

* ``public`` (provider context) sees and writes every row, explicitly;
* a tenant schema sees and writes only rows whose tenant owns that schema;
* no setting at all sees nothing.

``FORCE ROW LEVEL SECURITY`` makes the policy bind the table's owner too,
which is the role the application connects as. PostgreSQL exempts superusers
and BYPASSRLS roles from every policy, so production must connect as an
ordinary role (the system check ``tenancy.W001`` warns otherwise).

Use ``EnableTenantRowLevelSecurity`` in a migration of any shared app.
"""

from django.db import migrations

from .postgresql_backend.base import RLS_SETTING

POLICY_NAME = "nimbus_tenant_isolation"


def policy_condition(column: str) -> str:
    # Table and column names come from migrations (code), never from input.
    current = f"current_setting('{RLS_SETTING}', true)"
    owner = f"(SELECT t.id FROM public.tenancy_tenant t WHERE t.schema_name = {current})"  # noqa: S608
    return f"({current} = 'public' OR {column} = {owner})"


def enable_sql(table: str, column: str = "tenant_id") -> str:
    condition = policy_condition(column)
    return (
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY;'
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY;'
        f'CREATE POLICY {POLICY_NAME} ON "{table}" USING {condition} WITH CHECK {condition};'
    )


def disable_sql(table: str) -> str:
    return (
        f'DROP POLICY IF EXISTS {POLICY_NAME} ON "{table}";'
        f'ALTER TABLE "{table}" NO FORCE ROW LEVEL SECURITY;'
        f'ALTER TABLE "{table}" DISABLE ROW LEVEL SECURITY;'
    )


class EnableTenantRowLevelSecurity(migrations.RunSQL):
    """Migration operation: fence ``table``'s rows by ``column`` (a tenant id), reversibly."""

    def __init__(self, table: str, column: str = "tenant_id"):
        self.table = table
        self.column = column
        super().__init__(sql=enable_sql(table, column), reverse_sql=disable_sql(table))

    def deconstruct(self):
        return self.__class__.__qualname__, [self.table, self.column], {}

    def describe(self):
        return f"Enable tenant row-level security on {self.table}"
