"""Baked images: a template's dump restored once, committed as an image.

The first sandbox of a template pays for the restore; the baker then stops that
container cleanly (PostgreSQL's fast shutdown, so the data directory needs no recovery)
and ``docker commit``s it as ``dbplay/baked-<engine>:<digest>``. Later sandboxes of the
template start from that image and answer at once. This only works because the engines'
data directories are plain directories in the image, not Docker volumes (``docker
commit`` leaves volumes out).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import threading
from pathlib import Path
from typing import Any

from engines import connect
from engines.errors import DBPlayError, ProvisionError
from orchestrator.container_specs import ContainerSpec
from orchestrator.sandbox_containers import BAKE_PREFIX, SandboxContainers, new_password

log = logging.getLogger(__name__)

BAKED_REPOSITORY = "dbplay/baked-{engine}"
#: a bake container left behind by a crash is reaped after this long
BAKE_MAX_AGE = dt.timedelta(hours=1)


def baked_tag(engine: str, base_image_id: str, digest: str) -> str:
    """Image tag for ``digest`` restored into the image ``base_image_id``: both are part of
    the key, so rebuilding the base image (new configuration) bakes again."""
    import hashlib

    key = hashlib.sha256(f"{base_image_id}\0{digest}".encode()).hexdigest()[:24]
    return f"{BAKED_REPOSITORY.format(engine=engine)}:{key}"


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
            with connect(spec.engine, admin_url, timeout_s=600) as engine:
                engine.restore(dump_path)
            spec.after_restore(admin_url)
            container.stop(timeout=60)
            container.commit(*tag.split(":"), conf={
                "Labels": {"dbplay.engine": spec.engine, "dbplay.baked_from": base_image,
                           "dbplay.dump_digest": digest}})
        except DBPlayError:
            raise
        except Exception as exc:
            raise ProvisionError(f"baking {tag} failed: {exc}") from exc
        finally:
            self.containers.remove(container.id)

    def remove_baked(self, engine: str | None = None) -> list[str]:
        """Delete baked images (all, or one engine's); returns the removed tags."""
        removed: list[str] = []
        client: Any = self.containers.client
        for image in client.images.list(filters={"label": "dbplay.dump_digest"}):
            if engine and image.labels.get("dbplay.engine") != engine:
                continue
            for tag in image.tags:
                client.images.remove(tag, force=True)
                removed.append(tag)
        return removed
