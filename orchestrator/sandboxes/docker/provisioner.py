"""The Docker provisioner: one container per sandbox (PostgreSQL, MongoDB, Chroma).

How a sandbox starts, fastest first:

1. **warm pool** (``pool_size > 0``): a container of the template's image is already
   running; it is renamed to the sandbox and its user role gets the request's password
   (:mod:`orchestrator.sandboxes.docker.warm_pool`);
2. **baked image**: the template's dump was restored once and committed
   (:mod:`~orchestrator.sandboxes.docker.image_baker`); a new container starts from it with
   no restore;
3. the first sandbox of a template bakes that image first (restore through
   ``spec.restore_url``: PostgreSQL's non-superuser owner role).

Isolation: one container per sandbox, with memory (no swap), CPU and pids limits, a
storage cap (a disk quota where the storage driver supports one, else checked every
``storage_check_s`` by :class:`~orchestrator.sandboxes.docker.events.StorageGuard`), fewer
capabilities, on an internal network without inter-container traffic
(:mod:`orchestrator.sandboxes.docker.containers`).
Containers carry the labels ``dbplay.sandbox``, ``dbplay.owner``, ``dbplay.template``,
``dbplay.expires_at`` and ``dbplay.engine``; claimed pool containers keep their owner and
expiry in the :class:`~orchestrator.sandboxes.docker.warm_pool.ClaimBook` instead.

Images (``image_source``): ``official`` (``compose/<engine>/Dockerfile``, built on first use
when missing: needs a registry), ``offline`` (``compose/build-offline-images.sh``), or
``auto``: official when its PostgreSQL image exists here, else offline when that exists,
else official (:func:`orchestrator.sandboxes.docker.image_baker.choose_source`).

SQLite sandboxes need no container: :meth:`DockerProvisioner.engines` does not list
``sqlite``, and the orchestrator routes them to the local provisioner.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from pathlib import Path
from typing import Any

from engines.errors import DBPlayError, InvalidRequest, ProvisionError
from orchestrator.sandboxes.docker.containers import (
    DEFAULT_INSTANCE,
    NETWORK,
    POOL_PREFIX,
    SANDBOX_PREFIX,
    SandboxContainers,
    new_password,
)
from orchestrator.sandboxes.docker.events import EventWatcher, StorageGuard
from orchestrator.sandboxes.docker.image_baker import (
    BAKED_REPOSITORY,
    BaseImages,
    ImageBaker,
    choose_source,
)
from orchestrator.sandboxes.docker.port_forward import ForwarderProcesses
from orchestrator.sandboxes.docker.specs import (
    CONTAINER_ENGINES,
    ContainerSpec,
    Limits,
    check_password,
    normalize_source,
    spec_for,
)
from orchestrator.sandboxes.docker.warm_pool import ClaimBook, PoolKeeper, WarmPool
from orchestrator.sandboxes.provisioning import EventCallback, SandboxHandle, SandboxRequest
from orchestrator.sandboxes.snapshots import write_snapshot

log = logging.getLogger(__name__)

#: every baked image's repository starts so
BAKED_PREFIX = BAKED_REPOSITORY.split("{", 1)[0]
_SANDBOX_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,100}")


def _parse_time(text: str) -> dt.datetime | None:
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


class DockerProvisioner:
    name = "docker"

    def __init__(
        self,
        client: Any = None,
        *,
        image_source: str = "auto",
        pool_size: int = 0,
        state_dir: Path | None = None,
        network: str = NETWORK,
        instance: str = DEFAULT_INSTANCE,
        limits: dict[str, Limits] | None = None,
        on_event: EventCallback | None = None,
        reap_on_start: bool = True,
        storage_check_s: float = 30.0,
    ) -> None:
        """``instance`` names this installation: it sees, lists and reaps only containers
        labelled ``dbplay.instance=<instance>`` (tests use their own). With ``on_event``
        (the process that tracks sandbox health), deaths and out-of-memory kills are
        reported, and where Docker has no disk quota the storage cap is checked every
        ``storage_check_s`` seconds (0: never)."""
        if client is None:
            import docker

            client = docker.from_env()
        self.client = client
        self.image_source = normalize_source(choose_source(client, image_source))
        self.pool_size = pool_size
        self.limits = limits or {}
        self.containers = SandboxContainers(client, network, instance)
        self.base_images = BaseImages(self.containers, self.image_source)
        self.baker = ImageBaker(self.containers)
        self.pools = PoolKeeper()
        state_dir = state_dir or Path.home() / ".dbplay" / "docker"
        self.state_dir = state_dir
        self.claims = ClaimBook(state_dir / "claims.json")
        self._forwarders = ForwarderProcesses(state_dir / "forwarders")
        self._lock = threading.Lock()
        self.on_event = on_event
        self.events = EventWatcher(client, on_event, self._sandbox_id_of, instance,
                                   self.containers.run_state) if on_event else None
        self.storage_guard = None
        if on_event and storage_check_s > 0 and not self.containers.storage_cap_supported():
            self.storage_guard = StorageGuard(self.containers, self._sandbox_id_of,
                                              self._over_storage_cap, storage_check_s)
        # leftovers of crashed processes: always the idle pool and bake containers past
        # their age (no orchestrator record names them); expired sandboxes too unless
        # the orchestrator's own reaper decides (it knows extended TTLs)
        now = dt.datetime.now(dt.UTC)
        self.reap(now, sandboxes=reap_on_start)

    # -- the Provisioner protocol ------------------------------------------
    def engines(self) -> list[str]:
        return list(CONTAINER_ENGINES)

    def spec(self, engine: str) -> ContainerSpec:
        spec = spec_for(engine, self.image_source)
        if engine in self.limits:
            spec = type(spec)(**{**spec.__dict__, "limits": self.limits[engine]})
        return spec

    def image_for(self, request: SandboxRequest) -> str:
        """The image a sandbox of ``request`` starts from (baking it on first use)."""
        spec = self.spec(request.engine)
        base = self.base_images.ensure(spec)
        if request.dump_path is None:
            return base
        return self.baker.image_for(spec, base, request.dump_path, request.dump_digest)

    def create(self, request: SandboxRequest) -> SandboxHandle:
        if not _SANDBOX_ID.fullmatch(request.sandbox_id):
            raise InvalidRequest(f"bad sandbox id {request.sandbox_id!r}")
        check_password(request.password)
        spec = self.spec(request.engine)
        image = self.image_for(request)
        if self.pool_size > 0:
            handle = self._claim_from_pool(spec, image, request)
            if handle is not None:
                return handle
        return self._start(spec, image, request)

    def _labels(self, request: SandboxRequest) -> dict[str, str]:
        return {"dbplay.sandbox": request.sandbox_id, "dbplay.owner": request.owner,
                "dbplay.template": request.template, "dbplay.engine": request.engine,
                "dbplay.expires_at": request.expires_at.astimezone(dt.UTC).isoformat()}

    def _handle(self, spec: ContainerSpec, request: SandboxRequest, container_id: str,
                host: str, admin_password: str, **info: Any) -> SandboxHandle:
        secret = spec.user_secret(request.password, admin_password)
        return SandboxHandle(
            sandbox_id=request.sandbox_id, engine=request.engine, provisioner=self.name,
            ref=container_id,
            user_url=spec.user_url(host, spec.port, secret),
            admin_url=spec.admin_url(host, spec.port, admin_password),
            info={"host": host, "port": spec.port, "image_source": self.image_source,
                  "password": secret, **spec.connection_info(), **info})

    def _start(self, spec: ContainerSpec, image: str, request: SandboxRequest) -> SandboxHandle:
        admin_password = new_password()
        name = SANDBOX_PREFIX + request.sandbox_id
        try:
            container = self.containers.run(spec, image, name, self._labels(request),
                                            admin_password)
        except Exception as exc:
            raise ProvisionError(f"cannot start {request.engine} sandbox: {exc}") from exc
        try:
            host = self.containers.address(container)
            admin_url = spec.admin_url(host, spec.port, admin_password)
            self.containers.wait_ready(spec, container, admin_url)
            spec.claim(admin_url, request.password)
        except BaseException as exc:
            self.containers.remove(container.id)
            if isinstance(exc, DBPlayError | KeyboardInterrupt):
                raise
            raise ProvisionError(f"{request.engine} sandbox did not start: {exc}") from exc
        return self._handle(spec, request, container.id, host, admin_password, image=image,
                            pooled=False)

    def _pool(self, spec: ContainerSpec, image: str, template: str) -> WarmPool:
        pool = self.pools.get(image)
        if pool is None:
            pool = self.pools.add(WarmPool(self.containers, spec, image, template,
                                           self.pool_size))
        return pool

    def prewarm(self, request: SandboxRequest, wait: bool = False) -> None:
        """Bake the template's image and fill its pool ahead of the first request."""
        spec = self.spec(request.engine)
        self._pool(spec, self.image_for(request), request.template)
        if wait:
            self.pools.wait_full()

    def _claim_from_pool(self, spec: ContainerSpec, image: str,
                         request: SandboxRequest) -> SandboxHandle | None:
        pool = self._pool(spec, image, request.template)
        slot = pool.claim(SANDBOX_PREFIX + request.sandbox_id)
        self.pools.wake()
        if slot is None:
            return None
        labels = self._labels(request)
        self.claims.record(slot.container_id, labels)
        try:
            spec.claim(spec.admin_url(slot.host, spec.port, slot.admin_password),
                       request.password)
        except Exception:
            log.exception("claiming pool container %s failed; starting a fresh one", slot.name)
            self._remove(slot.container_id)
            return None
        return self._handle(spec, request, slot.container_id, slot.host, slot.admin_password,
                            image=image, pooled=True)

    def destroy(self, handle: SandboxHandle) -> None:
        self._close_forwarder(handle.sandbox_id)
        self._remove(handle.ref)
        image = str(handle.info.get("image") or "")
        if image.startswith(BAKED_PREFIX) and self.containers.get_image(image) is None:
            self.baker.prune()  # its template was forgotten while this sandbox ran

    def forget_template(self, digest: str) -> None:
        """Free the images baked from the dump ``digest`` and their warm pools' idle
        containers (this process's pool, and idle ones other processes left)."""
        if not digest:
            return
        for tag in self.baker.tags_of(digest):
            pool = self.pools.remove(tag)
            if pool is not None:
                pool.drain()
            for container in self.containers.list(f"dbplay.pool={tag}"):
                if container.name.lstrip("/").startswith(POOL_PREFIX):  # not yet claimed
                    self._remove(container.id)
        self.baker.forget(digest)

    def _remove(self, container_id: str) -> None:
        if self.events is not None:
            self.events.expect_death(container_id)
        self.containers.remove(container_id)
        self.claims.forget(container_id)

    def snapshot(self, handle: SandboxHandle, out: Path) -> None:
        write_snapshot(handle, out)

    def publish(self, handle: SandboxHandle) -> str:
        spec = self.spec(handle.engine)
        port = self._forwarders.open(handle.sandbox_id, handle.info["host"], spec.port)
        return spec.public_url("127.0.0.1", port, handle.info.get("password", ""))

    def _close_forwarder(self, sandbox_id: str) -> None:
        self._forwarders.close(sandbox_id)

    # -- reaper -----------------------------------------------------------
    def _sandbox_id_of(self, name: str, labels: dict[str, str]) -> str | None:
        """The sandbox a container serves, or None for idle pool and bake containers."""
        name = name.lstrip("/")
        if labels.get("dbplay.sandbox"):
            return labels["dbplay.sandbox"]
        if name.startswith(SANDBOX_PREFIX):  # a claimed pool container
            return name[len(SANDBOX_PREFIX):]
        return None

    def _inventory(self) -> list[tuple[Any, str | None, dict[str, str]]]:
        """Every dbplay container with its sandbox id and effective labels."""
        claims = self.claims.all()
        found = []
        for container in self.containers.list():
            labels = {k.removeprefix("dbplay."): v for k, v in container.labels.items()
                      if k.startswith("dbplay.")}
            sandbox_id = self._sandbox_id_of(container.name, container.labels)
            if sandbox_id is not None and container.id in claims:
                labels.update({k.removeprefix("dbplay."): v
                               for k, v in claims[container.id].items()})
            found.append((container, sandbox_id, labels))
        self.claims.prune({c.id for c, _, _ in found})
        return found

    def list_running(self) -> dict[str, dict[str, str]]:
        return {sid: labels for _, sid, labels in self._inventory() if sid is not None}

    def remove_by_id(self, sandbox_id: str) -> None:
        self._close_forwarder(sandbox_id)
        for container, sid, _ in self._inventory():
            if sid == sandbox_id:
                self._remove(container.id)

    def reap(self, now: dt.datetime, sandboxes: bool = True) -> list[str]:
        """Remove expired sandboxes (unless ``sandboxes`` is false), idle pool containers
        past their age, stale bakes. Returns the removed sandbox ids."""
        removed = []
        for container, sid, labels in self._inventory():
            if sid is not None and not sandboxes:
                continue
            expires = _parse_time(labels.get("expires_at", ""))
            if expires is None or expires <= now:
                if sid is not None:
                    self._close_forwarder(sid)
                    removed.append(sid)
                self._remove(container.id)
        return removed

    def _over_storage_cap(self, container_id: str, sandbox_id: str, reason: str) -> None:
        """Stop a sandbox that wrote past its storage cap and report it as failed."""
        log.warning("sandbox %s %s", sandbox_id, reason)
        if self.events is not None:
            self.events.expect_death(container_id)
        self.containers.kill(container_id)
        if self.on_event is not None:
            self.on_event(sandbox_id, "died", reason)

    def close(self, drain_pools: bool = True) -> None:
        """Stop background threads; remove idle pool containers. Forwarders stay: they
        belong to their sandbox and stop when it is destroyed."""
        self.pools.stop(drain=drain_pools)
        if self.storage_guard is not None:
            self.storage_guard.stop()
        if self.events is not None:
            self.events.stop()
