"""The sandbox state machine, against a real (SQLite) metadata database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from engines.errors import Conflict
from orchestrator.store import state
from orchestrator.store.db import Database
from orchestrator.store.models import Event, Sandbox, utcnow


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'meta.db'}", tmp_path)


def _new(db: Database) -> str:
    with db.session() as session:
        sb = Sandbox(id="sb1", owner="alice", engine="sqlite", template="empty-sqlite",
                     state=state.REQUESTED, expires_at=utcnow() + dt.timedelta(hours=1))
        session.add(sb)
        session.flush()
        state.record_created(session, sb, "test")
    return "sb1"


def _walk(db: Database, sandbox_id: str, *states: str) -> None:
    for to_state in states:
        with db.session() as session:
            sb = state.lock_sandbox(session, sandbox_id)
            assert sb is not None
            state.transition(session, sb, to_state, f"to {to_state}")


def test_full_lifecycle_records_one_event_per_transition(db: Database) -> None:
    sid = _new(db)
    path = [state.PROVISIONING, state.READY, state.BUSY, state.READY, state.SNAPSHOTTING,
            state.READY, state.PROVISIONING, state.READY, state.EXPIRED, state.DELETED]
    _walk(db, sid, *path)
    with db.session() as session:
        events = session.scalars(select(Event).where(Event.sandbox_id == sid)
                                 .order_by(Event.id)).all()
    assert [(e.from_state, e.to_state) for e in events] == list(
        zip([None, state.REQUESTED, *path[:-1]], [state.REQUESTED, *path]))
    assert all(e.reason and e.at for e in events)


@pytest.mark.parametrize(("walk", "illegal"), [
    ([], state.READY),                                      # requested -> ready skips provisioning
    ([state.PROVISIONING], state.BUSY),
    ([state.PROVISIONING, state.READY, state.BUSY], state.SNAPSHOTTING),
    ([state.DELETED], state.READY),                         # deleted is final
    ([state.FAILED], state.READY),                          # a failed one comes back by reset
])
def test_illegal_transition_raises_conflict_and_changes_nothing(
        db: Database, walk: list[str], illegal: str) -> None:
    sid = _new(db)
    _walk(db, sid, *walk)
    with pytest.raises(Conflict), db.session() as session:
        sb = state.lock_sandbox(session, sid)
        assert sb is not None
        state.transition(session, sb, illegal)
    with db.session() as session:
        sb = session.get(Sandbox, sid)
        assert sb is not None
        assert sb.state == (walk[-1] if walk else state.REQUESTED)
        count = len(session.scalars(select(Event).where(Event.sandbox_id == sid)).all())
    assert count == len(walk) + 1


def test_failure_reason_is_kept_on_the_sandbox(db: Database) -> None:
    sid = _new(db)
    _walk(db, sid, state.PROVISIONING)
    with db.session() as session:
        sb = state.lock_sandbox(session, sid)
        assert sb is not None
        state.transition(session, sb, state.FAILED, "container died: OOMKilled")
    with db.session() as session:
        sb = session.get(Sandbox, sid)
        assert sb is not None and sb.error == "container died: OOMKilled"


def test_failed_sandbox_resets_to_provisioning_and_forgets_its_error(db: Database) -> None:
    sid = _new(db)
    _walk(db, sid, state.PROVISIONING, state.READY)
    with db.session() as session:
        sb = state.lock_sandbox(session, sid)
        assert sb is not None
        state.transition(session, sb, state.FAILED, "its server was killed at the memory limit")
    _walk(db, sid, state.PROVISIONING, state.READY)
    with db.session() as session:
        sb = session.get(Sandbox, sid)
        assert sb is not None and sb.state == state.READY and sb.error is None
        reasons = [e.reason for e in session.scalars(
            select(Event).where(Event.sandbox_id == sid).order_by(Event.id))]
    assert "its server was killed at the memory limit" in reasons
