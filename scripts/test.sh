#!/usr/bin/env bash
# Set everything up and run the whole test suite (lint, types, tests) against real servers.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
scripts/setup.sh test
export TESTCONTAINERS_RYUK_DISABLED=true
if [ -x scripts/start-docker.sh ]; then
    scripts/start-docker.sh
fi
if [ -x compose/build-offline-images.sh ]; then
    # No registry here: build the sandbox images locally (fast when they exist). The
    # application image (compose/stack.yml, minutes when cold) builds in the background
    # while the suite runs; its test waits for it.
    compose/build-offline-images.sh postgres mongo chroma metadata
    mkdir -p test-artifacts
    compose/build-offline-images.sh app >test-artifacts/app-image-build.log 2>&1 &
    app_build=$!
    trap 'kill "$app_build" 2>/dev/null || true' EXIT  # a partial suite need not wait for it
fi
echo "== ruff"; .venv/bin/ruff check .
echo "== mypy"; .venv/bin/mypy
echo "== import layers"; .venv/bin/lint-imports
echo "== pytest"
set +e
# two test processes (DBPLAY_TEST_PROCESSES): most tests wait on servers and subprocesses;
# tests sharing the Docker engine, the browser or timing run in one process (tests/conftest.py)
.venv/bin/pytest -n "${DBPLAY_TEST_PROCESSES:-2}" --dist loadgroup "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
    echo "pytest collected no tests"; exit 1
fi
exit "$status"
