"""Killed workers and a restarted Redis lose nothing and leave nothing behind."""

from __future__ import annotations

import os
import signal

from orchestrator.sandboxes.provisioners import Provisioners


def _local_sandboxes(stack) -> set[str]:
    return set(Provisioners(stack.settings).local().list_running())


def test_worker_killed_mid_provisioning_leaves_no_orphan_and_job_is_retried(stack_factory):
    stack = stack_factory(DBPLAY_FAULT_PROVISION_DELAY="2")
    api = stack.api()
    sb = api.create_sandbox("alice", "chinook-sqlite", wait=False)
    stack.wait_for(lambda: api.get_sandbox("alice", sb.id).state == "provisioning",
                   what="provisioning to start")
    os.kill(stack.pid("worker-provision"), signal.SIGKILL)
    stack.wait_for(lambda: stack.pid("worker-provision") is None, what="the worker to die")
    stack.start_services("worker-provision")  # a fresh worker picks the message up again

    final = stack.wait_for(
        lambda: (v := api.get_sandbox("alice", sb.id)).state in ("ready", "failed") and v,
        timeout=60, what="the provision job to be retried")
    events = api.sandbox_events("alice", sb.id)
    assert final.state == "ready", (final, events)
    assert any("attempt 2" in e.reason for e in events), [e.reason for e in events]
    rows = api.run_query("alice", sb.id, "SELECT count(*) FROM Artist")
    assert rows[0].rows == [[275]]
    assert _local_sandboxes(stack) == {sb.id}  # one sandbox, nothing orphaned
    api.delete_sandbox("alice", sb.id)
    assert _local_sandboxes(stack) == set()


def test_redis_restart_loses_no_sandbox_template_or_schedule(stack_factory):
    stack = stack_factory()
    api = stack.api()
    sb = api.create_sandbox("alice", "empty-sqlite")
    api.run_query("alice", sb.id, "CREATE TABLE kept (x); INSERT INTO kept VALUES (42)")
    api.snapshot_sandbox("alice", sb.id, "before-restart")
    schedule = api.schedule_snapshots("alice", sb.id, "0 4 * * *", "nightly")

    stack.stop_redis()  # no persistence: everything Redis held is gone
    stack.start_redis()

    assert [s.id for s in api.list_sandboxes("alice")] == [sb.id]
    assert "before-restart" in {t.name for t in api.list_templates("alice")}
    assert [s.id for s in api.list_schedules("alice")] == [schedule.id]
    # the workers reconnect by themselves and keep serving
    result = stack.wait_for(lambda: _try_query(api, sb.id), timeout=60,
                            what="a query after the restart")
    assert result[0].rows == [[42]]
    second = api.create_sandbox("alice", "before-restart")
    assert api.run_query("alice", second.id, "SELECT x FROM kept")[0].rows == [[42]]


def _try_query(api, sandbox_id):
    from orchestrator.jobs.client import JobClient

    try:
        job = api.submit_query("alice", sandbox_id, "SELECT x FROM kept")
    except Exception:
        return None
    done = api.wait_job("alice", job.id, 5)
    assert isinstance(api.jobs, JobClient)
    return [__import__("engines.result").result.StatementResult.from_dict(r)
            for r in done.result] if done.state == "done" else None
