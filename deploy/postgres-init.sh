#!/bin/sh
# SMC's database roles and database. The postgres image runs this once, when its data
# volume is new (mounted into /docker-entrypoint-initdb.d by docker-compose.yml).
#
# smc_owner owns the database and every table; migrations and operator commands use it.
# smc_app is what web, worker and beat connect as: it owns nothing, so it cannot switch
# off row-level security, the audit triggers or its grants (migrate grants it row rights
# on every table, smc/apps.py). Neither role is a superuser or bypasses row-level security.
set -e

: "${SMC_OWNER_DB_PASSWORD:?SMC_OWNER_DB_PASSWORD must be set for the postgres service}"
: "${SMC_APP_DB_PASSWORD:?SMC_APP_DB_PASSWORD must be set for the postgres service}"

# The passwords travel as psql variables (:'name' quotes them), never through the shell.
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname postgres \
  -v owner_password="$SMC_OWNER_DB_PASSWORD" \
  -v app_password="$SMC_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE smc_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
  PASSWORD :'owner_password';
CREATE ROLE smc_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE
  PASSWORD :'app_password';
CREATE DATABASE smc OWNER smc_owner;
REVOKE ALL ON DATABASE smc FROM PUBLIC;
GRANT CONNECT ON DATABASE smc TO smc_app;
-- Record search (R3) under row-level security: an index serves a condition on a
-- row-secured table only if its function is LEAKPROOF; full-text matching is, but is
-- not marked so, and only a superuser can mark it (smc/embedded.py says more).
\connect smc
ALTER FUNCTION pg_catalog.ts_match_vq(tsvector, tsquery) LEAKPROOF;
SQL
