"""A local sandbox whose server stopped under a statement: recovered on the spot, and the
user told which statement was stopped and why.

On the local provisioner a PostgreSQL or MongoDB sandbox is a server process of its
own. When a statement takes it past its memory limit (or it crashes) the statement only
sees its connection drop. The keeper in the provision worker restarts such servers
within its interval; a statement that lost its connection does not wait for it:
:func:`recover_server` starts the server again at once (keeping its data) and records
it on the sandbox, or, when the server cannot start, fails the sandbox with the reason
(a reset brings it back). The statement's error then says what happened, in words.
Docker sandboxes are told by Docker's own events (:mod:`workers.memory_kills`).
"""

from __future__ import annotations

import logging
from typing import Protocol, runtime_checkable

from engines.errors import DBPlayError
from orchestrator.store import state
from orchestrator.store.models import Event, Sandbox, utcnow
from workers.runtime import Runtime

log = logging.getLogger(__name__)

LOCAL = "local"
#: the server went on running: only the statement's own server process ended
STILL_RUNNING = ("the statement was stopped: the server process running it ended "
                 "unexpectedly (killed at the sandbox's memory limit, or crashed); the "
                 "sandbox is usable, with its data")


@runtime_checkable
class RecoversServers(Protocol):
    """A provisioner that can start a sandbox's stopped server again (the local one)."""

    def recover(self, sandbox_id: str) -> tuple[str, str] | None: ...


def recover_server(rt: Runtime, sandbox_id: str) -> tuple[str, str] | None:
    """Start the local sandbox's server again if it stopped, and record what became of
    it: ``("restarting", reason)``, ``("died", reason)`` (the sandbox is failed), or None
    when its server runs (or it is not a local sandbox with a server)."""
    with rt.db.session() as session:
        sandbox = session.get(Sandbox, sandbox_id)
        name = sandbox.provisioner if sandbox is not None else None
    provisioner = rt.provisioners.by_name(LOCAL) if name == LOCAL else None
    if not isinstance(provisioner, RecoversServers):
        return None
    try:
        outcome = provisioner.recover(sandbox_id)
    except DBPlayError as exc:
        log.warning("could not recover local sandbox %s: %s", sandbox_id, exc)
        return None
    if outcome is not None:
        record(rt, sandbox_id, *outcome)
    return outcome


def record(rt: Runtime, sandbox_id: str, kind: str, reason: str) -> None:
    """A restart is an event on the sandbox; a server gone for good fails it."""
    with rt.db.session() as session:
        sandbox = state.lock_sandbox(session, sandbox_id)
        if sandbox is None:
            return
        if kind == "restarting":
            session.add(Event(sandbox_id=sandbox.id, at=utcnow(), from_state=sandbox.state,
                              to_state=sandbox.state, reason=f"server restarting: {reason}"))
        elif state.can_transition(sandbox.state, state.FAILED):
            state.transition(session, sandbox, state.FAILED, f"server died: {reason}")


def stopped_message(outcome: tuple[str, str] | None) -> str:
    """What a statement whose connection dropped is told."""
    if outcome is None:
        return STILL_RUNNING
    kind, reason = outcome
    if kind == "restarting":
        return ("the statement was stopped: the sandbox's server stopped under it "
                "(killed at its memory limit, or crashed); it was restarted with its "
                "data: run the statement again")
    return f"the statement was stopped and the sandbox failed: {reason}"
