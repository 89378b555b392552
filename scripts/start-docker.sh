#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine; idempotent.
#
#   scripts/start-docker.sh            # install docker.io if needed, start dockerd, wait
#
# Environment:
#   DOCKERD_LOG      where dockerd logs (default /var/log/dbplay-dockerd.log)
#   DOCKER_WAIT_S    how long to wait for `docker info` (default 60)
set -euo pipefail

log_file="${DOCKERD_LOG:-/var/log/dbplay-dockerd.log}"
wait_s="${DOCKER_WAIT_S:-60}"

if docker info >/dev/null 2>&1; then
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    echo "start-docker: dockerd missing, installing docker.io" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq docker.io >/dev/null
fi

# Start dockerd only if none is running already (it may still be starting up).
if ! pgrep -x dockerd >/dev/null 2>&1; then
    mkdir -p "$(dirname "$log_file")"
    echo "start-docker: starting dockerd (log: $log_file)" >&2
    nohup dockerd >"$log_file" 2>&1 </dev/null &
    disown || true
fi

deadline=$((SECONDS + wait_s))
delay=0.1
until docker info >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
        echo "start-docker: dockerd did not answer within ${wait_s}s; last log lines:" >&2
        tail -n 20 "$log_file" >&2 || true
        exit 1
    fi
    sleep "$delay"
    delay=$(awk -v d="$delay" 'BEGIN { d *= 2; if (d > 1) d = 1; print d }')
done
echo "start-docker: docker engine ready" >&2
