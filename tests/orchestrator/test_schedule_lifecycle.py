"""Snapshot schedules end with their sandbox, can be removed from the CLI, and keep only
their newest DBPLAY_SNAPSHOT_KEEP snapshots, on real workers and a real scheduler."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from sqlalchemy import select, update

from orchestrator.stack.scheduler import Scheduler
from orchestrator.store.models import POOL_OWNER, Sandbox, Schedule, Template, utcnow


def _make_due(api: Any, schedule_id: int) -> None:
    with api.db.session() as session:
        session.execute(update(Schedule).where(Schedule.id == schedule_id).values(
            next_run_at=utcnow() - dt.timedelta(minutes=1)))


def _run_now(stack: Any, api: Any, schedule_id: int) -> dict[str, Any]:
    """Make the schedule due, let the scheduler process run it; the job's result."""
    with api.db.session() as session:
        before = session.get(Schedule, schedule_id).last_job_id
    time.sleep(1.1)  # snapshot names carry the second: two runs need two seconds
    _make_due(api, schedule_id)

    def finished() -> Any:
        with api.db.session() as session:
            row = session.get(Schedule, schedule_id)
            done = row.last_job_id != before and row.last_status in ("done", "failed")
            return row.last_job_id if done else None

    job_id = stack.wait_for(finished, timeout=60, what="the scheduled snapshot")
    # the schedule's status is written just before the job row records its end
    job = api.wait_job("alice", job_id, 30)
    assert job.state == "done", job
    return job.result


def _schedule_state(api: Any, schedule_id: int) -> Any:
    return next(s for s in api.list_schedules("alice") if s.id == schedule_id)


def test_deleting_the_sandbox_switches_its_schedule_off_and_it_never_runs(running_stack):
    api = running_stack.api()
    sb = api.create_sandbox("alice", "empty-sqlite")
    schedule = api.schedule_snapshots("alice", sb.id, "* * * * *", "gone")
    assert _schedule_state(api, schedule.id).state == "active"

    api.delete_sandbox("alice", sb.id)
    off = _schedule_state(api, schedule.id)
    assert off.state == "off: sandbox deleted" and off.next_run_at is None

    _make_due(api, schedule.id)
    assert Scheduler(running_stack.settings, api.db, api.jobs).tick() == []
    time.sleep(1)  # the scheduler process ticks every 0.3 s: it must not touch it either
    row = _schedule_state(api, schedule.id)
    assert row.last_status is None and row.last_run_at is None

    rc, listed = running_stack.cli("schedules")
    assert rc == 0
    assert [s["state"] for s in listed if s["id"] == schedule.id] == ["off: sandbox deleted"]


def test_an_expired_sandbox_switches_its_schedule_off(running_stack):
    api = running_stack.api()
    sb = api.create_sandbox("alice", "empty-sqlite")
    schedule = api.schedule_snapshots("alice", sb.id, "0 3 * * *", "expiring")
    with api.db.session() as session:
        session.execute(update(Sandbox).where(Sandbox.id == sb.id).values(
            expires_at=utcnow() - dt.timedelta(seconds=1)))
    reap = api.jobs.submit(POOL_OWNER, "reap")
    assert api.jobs.wait(reap.id, 60).state == "done"
    assert api.get_sandbox("alice", sb.id).state == "expired"
    assert _schedule_state(api, schedule.id).state == "off: sandbox expired"


def test_schedules_rm_deletes_a_schedule_from_the_command_line(running_stack):
    api = running_stack.api()
    sb = api.create_sandbox("alice", "empty-sqlite")
    schedule = api.schedule_snapshots("alice", sb.id, "0 3 * * *", "removable")

    rc, out = running_stack.cli("schedules", "rm", str(schedule.id), user="bob")
    assert rc == 1 and out["error"]["type"] == "NotFound"  # not bob's
    rc, out = running_stack.cli("schedules", "rm", str(schedule.id))
    assert rc == 0 and out == {"deleted": schedule.id}
    assert schedule.id not in {s.id for s in api.list_schedules("alice")}
    rc, out = running_stack.cli("schedules", "rm", str(schedule.id))
    assert rc == 1 and out["error"]["type"] == "NotFound"
    api.delete_sandbox("alice", sb.id)


def _fake_snapshot(api: Any, schedule_id: int | None, name: str, age_hours: float,
                   digest: str, owner: str = "alice") -> None:
    with api.db.session() as session:
        session.add(Template(name=name, engine="sqlite", description="", owner=owner,
                             shared=False, digest=digest, size_bytes=1, tables=[],
                             source="test", license="", schedule_id=schedule_id,
                             created_at=utcnow() - dt.timedelta(hours=age_hours)))


def _names(api: Any, owner: str = "alice") -> set[str]:
    with api.db.session() as session:
        return set(session.scalars(select(Template.name).where(Template.owner == owner)))


def test_a_schedule_keeps_its_newest_snapshots_and_one_a_live_sandbox_uses(running_stack,
                                                                           tmp_path):
    assert running_stack.settings.snapshot_keep == 5  # the default
    api = running_stack.api()
    sb = api.create_sandbox("alice", "empty-sqlite")
    api.run_query("alice", sb.id, "CREATE TABLE kept (x); INSERT INTO kept VALUES (1)")
    schedule = api.schedule_snapshots("alice", sb.id, "0 3 * * *", "keep")

    first = _run_now(running_stack, api, schedule.id)["name"]
    in_use = api.create_sandbox("alice", first)  # a live sandbox made from the oldest one
    with api.db.session() as session:
        oldest = session.scalars(select(Template).where(Template.name == first)).one()
        session.execute(update(Template).where(Template.id == oldest.id).values(
            created_at=utcnow() - dt.timedelta(days=10)))
        shared_digest = oldest.digest
    lone = tmp_path / "lone.sqlite"
    lone.write_bytes(b"only the oldest fake snapshot uses this dump")
    lone_digest, _ = api.store.put(lone)
    for hours in (1, 2, 3, 4):
        _fake_snapshot(api, schedule.id, f"keep-fake-{hours}", hours, shared_digest)
    _fake_snapshot(api, schedule.id, "keep-fake-5", 5, lone_digest)
    # not this schedule's to delete: another owner's, and one the user made by hand
    _fake_snapshot(api, schedule.id, "keep-bobs", 50, shared_digest, owner="bob")
    _fake_snapshot(api, None, "keep-by-hand", 60, shared_digest)

    second = _run_now(running_stack, api, schedule.id)
    assert second["pruned"] == ["keep-fake-5"]
    names = _names(api)
    assert {second["name"], "keep-fake-1", "keep-fake-4", first, "keep-by-hand"} <= names
    assert "keep-fake-5" not in names
    assert not (api.store.root / lone_digest).exists()  # its dump went with it
    assert "keep-bobs" in _names(api, "bob")

    api.delete_sandbox("alice", in_use.id)  # no longer in use: the oldest goes next
    third = _run_now(running_stack, api, schedule.id)
    assert sorted(third["pruned"]) == sorted([first, "keep-fake-4"])
    mine = [t for t in api.list_templates("alice") if t.name.startswith("keep")]
    assert {t.name for t in mine} == {third["name"], second["name"], "keep-fake-1",
                                      "keep-fake-2", "keep-fake-3", "keep-by-hand"}
    assert (api.store.root / shared_digest).exists()  # still used by the others
    api.delete_schedule("alice", schedule.id)
    api.delete_sandbox("alice", sb.id)
