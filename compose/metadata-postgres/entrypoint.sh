#!/bin/sh
# The official postgres image's start-up, as far as the stack uses it: initialise
# $PGDATA on first start (superuser $POSTGRES_USER, database $POSTGRES_DB; local socket
# connections trusted, TCP by $POSTGRES_HOST_AUTH_METHOD), then run the server (the
# command's arguments, e.g. `postgres -c max_connections=200`) as the postgres user.
set -eu
: "${PGDATA:?}"
if [ "$(id -u)" = 0 ]; then
    install -d -o postgres -g postgres -m 700 "$PGDATA"
    chown postgres:postgres "$PGDATA"
    install -d -o postgres -g postgres -m 2775 /var/run/postgresql
    # setpriv execs (runuser would stay as the parent, and the stop signal reach only it)
    exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi
user="${POSTGRES_USER:-postgres}"
db="${POSTGRES_DB:-$user}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile=""
    if [ -n "${POSTGRES_PASSWORD:-}" ]; then
        pwfile="$(mktemp)"
        printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
    fi
    initdb --username="$user" ${pwfile:+--pwfile="$pwfile"} --auth-local=trust \
        --auth-host="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" --encoding=UTF8 \
        --locale=C.UTF-8 -D "$PGDATA" >/dev/null
    [ -z "$pwfile" ] || rm -f "$pwfile"
    echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"
    if [ "$db" != postgres ]; then
        echo "CREATE DATABASE \"$db\" OWNER \"$user\"" \
            | postgres --single -D "$PGDATA" -c listen_addresses='' postgres >/dev/null
    fi
    echo "metadata-entrypoint: initialised $PGDATA (user $user, database $db)" >&2
fi
if [ "${1:-}" = postgres ]; then shift; fi
exec postgres -D "$PGDATA" "$@"
