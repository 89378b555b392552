"""Writing a running sandbox to a dump file: the part of ``snapshot`` both provisioners
share.

PostgreSQL is dumped as the sandbox's owner role (its ``user_url``): that role owns
everything in the database, and nothing the user wrote (a function a catalog read might
resolve to) ever runs as a superuser. The other engines are dumped through the
administrative connection.
"""

from __future__ import annotations

from pathlib import Path

from engines.registry import connect
from orchestrator.sandboxes.provisioning import SandboxHandle

#: a snapshot of a big sandbox may take a while; a statement's own limit does not apply
SNAPSHOT_TIMEOUT_S = 600.0
#: engines dumped as the sandbox's own (non-superuser) role
DUMPED_AS_OWNER = frozenset({"postgres"})


def snapshot_url(handle: SandboxHandle) -> str:
    """The URL a running sandbox is dumped through."""
    return handle.user_url if handle.engine in DUMPED_AS_OWNER else handle.admin_url


def write_snapshot(handle: SandboxHandle, out: Path) -> None:
    """Write the sandbox's current contents to ``out`` in its engine's dump format."""
    with connect(handle.engine, snapshot_url(handle), timeout_s=SNAPSHOT_TIMEOUT_S) as engine:
        engine.dump(out)
