#!/bin/sh
# Runs once at image build time, as the postgres user: creates the cluster in $PGDATA
# (a plain directory, NOT a Docker volume, so `docker commit` keeps the data) with
#   dbplay_admin  superuser for the orchestrator (password set at container start)
#   sandbox       the role user statements run as: no superuser, no server files,
#                 no programs, no other databases (password set when claimed)
#   sandbox       the one database users see, owned by the sandbox role
set -eu
: "${PGDATA:?}"
initdb --auth-local=peer --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 \
       --username=postgres -D "$PGDATA" >/dev/null
cat /opt/dbplay/postgresql.sandbox.conf >> "$PGDATA/postgresql.conf"
cp /opt/dbplay/pg_hba.conf "$PGDATA/pg_hba.conf"
postgres --single -D "$PGDATA" -c listen_addresses='' postgres >/dev/null <<'SQL'
CREATE ROLE dbplay_admin LOGIN SUPERUSER
;
CREATE ROLE sandbox LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT 15
;
ALTER ROLE sandbox SET statement_timeout = '5min'
;
CREATE DATABASE sandbox OWNER sandbox
;
REVOKE CONNECT, TEMPORARY ON DATABASE postgres FROM PUBLIC
;
REVOKE CONNECT, TEMPORARY ON DATABASE template1 FROM PUBLIC
;
REVOKE ALL ON DATABASE sandbox FROM PUBLIC
;
GRANT CONNECT, TEMPORARY ON DATABASE sandbox TO sandbox
;
SQL
postgres --single -D "$PGDATA" -c listen_addresses='' sandbox >/dev/null <<'SQL'
ALTER SCHEMA public OWNER TO sandbox
;
REVOKE ALL ON SCHEMA public FROM PUBLIC
;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA public
;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public
;
SQL
# hypothetical indexes for index advice, where the package is installed (created by the
# superuser so the sandbox role can use it without creating extensions)
if [ -f "$(pg_config --sharedir 2>/dev/null || echo /usr/share/postgresql/15)/extension/hypopg.control" ]; then
    printf '%s\n;\n%s\n' "CREATE EXTENSION IF NOT EXISTS hypopg SCHEMA public" \
        "GRANT SELECT ON public.hypopg_list_indexes TO sandbox" \
        | postgres --single -D "$PGDATA" -c listen_addresses='' sandbox >/dev/null
fi
