#!/bin/sh
# Container start: set the admin password given in DBPLAY_ADMIN_PASSWORD (single-user
# mode, before the server listens), then run the server in the foreground.
set -eu
: "${PGDATA:?}"
if [ "$(id -u)" = 0 ]; then
    exec runuser -u postgres -- "$0" "$@"
fi
if [ -n "${DBPLAY_ADMIN_PASSWORD:-}" ]; then
    case "$DBPLAY_ADMIN_PASSWORD" in
        *[!A-Za-z0-9_-]*) echo "DBPLAY_ADMIN_PASSWORD: only [A-Za-z0-9_-] allowed" >&2; exit 2 ;;
    esac
    echo "ALTER ROLE dbplay_admin PASSWORD '$DBPLAY_ADMIN_PASSWORD'" \
        | postgres --single -D "$PGDATA" -c listen_addresses='' postgres >/dev/null
fi
exec postgres -D "$PGDATA" "$@"
