"""Sandbox images: the engines' base images, and baked images (a template's dump restored
once, committed as an image).

Base images come from one of two sources (``compose/README.md``): ``official`` (built
from ``compose/<engine>/Dockerfile`` on the official images; :class:`BaseImages` builds a
missing one on first use, which needs a registry for its ``FROM``) or ``offline`` (built
by ``compose/build-offline-images.sh``; never built here, the script needs root and
debootstrap).

The first sandbox of a template pays for the restore (through
:meth:`~orchestrator.sandboxes.docker.specs.ContainerSpec.restore_url`: for PostgreSQL the
sandbox's non-superuser owner role, so a dump runs with no more rights than the user's own
statements, and one that needs more fails with the statement and leaves no image); the
baker then stops that container cleanly (PostgreSQL's fast shutdown, so the data
directory needs no recovery) and ``docker commit``s it as
``dbplay/baked-<engine>:<digest>``. Later sandboxes of the template start from that image
and answer at once. This only works because the engines' data directories are plain
directories in the image, not Docker volumes (``docker commit`` leaves volumes out).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import threading
from pathlib import Path
from typing import Any

from engines.errors import DBPlayError, ProvisionError
from engines.registry import connect
from orchestrator.sandboxes.docker.containers import BAKE_PREFIX, SandboxContainers, new_password
from orchestrator.sandboxes.docker.specs import OFFICIAL, OFFLINE, ContainerSpec, spec_for

log = logging.getLogger(__name__)

BAKED_REPOSITORY = "dbplay/baked-{engine}"
#: the label a baked image carries: the digest of the dump restored into it
DIGEST_LABEL = "dbplay.dump_digest"
#: where the official images' build contexts live (a source checkout)
COMPOSE_DIR = Path(__file__).resolve().parents[3] / "compose"
OFFLINE_HINT = "build the offline images with compose/build-offline-images.sh"
#: a bake container left behind by a crash is reaped after this long
BAKE_MAX_AGE = dt.timedelta(hours=1)
#: how a bake restores; part of the image key. 2: as the sandbox's owner role (images of
#: format 1 were restored as the superuser and may carry what a dump did with its rights)
BAKE_FORMAT = "2"


def baked_tag(engine: str, base_image_id: str, digest: str) -> str:
    """Image tag for ``digest`` restored into the image ``base_image_id``: both are part of
    the key, so rebuilding the base image (new configuration) bakes again, and so is
    :data:`BAKE_FORMAT`, so images baked the old way are never used again."""
    key = hashlib.sha256(f"{BAKE_FORMAT}\0{base_image_id}\0{digest}".encode()).hexdigest()[:24]
    return f"{BAKED_REPOSITORY.format(engine=engine)}:{key}"


def available_sources(client: Any) -> list[str]:
    """Image sources whose PostgreSQL image exists locally (official first)."""
    import docker.errors

    found = []
    for source in (OFFICIAL, OFFLINE):
        try:
            client.images.get(spec_for("postgres", source).image(source))
            found.append(source)
        except docker.errors.ImageNotFound:
            pass
    return found


def choose_source(client: Any, wanted: str) -> str:
    """Resolve ``auto``: the official images when built here, else the offline builds
    when those exist, else ``official`` (built from ``compose/`` on first use)."""
    if wanted != "auto":
        return wanted
    found = available_sources(client)
    return found[0] if found else OFFICIAL


class BaseImages:
    """Makes sure an engine's base image exists before a container or a bake uses it."""

    def __init__(self, containers: SandboxContainers, source: str,
                 compose_dir: Path = COMPOSE_DIR) -> None:
        self.containers = containers
        self.source = source
        self.compose_dir = compose_dir
        self._lock = threading.Lock()

    def ensure(self, spec: ContainerSpec) -> str:
        """The base image of ``spec``, built from ``compose/`` first if it is missing."""
        tag = spec.image(self.source)
        if self.containers.get_image(tag) is not None:
            return tag
        if self.source == OFFLINE:
            raise ProvisionError(f"image {tag} not found; {OFFLINE_HINT}")
        with self._lock:
            if self.containers.get_image(tag) is None:
                self.build_official(spec, tag)
        return tag

    def build_official(self, spec: ContainerSpec, tag: str) -> None:
        context = self.compose_dir / spec.compose_dir
        if not (context / "Dockerfile").is_file():
            raise ProvisionError(f"image {tag} not found and no {context}/Dockerfile to "
                                 f"build it from; {OFFLINE_HINT}")
        log.info("building %s from %s (pulls its official base image)", tag, context)
        client: Any = self.containers.client
        try:
            client.images.build(path=str(context), tag=tag, rm=True, forcerm=True)
        except Exception as exc:
            raise ProvisionError(f"cannot build {tag} from {context} ({exc}); without a "
                                 f"registry, {OFFLINE_HINT} and use image source "
                                 "offline") from exc


