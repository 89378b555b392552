#!/usr/bin/env bash
# Build the sandbox images without an image registry (this machine, air-gapped sites).
#
#   compose/build-offline-images.sh [postgres] [mongo] [chroma] [metadata] [app]  # default: all
#
#   dbplay/debian:bookworm       debootstrap --variant=minbase, `docker import`ed
#   dbplay/postgres:15           Debian's postgresql-15, cluster in /pgdata (not a volume)
#   dbplay/mongo-standin:latest  the nx-27017 MongoDB wire-protocol stand-in (dbplay.standin=true)
#   dbplay/chroma:latest         chromadb's `chroma run`
#   dbplay/postgres-metadata:15  the compose stack's metadata database (official postgres
#                                image's start-up contract; on dbplay/postgres:15's layers)
#   dbplay/app:latest            the application (compose/stack.yml): the project's source,
#                                its dependencies from host-built wheels pinned to the
#                                versions installed in PYTHON's environment
#
# Idempotent and fast when nothing changed: every image carries a `dbplay.inputs` label (a
# digest of its build files); an image whose label matches is not rebuilt. Python packages
# are built into wheels on the host (`pip wheel`), because HTTPS from inside containers fails
# here, and installed in the image with `pip install --no-index`.
#
# Environment: DBPLAY_BUILD_CACHE (default /var/cache/dbplay-build), PYTHON (a Python 3.11
# with pip; default: the repo's .venv, else python3), WHEEL_PYTHON (builds the application's
# wheels: environment markers such as `python_full_version < "3.11.3"` must be read by
# the image's own Python version; default /usr/bin/python3, Debian bookworm's 3.11.2 like
# the image), DEBIAN_MIRROR.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
cache="${DBPLAY_BUILD_CACHE:-/var/cache/dbplay-build}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x "$repo/.venv/bin/python" ]]; then PYTHON="$repo/.venv/bin/python"; else PYTHON=python3; fi
fi
wheel_python="${WHEEL_PYTHON:-/usr/bin/python3}"
base=dbplay/debian:bookworm

say() { echo "build-offline-images: $*" >&2; }
image_exists() { docker image inspect "$1" >/dev/null 2>&1; }
image_label() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

inputs_digest() {  # digest of the files that define an image, plus its base image id
    local dir="$1" from="${2:-$base}"
    {
        docker image inspect -f '{{.Id}}' "$from"
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

# build_image TAG CONTEXT_DIR [PIP_PACKAGE [FROM_IMAGE]]: rebuild TAG when its inputs changed.
build_image() {
    local tag="$1" src="$2" package="${3:-}" from="${4:-$base}"
    local digest; digest="$(inputs_digest "$src" "$from")"
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

# The application image's inputs: compose/app, the project's source and its pinned
# requirements (the project's dependencies, at the versions PYTHON's environment has).
app_requirements() {
    "$PYTHON" - "$repo/pyproject.toml" <<'PY'
import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))
PY
}

source_digest() {
    (cd "$repo" && find engines orchestrator workers ui pyproject.toml -type f \
        ! -path '*/__pycache__/*' ! -name '*.pyc' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) \
        | sha256sum | cut -c1-16
}

build_app_image() {
    local tag=dbplay/app:latest src="$here/app"
    local requirements constraints pins digest
    # one app build at a time (scripts/test.sh starts one in the background; a test that
    # needs the image asks again and waits here, then finds it up to date)
    mkdir -p "$cache"
    exec {app_lock}>"$cache/app-build.lock"
    flock "$app_lock"
    requirements="$(app_requirements)"
    constraints="$("$PYTHON" -m pip freeze --disable-pip-version-check --exclude-editable \
        | grep -v ' @ ' || true)"
    pins="$({ printf '%s\n--\n%s\n' "$requirements" "$constraints"; "$wheel_python" -V; } \
        | sha256sum | cut -c1-16)"
    digest="$(inputs_digest "$src")-$(source_digest)-$pins"
    if [[ "$(image_label "$tag" dbplay.inputs)" == "$digest" ]]; then
        say "$tag is up to date"; return
    fi
    local ctx; ctx="$(mktemp -d)"
    # shellcheck disable=SC2064
    trap "rm -rf '$ctx'" RETURN
    cp -a "$src"/. "$ctx"/
    printf '%s\n' "$requirements" >"$ctx/requirements.txt"
    local wheels="$cache/wheels/app-$pins"
    if [[ ! -f "$wheels/.complete" ]]; then
        rm -rf "$wheels"; mkdir -p "$wheels"
        printf '%s\n' "$constraints" >"$ctx/constraints.txt"
        say "building wheels for the application into $wheels"
        "$wheel_python" -m pip wheel --quiet --disable-pip-version-check -w "$wheels" \
            -r "$ctx/requirements.txt" -c "$ctx/constraints.txt" 2>&1 \
            | { grep -v " is ignored: it is neither a file nor a directory" || true; } >&2
        touch "$wheels/.complete"
        # older wheel sets of the application are superseded
        find "$cache/wheels" -maxdepth 1 -name 'app-*' ! -name "app-$pins" -exec rm -rf {} +
    fi
    mkdir -p "$ctx/wheels" "$ctx/src"
    cp -al "$wheels"/. "$ctx/wheels/" 2>/dev/null || cp -a "$wheels"/. "$ctx/wheels/"
    (cd "$repo" && tar -c --exclude=__pycache__ --exclude='*.pyc' engines orchestrator workers ui \
        pyproject.toml) | tar -C "$ctx/src" -x
    say "building $tag"
    docker build --quiet --label "dbplay.inputs=$digest" -f "$ctx/Dockerfile.offline" \
        -t "$tag" "$ctx" >/dev/null
    say "built $tag"
}

main() {
    local targets=("$@")
    if ((${#targets[@]} == 0)); then targets=(postgres mongo chroma metadata app); fi
    docker info >/dev/null 2>&1 || { say "no Docker engine answers (run scripts/start-docker.sh)"; exit 1; }
    ensure_base
    local t
    for t in "${targets[@]}"; do
        case "$t" in
            postgres) build_image dbplay/postgres:15 "$here/postgres" ;;
            mongo) build_image dbplay/mongo-standin:latest "$here/mongo" nx-27017 ;;
            chroma) build_image dbplay/chroma:latest "$here/chroma" chromadb ;;
            metadata)
                build_image dbplay/postgres:15 "$here/postgres"
                build_image dbplay/postgres-metadata:15 "$here/metadata-postgres" "" dbplay/postgres:15 ;;
            app) build_app_image ;;
            *) say "unknown image '$t' (postgres, mongo, chroma, metadata, app)"; exit 2 ;;
        esac
    done
}

main "$@"
