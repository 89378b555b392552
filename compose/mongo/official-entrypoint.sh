#!/bin/sh
# Entrypoint of the official-image MongoDB sandbox (compose/mongo/Dockerfile), run as root.
#
# The official entrypoint creates the root user from MONGO_INITDB_ROOT_USERNAME/PASSWORD only
# when the data directory is empty. A baked template image already holds that user, with the
# password of the container it was baked in; every sandbox gets its own admin password, so
# re-key the existing user first: a mongod without --auth, on 127.0.0.1 and a private port
# (nothing outside the container can reach it), changes the password and shuts down. Then
# the official entrypoint starts mongod with --auth as usual (skipping its own init).
set -eu
data=/dbplay-data
if [ -n "${MONGO_INITDB_ROOT_PASSWORD:-}" ] && [ -e "$data/WiredTiger" ]; then
    case "$MONGO_INITDB_ROOT_USERNAME$MONGO_INITDB_ROOT_PASSWORD" in
        *[!A-Za-z0-9_-]*) echo "MONGO_INITDB_ROOT_*: only [A-Za-z0-9_-] allowed" >&2; exit 2 ;;
    esac
    gosu mongodb mongod --dbpath "$data" --bind_ip 127.0.0.1 --port 27099 --nounixsocket \
        --wiredTigerCacheSizeGB 0.25 --fork --logpath /tmp/dbplay-rekey.log >/dev/null
    mongosh --quiet --port 27099 admin --eval \
        "db.changeUserPassword('$MONGO_INITDB_ROOT_USERNAME', '$MONGO_INITDB_ROOT_PASSWORD')"
    gosu mongodb mongod --dbpath "$data" --shutdown >/dev/null
fi
exec docker-entrypoint.sh "$@"
