#!/usr/bin/env bash
# Set everything up and run DB Playground (UI on http://localhost:8501 by default).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/scripts/setup.sh" app
exec "$here/.venv/bin/dbplay" up "$@"
