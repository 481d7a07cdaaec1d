"""django-tenants' PostgreSQL backend plus the row-level-security tenant setting.

Whenever django-tenants points ``search_path`` at a schema, this backend also
sets the session variable ``nimbus.tenant_schema`` in the same statement, so
the two can never disagree. The RLS policies on shared tables
(``apps.tenancy.rls``) read it:

* in a tenant's schema it is that schema: only that tenant's rows;
* in ``public`` it is ``public`` (every row) only in an explicit provider
  context — ``apps.tenancy.context.provider_context()``, or a request routed to
  the provider's own host — and empty (no rows) otherwise. Code that lost its
  tenant context and fell back to ``public`` therefore sees nothing, instead
  of every tenant's rows.
"""

import django.db.utils
from django.core.exceptions import ImproperlyConfigured
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.postgresql_backend.base import psycopg
from django_tenants.utils import get_limit_set_calls, get_public_schema_name, quote_schema_name

RLS_SETTING = "nimbus.tenant_schema"
RLS_EVERY_TENANT = "public"


class DatabaseWrapper(TenantDatabaseWrapper):
    # Depth of nested provider_context() blocks on this connection.
    rls_provider_depth = 0

    def rls_value(self) -> str:
        if self.schema_name != get_public_schema_name():
            return self.schema_name
        provider_request = getattr(self.tenant, "kind", None) == "provider"
        return RLS_EVERY_TENANT if self.rls_provider_depth > 0 or provider_request else ""

    def _handle_search_path(self, cursor=None):
        # Mirrors django-tenants' own method, sending both settings in one statement.
        if self._setting_search_path:
            return
        if get_limit_set_calls() and self.search_path_set_schemas:
            return
        if not self.schema_name:
            raise ImproperlyConfigured("Database schema not set. Did you forget to call set_schema() or set_tenant()?")
        search_paths = self._get_cursor_search_paths()
        self._setting_search_path = True
        cursor_for_search_path = self.connection.cursor() if cursor is None else cursor
        try:
            paths = ",".join(quote_schema_name(s) for s in search_paths)
            # Schema names are validated by _get_cursor_search_paths(); quote the value as a literal.
            literal = "'" + self.rls_value().replace("'", "''") + "'"
            cursor_for_search_path.execute(f"SET search_path = {paths}; SET {RLS_SETTING} = {literal}")
        except (django.db.utils.DatabaseError, psycopg.InternalError):
            self.search_path_set_schemas = None
        else:
            self.search_path_set_schemas = search_paths
        finally:
            self._setting_search_path = False
            if cursor is None:
                cursor_for_search_path.close()
