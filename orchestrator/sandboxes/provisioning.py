"""The provisioner interface: how a sandbox (one private database) is started and stopped.

Two implementations share it:

* ``orchestrator.sandboxes.docker.provisioner.DockerProvisioner`` - one container per sandbox,
  through the Docker SDK (the production path);
* ``orchestrator.sandboxes.local.provisioner.LocalProvisioner`` - the embedded default when no
  Docker engine is around: SQLite files, embedded Chroma, PostgreSQL from local
  binaries and the MongoDB stand-in when installed.

The orchestrator only ever talks to a :class:`Provisioner`; it never imports Docker.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class SandboxRequest:
    """Everything a provisioner needs to start one sandbox."""

    sandbox_id: str
    owner: str
    engine: str  # postgres | mongodb | chroma | sqlite
    template: str  # template name (for labels)
    dump_path: Path | None  # the template's dump; None for an empty database
    dump_digest: str  # content address of the dump ("" for empty): cache key for baked images
    expires_at: dt.datetime
    password: str  # the sandbox's own random password


@dataclass
class SandboxHandle:
    """A running sandbox, as the provisioner reports it. JSON-safe via ``to_dict``."""

    sandbox_id: str
    engine: str
    provisioner: str  # "docker" | "local"
    ref: str  # container id, or the local data directory
    user_url: str  # engine URL of the non-superuser role that user statements run as
    admin_url: str  # engine URL of the orchestrator's own administrative connection
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SandboxHandle:
        return cls(**data)


#: called as ``on_event(sandbox_id, event, reason)`` for ``died`` / ``oom`` events
EventCallback = Callable[[str, str, str], None]


class Provisioner(Protocol):
    name: str

    def engines(self) -> list[str]:
        """The engine kinds this provisioner can start here."""
        ...

    def create(self, request: SandboxRequest) -> SandboxHandle:
        """Start a sandbox seeded from the request's dump; returns once it answers queries.

        Raises ``ProvisionError`` (a broken dump: ``RestoreError``) and leaves nothing behind.
        """
        ...

    def destroy(self, handle: SandboxHandle) -> None:
        """Stop and remove the sandbox and its storage. Idempotent."""
        ...

    def snapshot(self, handle: SandboxHandle, out: Path) -> None:
        """Write the sandbox's current contents to ``out`` in the engine's dump format."""
        ...

    def forget_template(self, digest: str) -> None:
        """Free what was made once for the dump ``digest`` to start its sandboxes fast
        (Docker: its baked images and their idle warm pool; local: its prepared
        PostgreSQL cluster and seeded Chroma directory). Called once no template uses the
        dump; sandboxes already running from it keep running. Idempotent."""
        ...

    def publish(self, handle: SandboxHandle) -> str:
        """A connection string the owner can use from this machine (psql, mongosh, ...)."""
        ...

    def list_running(self) -> dict[str, dict[str, str]]:
        """Every sandbox this provisioner runs, by sandbox id, with its labels
        (``owner``, ``template``, ``expires_at`` ISO time). Used by the reaper."""
        ...

    def remove_by_id(self, sandbox_id: str) -> None:
        """Remove a sandbox known only by id (orphans found by the reaper). Idempotent."""
        ...
