"""The sandbox state machine. Every transition is checked here and written as an event.

::

    requested -> provisioning -> ready <-> busy
                                 ready -> snapshotting -> ready
                                 ready -> provisioning        (reset)
    any live state -> expired | deleted | failed
                                failed -> provisioning        (reset: a failed sandbox
                                                               starts again from its template)

Entering an end state switches the sandbox's snapshot schedules off.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engines.errors import Conflict
from orchestrator.store.models import Event, Sandbox, Schedule, utcnow

REQUESTED = "requested"
PROVISIONING = "provisioning"
READY = "ready"
BUSY = "busy"
SNAPSHOTTING = "snapshotting"
EXPIRED = "expired"
DELETED = "deleted"
FAILED = "failed"

STATES = (REQUESTED, PROVISIONING, READY, BUSY, SNAPSHOTTING, EXPIRED, DELETED, FAILED)
#: states in which a sandbox holds (or is about to hold) resources
LIVE = (REQUESTED, PROVISIONING, READY, BUSY, SNAPSHOTTING)
#: states in which statements may run
QUERYABLE = (READY, BUSY)
#: states from which an owner may reset a sandbox to its template
RESETTABLE = (READY, FAILED)

_END = {EXPIRED, DELETED, FAILED}
TRANSITIONS: dict[str | None, set[str]] = {
    None: {REQUESTED},
    REQUESTED: {PROVISIONING} | _END,
    PROVISIONING: {READY} | _END,
    READY: {BUSY, SNAPSHOTTING, PROVISIONING} | _END,
    BUSY: {READY} | _END,
    SNAPSHOTTING: {READY} | _END,
    EXPIRED: {DELETED},
    FAILED: {PROVISIONING, DELETED},
    DELETED: set(),
}


def can_transition(from_state: str | None, to_state: str) -> bool:
    return to_state in TRANSITIONS.get(from_state, set())


def check(from_state: str | None, to_state: str) -> None:
    if not can_transition(from_state, to_state):
        raise Conflict(f"a sandbox cannot go from {from_state or 'nothing'} to {to_state}")


def transition(session: Session, sandbox: Sandbox, to_state: str, reason: str = "") -> Event:
    """Move ``sandbox`` to ``to_state`` (Conflict if illegal) and append the event row."""
    from_state = sandbox.state
    check(from_state, to_state)
    sandbox.state = to_state
    if to_state == FAILED and reason:
        sandbox.error = reason
    elif from_state == FAILED:
        sandbox.error = None  # reset: the failure is in its events
    if to_state in _END:
        disable_schedules(session, sandbox.id, f"sandbox {to_state}")
    event = Event(sandbox_id=sandbox.id, at=utcnow(), from_state=from_state,
                  to_state=to_state, reason=reason)
    session.add(event)
    return event


def disable_schedules(session: Session, sandbox_id: str, reason: str) -> None:
    """Switch off the snapshot schedules of a sandbox that has ended (they stay listed)."""
    session.execute(update(Schedule).where(
        Schedule.sandbox_id == sandbox_id, Schedule.disabled_reason.is_(None)).values(
        disabled_reason=reason))


def record_created(session: Session, sandbox: Sandbox, reason: str = "") -> Event:
    """The first event of a sandbox (nothing -> requested)."""
    check(None, sandbox.state)
    event = Event(sandbox_id=sandbox.id, at=utcnow(), from_state=None,
                  to_state=sandbox.state, reason=reason)
    session.add(event)
    return event


def lock_sandbox(session: Session, sandbox_id: str) -> Sandbox | None:
    """Load a sandbox row for update (row lock on PostgreSQL; SQLite locks on write)."""
    stmt = select(Sandbox).where(Sandbox.id == sandbox_id).with_for_update()
    return session.scalars(stmt).one_or_none()
