"""Cancelling stops the statement on the server; a missed schedule runs once."""

from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import func, select, update

from orchestrator.stack.scheduler import Scheduler
from orchestrator.store.models import Job, Schedule, utcnow

ENDLESS = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
           "SELECT count(*) FROM c")


def test_cancelled_query_stops_on_the_server(running_stack):
    api = running_stack.api()
    sb = api.create_sandbox("alice", "empty-sqlite")
    job = api.submit_query("alice", sb.id, ENDLESS, timeout_s=25)
    running_stack.wait_for(lambda: api.get_job("alice", job.id).state == "running",
                           what="the query to start")
    time.sleep(0.3)
    started = time.monotonic()
    cancelled = api.cancel_job("alice", job.id)
    assert time.monotonic() - started < 5
    assert cancelled.state == "cancelled", cancelled
    assert cancelled.result[0]["error"]["type"] == "QueryCancelled"
    # the sandbox is free again: the server is no longer running the statement
    running_stack.wait_for(lambda: api.get_sandbox("alice", sb.id).state == "ready")
    t0 = time.monotonic()
    assert api.run_query("alice", sb.id, "SELECT 7")[0].rows == [[7]]
    assert time.monotonic() - t0 < 5
    api.delete_sandbox("alice", sb.id)


def test_query_cancelled_while_queued_never_runs(running_stack):
    api = running_stack.api()
    sb = api.create_sandbox("alice", "empty-sqlite")
    blockers = [api.submit_query("alice", sb.id, ENDLESS, timeout_s=3) for _ in range(4)]
    queued = api.submit_query("alice", sb.id, "CREATE TABLE never (x)")
    assert api.cancel_job("alice", queued.id).state == "cancelled"
    for b in blockers:
        api.wait_job("alice", b.id, 30)
    rows = api.run_query("alice", sb.id, "SELECT count(*) FROM sqlite_master WHERE name='never'")
    assert rows[0].rows == [[0]]
    api.delete_sandbox("alice", sb.id)


def test_schedule_that_missed_many_slots_runs_once(running_stack):
    api = running_stack.api()
    sb = api.create_sandbox("alice", "empty-sqlite")
    schedule = api.schedule_snapshots("alice", sb.id, "* * * * *", "minutely")
    with api.db.session() as session:  # as if the scheduler had been down for 10 minutes
        session.execute(update(Schedule).where(Schedule.id == schedule.id).values(
            next_run_at=utcnow() - dt.timedelta(minutes=10)))
    scheduler = Scheduler(running_stack.settings, api.db, api.jobs)
    created = scheduler.tick() + scheduler.tick() + scheduler.tick()
    running_stack.wait_for(lambda: [s for s in api.list_schedules("alice")
                                    if s.id == schedule.id and s.last_status == "done"],
                           timeout=60, what="the snapshot job")
    with api.db.session() as session:
        runs = session.scalar(select(func.count()).select_from(Job).where(
            Job.kind == "scheduled_snapshot", Job.sandbox_id == sb.id))
        row = session.get(Schedule, schedule.id)
    assert runs == 1 and len(created) <= 1  # the scheduler process may have taken it
    assert row is not None and row.next_run_at > utcnow() - dt.timedelta(seconds=5)
    job = api.get_job("alice", row.last_job_id)
    assert job.state == "done" and job.result["name"].startswith("minutely-")
    api.delete_schedule("alice", schedule.id)
    api.delete_sandbox("alice", sb.id)
