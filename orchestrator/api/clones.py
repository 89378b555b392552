"""Throwaway clones: a private copy of a sandbox's current state to try something on
(index advice, a migration) without touching the sandbox itself (mixed into
:class:`orchestrator.api.service.Orchestrator`)."""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Callable, Iterator

from engines.errors import DBPlayError
from orchestrator.api.base import ServiceBase
from orchestrator.store.views import SandboxView

log = logging.getLogger(__name__)
#: a clone lives only while its work runs; this bounds it if the work never ends
CLONE_TTL_S = 30 * 60


class Clones(ServiceBase):
    @contextlib.contextmanager
    def throwaway_clone(self, user: str, sandbox_id: str) -> Iterator[SandboxView]:
        """A new sandbox of the user's holding what ``sandbox_id`` holds now (snapshot,
        then launch); it and its snapshot are removed when the block ends, whatever
        happens in it. It counts against the user's sandbox quota while it lives."""
        name = f"clone-{sandbox_id}-{secrets.token_hex(3)}"
        self.snapshot_sandbox(user, sandbox_id, name, description=f"throwaway clone of "
                              f"{sandbox_id}")
        try:
            clone = self.create_sandbox(user, name, ttl_s=CLONE_TTL_S)
            try:
                yield clone
            finally:
                _quietly(lambda: self.delete_sandbox(user, clone.id), f"clone {clone.id}")
        finally:
            _quietly(lambda: self.delete_template(user, name), f"template {name}")


def _quietly(action: Callable[[], None], what: str) -> None:
    try:
        action()
    except DBPlayError as exc:  # the reaper removes what is left (its TTL is short)
        log.warning("could not remove throwaway %s: %s", what, exc)
