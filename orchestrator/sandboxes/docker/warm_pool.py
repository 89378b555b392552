"""Warm pools: sandboxes of a template started ahead of time, so creating one is a claim.

A pool container runs the template's (baked) image under a ``dbplay-pool-...`` name with
the label ``dbplay.pool=<image>``; its user role has no password yet. Claiming one:

1. renames it, **by its pool name**, to ``dbplay-sb-<sandbox id>``. Docker renames
   atomically, so when two processes race for the same container only one rename finds
   the old name: that is the lock;
2. gives the user role the request's password (``ContainerSpec.claim``);
3. records owner, template and expiry in the :class:`ClaimBook`, because labels cannot
   change on a running container. The reaper reads the book; a claimed container missing
   from it (a crash between steps 1 and 3) falls back to its pool label's expiry.

Idle pool containers are adopted by the next provisioner that opens the same pool, and
removed by the reaper after ``max_idle``. A background :class:`PoolKeeper` thread tops
pools up after claims.
"""

from __future__ import annotations

import collections
import datetime as dt
import fcntl
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from orchestrator.sandboxes.docker.containers import POOL_PREFIX, SandboxContainers, new_password
from orchestrator.sandboxes.docker.specs import ContainerSpec

log = logging.getLogger(__name__)

DEFAULT_MAX_IDLE = dt.timedelta(days=1)


class ClaimBook:
    """Owner/template/expiry of claimed pool containers, by container id, in a JSON file
    shared by every process on the machine (guarded by ``flock``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def _locked(self) -> Iterator[dict[str, dict[str, str]]]:
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = json.loads(self.path.read_text()) if self.path.exists() else {}
            except ValueError:
                data = {}
            before = json.dumps(data, sort_keys=True)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
                tmp.replace(self.path)

    def record(self, container_id: str, labels: dict[str, str]) -> None:
        with self._locked() as data:
            data[container_id] = labels

    def forget(self, container_id: str) -> None:
        with self._locked() as data:
            data.pop(container_id, None)

    def all(self) -> dict[str, dict[str, str]]:
        with self._locked() as data:
            return dict(data)

    def prune(self, live_ids: set[str]) -> None:
        with self._locked() as data:
            for cid in [c for c in data if c not in live_ids]:
                del data[cid]


@dataclass
class PooledContainer:
    container_id: str
    name: str
    host: str
    admin_password: str


class WarmPool:
    """Ready containers of one image (one template of one engine)."""

    def __init__(self, containers: SandboxContainers, spec: ContainerSpec, image: str,
                 template: str, size: int, max_idle: dt.timedelta = DEFAULT_MAX_IDLE) -> None:
        self.containers = containers
        self.spec = spec
        self.image = image
        self.template = template
        self.size = size
        self.max_idle = max_idle
        self._ready: collections.deque[PooledContainer] = collections.deque()
        self._starting = 0
        self._lock = threading.Lock()
        self._adopt()

    def _adopt(self) -> None:
        """Take over idle pool containers of this image left by an earlier process."""
        for container in self.containers.list(f"dbplay.pool={self.image}"):
            if not container.name.startswith(POOL_PREFIX) or container.status != "running":
                continue
            env = dict(e.split("=", 1) for e in container.attrs["Config"]["Env"] or [])
            password = env.get(self.spec.admin_password_env, "")
            self._ready.append(PooledContainer(container.id, container.name,
                                               self.containers.address(container), password))

    def deficit(self) -> int:
        with self._lock:
            return max(0, self.size - len(self._ready) - self._starting)

    def claim(self, new_name: str) -> PooledContainer | None:
        """Take a ready container and rename it to ``new_name``; None when none is left."""
        import docker.errors

        while True:
            with self._lock:
                if not self._ready:
                    return None
                slot = self._ready.popleft()
            try:
                self.containers.client.api.rename(slot.name, new_name)
            except docker.errors.APIError:  # taken by another process, or gone
                continue
            slot.name = new_name
            return slot

    def fill_one(self) -> None:
        """Start one container and add it to the pool once it answers."""
        with self._lock:
            self._starting += 1
        try:
            name = f"{POOL_PREFIX}{self.spec.engine}-{secrets.token_hex(6)}"
            expires = dt.datetime.now(dt.UTC) + self.max_idle
            labels = {"dbplay.sandbox": "", "dbplay.pool": self.image,
                      "dbplay.engine": self.spec.engine, "dbplay.template": self.template,
                      "dbplay.owner": "", "dbplay.expires_at": expires.isoformat()}
            password = new_password()
            container = self.containers.run(self.spec, self.image, name, labels, password)
            try:
                host = self.containers.address(container)
                self.containers.wait_ready(self.spec, container,
                                           self.spec.admin_url(host, self.spec.port, password))
            except BaseException:
                self.containers.remove(container.id)
                raise
            with self._lock:
                self._ready.append(PooledContainer(container.id, name, host, password))
        finally:
            with self._lock:
                self._starting -= 1

    def drain(self) -> None:
        """Remove every idle container of this pool."""
        with self._lock:
            idle = list(self._ready)
            self._ready.clear()
        for slot in idle:
            self.containers.remove(slot.container_id)

    def __len__(self) -> int:
        with self._lock:
            return len(self._ready)


class PoolKeeper:
    """One background thread that keeps every pool topped up."""

    def __init__(self) -> None:
        self.pools: dict[str, WarmPool] = {}
        self._wake = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def add(self, pool: WarmPool) -> WarmPool:
        with self._wake:
            existing = self.pools.setdefault(pool.image, pool)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="dbplay-pool-keeper",
                                                daemon=True)
                self._thread.start()
            self._wake.notify()
        return existing

    def get(self, image: str) -> WarmPool | None:
        with self._wake:
            return self.pools.get(image)

    def remove(self, image: str) -> WarmPool | None:
        """Stop keeping the pool of ``image`` (its idle containers are the caller's)."""
        with self._wake:
            return self.pools.pop(image, None)

    def wake(self) -> None:
        with self._wake:
            self._wake.notify()

    def wait_full(self, timeout_s: float = 120.0) -> bool:
        """Block until every pool is full (for start-up and tests)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if all(len(p) >= p.size for p in list(self.pools.values())):
                return True
            time.sleep(0.05)
        return False

    def _run(self) -> None:
        failures = 0
        while True:
            with self._wake:
                while not self._stopping and not any(p.deficit() for p in self.pools.values()):
                    self._wake.wait(timeout=5)
                if self._stopping:
                    return
                pool = next(p for p in self.pools.values() if p.deficit())
            try:
                pool.fill_one()
                failures = 0
            except Exception:
                if pool.containers.get_image(pool.image) is None:  # its template was forgotten
                    log.info("warm pool %s: the image is gone; pool dropped", pool.image)
                    self.remove(pool.image)
                    continue
                failures += 1
                log.exception("warm pool %s: could not start a container", pool.image)
                time.sleep(min(30.0, 0.5 * 2 ** failures))

    def stop(self, drain: bool = False) -> None:
        with self._wake:
            self._stopping = True
            self._wake.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=90)
        if drain:
            for pool in self.pools.values():
                pool.drain()
