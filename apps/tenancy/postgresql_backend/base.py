"""django-tenants' PostgreSQL backend plus the row-level-security tenant setting.

Whenever django-tenants points ``search_path`` at a schema, this backend also
sets the session variable ``nimbus.tenant_schema`` to the same schema in the
same statement. The RLS policies on shared tables (``apps.tenancy.rls``) read
it, so the database itself keeps a tenant's connection to the tenant's rows,
whatever query the application sends. ``public`` is the provider context and
sees every row; an unset variable sees none.
"""

import django.db.utils
from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper
from django_tenants.postgresql_backend.base import psycopg
from django_tenants.utils import get_limit_set_calls, quote_schema_name

RLS_SETTING = "nimbus.tenant_schema"


class DatabaseWrapper(TenantDatabaseWrapper):
    def _handle_search_path(self, cursor=None):
        # Mirrors the parent's guard clauses; the SET below carries both values at once,
        # so the RLS setting can never disagree with the search_path.
        if self._setting_search_path:
            return
        if get_limit_set_calls() and self.search_path_set_schemas:
            return
        search_paths = self._get_cursor_search_paths()
        self._setting_search_path = True
        cursor_for_search_path = self.connection.cursor() if cursor is None else cursor
        try:
            paths = ",".join(quote_schema_name(s) for s in search_paths)
            # The schema name is validated by _get_cursor_search_paths(); quote it as a literal.
            literal = "'" + self.schema_name.replace("'", "''") + "'"
            cursor_for_search_path.execute(f"SET search_path = {paths}; SET {RLS_SETTING} = {literal}")
        except (django.db.utils.DatabaseError, psycopg.InternalError):
            self.search_path_set_schemas = None
        else:
            self.search_path_set_schemas = search_paths
        finally:
            self._setting_search_path = False
            if cursor is None:
                cursor_for_search_path.close()
