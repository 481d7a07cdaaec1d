#!/usr/bin/env bash
# First-start initialisation for the postgres service in docker-compose.yml.
#
# Creates the role Nimbus connects as and the database it owns. The role must
# be an ordinary one: PostgreSQL exempts superusers and BYPASSRLS roles from
# row-level security, which Nimbus relies on for tenant isolation of shared
# tables. It owns its database, so it can create the per-tenant schemas.
#
# The postgres image runs this only when the data volume is empty; changing
# NIMBUS_DB_PASSWORD later does not change the role's password (use
# ALTER ROLE nimbus PASSWORD ... for that).
set -eo pipefail

: "${NIMBUS_DB_PASSWORD:?NIMBUS_DB_PASSWORD must be set for the nimbus database role}"

# The password travels as a psql variable and is quoted by psql (:'...'),
# so no character in it can change the statement.
psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    --set=app_password="$NIMBUS_DB_PASSWORD" <<'SQL'
CREATE ROLE nimbus LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE NOREPLICATION
    PASSWORD :'app_password';
CREATE DATABASE nimbus OWNER nimbus;
SQL