class ImageBaker:
    def __init__(self, containers: SandboxContainers) -> None:
        self.containers = containers
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, tag: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tag, threading.Lock())

    def image_for(self, spec: ContainerSpec, base_image: str, dump_path: Path,
                  digest: str) -> str:
        """The baked image for this dump, baking it first if it does not exist yet."""
        if not digest:
            raise ProvisionError("a dump without a digest cannot be baked")
        base = self.containers.get_image(base_image)
        if base is None:
            raise ProvisionError(f"image {base_image} not found; build it with "
                                 "compose/build-offline-images.sh")
        tag = baked_tag(spec.engine, base.id, digest)
        with self._lock(tag):
            if self.containers.get_image(tag) is None:
                self.bake(spec, base_image, dump_path, digest, tag)
        return tag

    def bake(self, spec: ContainerSpec, base_image: str, dump_path: Path, digest: str,
             tag: str) -> None:
        """Restore ``dump_path`` in a fresh container and commit it as ``tag``."""
        name = f"{BAKE_PREFIX}{spec.engine}-{secrets.token_hex(6)}"
        expires = dt.datetime.now(dt.UTC) + BAKE_MAX_AGE
        labels = {"dbplay.sandbox": "", "dbplay.bake": digest, "dbplay.engine": spec.engine,
                  "dbplay.owner": "", "dbplay.template": "",
                  "dbplay.expires_at": expires.isoformat()}
        admin_password = new_password()
        container = self.containers.run(spec, base_image, name, labels, admin_password)
        try:
            host = self.containers.address(container)
            admin_url = spec.admin_url(host, spec.port, admin_password)
            self.containers.wait_ready(spec, container, admin_url)
            log.info("baking %s from %s", tag, dump_path)
            # as the sandbox's owner role, never the superuser (PostgreSQL): a dump
            # needing more rights fails here, and the finally removes the container
            restore_url = spec.restore_url(admin_url, host, spec.port)
            with connect(spec.engine, restore_url, timeout_s=600) as engine:
                engine.restore(dump_path)
            spec.after_restore(admin_url, restore_url)
            container.stop(timeout=60)
            container.commit(*tag.split(":"), conf={
                "Labels": {"dbplay.engine": spec.engine, "dbplay.baked_from": base_image,
                           DIGEST_LABEL: digest}})
        except DBPlayError:
            raise
        except Exception as exc:
            raise ProvisionError(f"baking {tag} failed: {exc}") from exc
        finally:
            self.containers.remove(container.id)

    def tags_of(self, digest: str) -> list[str]:
        """The tags of every image baked from the dump ``digest`` (any base image)."""
        client: Any = self.containers.client
        images = client.images.list(filters={"label": f"{DIGEST_LABEL}={digest}"})
        return [tag for image in images for tag in image.tags]

    def forget(self, digest: str) -> list[str]:
        """Drop every image baked from the dump ``digest``; returns the tags it had. An
        image a running container still uses loses its tag now and is deleted with its
        last container (:meth:`prune`)."""
        import docker.errors

        client: Any = self.containers.client
        tags = self.tags_of(digest)
        for tag in tags:
            with self._lock(tag):
                try:  # forced: untags an image in use instead of refusing
                    client.images.remove(tag, force=True)
                except docker.errors.ImageNotFound:
                    pass
        self.prune()
        return tags

    def prune(self) -> None:
        """Delete the baked images that lost their tag and that no container uses."""
        import docker.errors

        client: Any = self.containers.client
        try:
            client.images.prune(filters={"dangling": True, "label": DIGEST_LABEL})
        except docker.errors.APIError as exc:  # e.g. another prune is running
            log.info("pruning untagged baked images: %s", exc)
