#!/usr/bin/env bash
# Set up everything DB Playground needs on a Debian/Ubuntu machine with Python 3.11+.
#   scripts/setup.sh app    system packages for running the app + the Python environment
#   scripts/setup.sh test   ... plus what the test suite needs (Docker, Chromium, ...)
# Idempotent: packages already present are not reinstalled.
set -euo pipefail
profile="${1:-app}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

sudo_cmd=""
if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi

# Debian packages: redis for the job queue; PostgreSQL 15 so the embedded (no-Docker)
# provisioner can offer PostgreSQL (with HypoPG, so index advice screens hypothetical
# indexes); graphviz for ER diagrams.
packages=(redis-server postgresql-15 postgresql-15-hypopg graphviz python3-venv)
if [ "$profile" = test ]; then
    packages+=(docker.io docker-compose debootstrap chromium chromium-driver)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

# Python environment.
python="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
stamp=.venv/.dbplay-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing Python packages"
    .venv/bin/pip install -q --upgrade pip
    # compat: a plain path entry instead of an import hook, which every `dbplay` start
    # would otherwise pay for (15-80 ms measured)
    .venv/bin/pip install -q -e ".[dev]" --config-settings editable_mode=compat
    touch "$stamp"
fi

# Chroma's default embedding model downloads on first use; where there is no internet,
# use a local copy laid out like Chroma's own cache (see README, "Offline machines").
model_dst="$HOME/.cache/chroma/onnx_models/all-MiniLM-L6-v2/onnx"
model_src="${DBPLAY_CHROMA_MODEL_DIR:-$here/../shared/models/chroma-all-MiniLM-L6-v2/onnx}"
if [ ! -f "$model_dst/model.onnx" ] && [ -d "$model_src" ]; then
    mkdir -p "$model_dst"
    cp -r "$model_src/." "$model_dst/"
fi
echo "setup: done ($profile)"
