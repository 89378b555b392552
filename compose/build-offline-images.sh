#!/usr/bin/env bash
# Build the sandbox images without an image registry (this machine, air-gapped sites).
#
#   compose/build-offline-images.sh [postgres] [mongo] [chroma]     # default: all three
#
#   dbplay/debian:bookworm       debootstrap --variant=minbase, `docker import`ed
#   dbplay/postgres:15           Debian's postgresql-15, cluster in /pgdata (not a volume)
#   dbplay/mongo-standin:latest  the nx-27017 MongoDB wire-protocol stand-in (dbplay.standin=true)
#   dbplay/chroma:latest         chromadb's `chroma run`
#
# Idempotent and fast when nothing changed: every image carries a `dbplay.inputs` label (a
# digest of its build files); an image whose label matches is not rebuilt. Python packages
# are built into wheels on the host (`pip wheel`), because HTTPS from inside containers fails
# here, and installed in the image with `pip install --no-index`.
#
# Environment: DBPLAY_BUILD_CACHE (default /var/cache/dbplay-build), PYTHON (a Python 3.11
# with pip; default: the repo's .venv, else python3), DEBIAN_MIRROR.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
cache="${DBPLAY_BUILD_CACHE:-/var/cache/dbplay-build}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; else PYTHON=python3; fi
fi
base=dbplay/debian:bookworm

say() { echo "build-offline-images: $*" >&2; }
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

inputs_digest() {  # digest of the files that define an image, plus its base image id
    local dir="$1"
    {
        docker image inspect -f '{{.Id}}' "$base"
        (cd "$dir" && find . -type f ! -name Dockerfile ! -name "official-*" -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
    } | sha256sum | cut -c1-16
}

ensure_base() {
    if image_exists "$base"; then return; fi
    command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap >/dev/null; }
    local rootfs="$cache/rootfs-bookworm"
    rm -rf "$rootfs"; mkdir -p "$cache"
    say "debootstrap bookworm (minbase) into $rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
        || { tail -n 20 "$cache/debootstrap.log" >&2; exit 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import -c 'ENV LANG=C.UTF-8' - "$base" >/dev/null
    rm -rf "$rootfs"
    say "imported $base"
}

# build_image TAG CONTEXT_DIR [PIP_PACKAGE]: rebuild TAG when its inputs changed.
build_image() {
    local tag="$1" src="$2" package="${3:-}"
    local digest; digest="$(inputs_digest "$src")"
    if [[ -n "$package" ]]; then digest="$digest-$package"; fi
    if [[ "$(image_label "$tag" dbplay.inputs)" == "$digest" ]]; then
        say "$tag is up to date"; return
    fi
    local ctx; ctx="$(mktemp -d)"
    # shellcheck disable=SC2064
    trap "rm -rf '$ctx'" RETURN
    cp -a "$src"/. "$ctx"/
    mkdir -p "$ctx/wheels"
    if [[ -n "$package" ]]; then
        local wheels="$cache/wheels/$package"
        mkdir -p "$wheels"
        say "building wheels for $package into $wheels"
        "$PYTHON" -m pip wheel --quiet --disable-pip-version-check -w "$wheels" "$package" 2>&1 \
            | { grep -v " is ignored: it is neither a file nor a directory" || true; } >&2
        cp -al "$wheels"/. "$ctx/wheels/" 2>/dev/null || cp -a "$wheels"/. "$ctx/wheels/"
    fi
    say "building $tag"
    docker build --quiet --label "dbplay.inputs=$digest" -f "$ctx/Dockerfile.offline" \
        -t "$tag" "$ctx" >/dev/null
    say "built $tag"
}

main() {
    local targets=("$@")
    if ((${#targets[@]} == 0)); then targets=(postgres mongo chroma); fi
    docker info >/dev/null 2>&1 || { say "no Docker engine answers (run scripts/start-docker.sh)"; exit 1; }
    ensure_base
    local t
    for t in "${targets[@]}"; do
        case "$t" in
            postgres) build_image dbplay/postgres:15 "$here/postgres" ;;
            mongo) build_image dbplay/mongo-standin:latest "$here/mongo" nx-27017 ;;
            chroma) build_image dbplay/chroma:latest "$here/chroma" chromadb ;;
            *) say "unknown image '$t' (postgres, mongo, chroma)"; exit 2 ;;
        esac
    done
}

main "$@"
