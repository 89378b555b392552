"""Choosing a provisioner from the settings (``DBPLAY_PROVISIONER=auto|docker|local``).

SQLite sandboxes always run on the local provisioner (a file needs no container).
``auto`` uses Docker when an engine answers a ping, else the local provisioner.
Provisioner modules are imported only when first needed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Any

from engines.descriptor import SERVER
from engines.errors import InvalidRequest, ProvisionError
from engines.registry import descriptor_for
from orchestrator.config.settings import Settings
from orchestrator.sandboxes.provisioning import EventCallback, Provisioner

log = logging.getLogger(__name__)


def installation_id(home: Path) -> str:
    """A short stable name for the installation living in ``home`` (labels its containers)."""
    return hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:12]


def docker_answers() -> bool:
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


class Provisioners:
    """The provisioner(s) of this process, built lazily and shared by its threads."""

    def __init__(self, settings: Settings, on_event: EventCallback | None = None) -> None:
        self.settings = settings
        self.on_event = on_event
        self._lock = threading.Lock()
        self._local: Provisioner | None = None
        self._docker: Provisioner | None = None
        self._mode: str | None = None

    @property
    def local_home(self) -> Path:
        return self.settings.home / "local"

    @property
    def instance(self) -> str:
        """The ``dbplay.instance`` label of this installation's containers
        (``DBPLAY_INSTANCE``, else derived from the home directory's path)."""
        return self.settings.instance or installation_id(self.settings.home)

    @property
    def mode(self) -> str:
        """``docker`` or ``local``: the provisioner non-SQLite sandboxes use."""
        if self._mode is None:
            wanted = self.settings.provisioner
            if wanted == "auto":
                wanted = "docker" if docker_answers() else "local"
            self._mode = wanted
        return self._mode

    def local(self) -> Provisioner:
        with self._lock:
            if self._local is None:
                try:
                    from orchestrator.sandboxes.local.provisioner import LocalProvisioner
                except ImportError as exc:
                    raise ProvisionError(f"the local provisioner is not available: {exc}") from exc
                self._local = LocalProvisioner(self.local_home, on_event=self.on_event)
            return self._local

    def docker(self) -> Provisioner:
        with self._lock:
            if self._docker is None:
                try:
                    from orchestrator.sandboxes.docker.provisioner import DockerProvisioner
                except ImportError as exc:
                    raise ProvisionError(f"the Docker provisioner is not available: {exc}") from exc
                kwargs: dict[str, Any] = {"image_source": self.settings.image_source,
                                          "pool_size": self.settings.container_pool_size,
                                          "state_dir": self.settings.home / "docker",
                                          "reap_on_start": False,
                                          # containers of this installation only
                                          "instance": self.instance}
                if self.on_event is not None:
                    kwargs["on_event"] = self.on_event
                self._docker = DockerProvisioner(**kwargs)
            return self._docker

    def by_name(self, name: str | None) -> Provisioner:
        if name == "docker":
            return self.docker()
        if name == "local":
            return self.local()
        raise InvalidRequest(f"unknown provisioner {name!r}")

    def for_engine(self, engine: str) -> Provisioner:
        if self.mode == "local" or not descriptor_for(engine).has(SERVER):  # SQLite
            return self.local()
        return self.docker()

    def active(self) -> list[Provisioner]:
        """Every provisioner in use here (the reaper scans each)."""
        found: list[Provisioner] = []
        for name in ("local", "docker") if self.mode == "docker" else ("local",):
            try:
                found.append(self.by_name(name))
            except ProvisionError as exc:
                log.warning("provisioner %s unavailable: %s", name, exc)
        return found

    def info(self) -> dict[str, Any]:
        engines: list[str] = []
        for prov in self.active():
            try:
                engines += [e for e in prov.engines() if e not in engines]
            except Exception as exc:
                log.warning("provisioner %s cannot list engines: %s", prov.name, exc)
        return {"name": self.mode, "engines": engines}
