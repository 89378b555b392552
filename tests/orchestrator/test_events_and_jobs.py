"""Following a sandbox live, the job history, and jobs stopped by their time limit."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from dramatiq.middleware.time_limit import TimeLimitExceeded

from engines.errors import NotFound
from orchestrator.config.settings import Settings
from orchestrator.store import state
from orchestrator.store.models import Job, Sandbox, utcnow
from tests.orchestrator.conftest import REPO
from tests.servers import free_port


def test_cli_follows_a_sandbox_from_request_to_deletion(running_stack):
    api = running_stack.api()
    sb = api.create_sandbox("alice", "chinook-sqlite", wait=False)
    follower = subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "--json", "sandbox", "events", sb.id,
         "--follow"], env=running_stack.env, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        running_stack.wait_for(lambda: api.get_sandbox("alice", sb.id).state == "ready")
        api.delete_sandbox("alice", sb.id)
        out, _ = follower.communicate(timeout=60)
    finally:
        if follower.poll() is None:
            follower.kill()
    states = [json.loads(line)["to_state"] for line in out.splitlines()]
    assert follower.returncode == 0
    assert states[:3] == ["requested", "provisioning", "ready"] and states[-1] == "deleted"


def test_wait_events_wakes_on_a_new_event_and_times_out_empty(running_stack):
    api = running_stack.api()
    sb = api.create_sandbox("alice", "empty-sqlite")
    last = api.sandbox_events("alice", sb.id)[-1].id
    started = time.monotonic()
    assert api.wait_events("alice", sb.id, last, timeout_s=0.3) == []
    assert 0.25 < time.monotonic() - started < 2

    timer = threading.Timer(0.5, lambda: api.extend_sandbox("alice", sb.id, 600))
    timer.start()
    started = time.monotonic()
    events = api.wait_events("alice", sb.id, last, timeout_s=20)
    timer.join()
    assert time.monotonic() - started < 3
    assert [e.reason for e in events] == ["extended by 600 s"]
    with pytest.raises(NotFound):
        api.wait_events("bob", sb.id, 0, timeout_s=0.1)
    api.delete_sandbox("alice", sb.id)


def test_job_history_lists_the_owners_jobs_newest_first(running_stack):
    api = running_stack.api()
    sb = api.create_sandbox("alice", "empty-sqlite")
    api.run_query("alice", sb.id, "SELECT 1")
    api.run_query("alice", sb.id, "SELECT 2")
    jobs = api.list_jobs("alice", sb.id)
    assert [j.kind for j in jobs] == ["query", "query", "provision"]
    assert all(j.state == "done" for j in jobs)
    assert jobs[0].result[0]["rows"] == [[2]]
    assert sb.id in {j.sandbox_id for j in api.list_jobs("alice")}
    assert all(j.sandbox_id != sb.id for j in api.list_jobs("bob"))
    with pytest.raises(NotFound):
        api.list_jobs("bob", sb.id)
    api.delete_sandbox("alice", sb.id)


def test_job_stopped_by_its_time_limit_fails_and_frees_the_sandbox(tmp_path: Path):
    from workers.jobrun import run_job
    from workers.runtime import Runtime

    settings = Settings.load({"DBPLAY_HOME": str(tmp_path), "DBPLAY_PROVISIONER": "local",
                              "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"})
    rt = Runtime(settings, watch_events=False)
    with rt.db.session() as session:
        session.add(Sandbox(id="sb1", owner="alice", engine="sqlite", template="t",
                            state=state.READY, expires_at=utcnow() + dt.timedelta(hours=1),
                            generation=1, active_jobs=0))
        session.add(Job(id="j1", kind="query", owner="alice", sandbox_id="sb1", state="queued",
                        params={}, attempts=0, created_at=utcnow()))
    seen: list[str] = []

    def overrun(rt: Runtime, job: Job) -> None:
        with rt.db.session() as session:
            sb = session.get(Sandbox, "sb1")
            assert sb is not None
            seen.append(sb.state)
        raise TimeLimitExceeded()

    run_job(rt, "j1", overrun, retryable=False, hold=True)
    with rt.db.session() as session:
        job = session.get(Job, "j1")
        sb = session.get(Sandbox, "sb1")
        assert job is not None and sb is not None
        assert seen == ["busy"]
        assert job.state == "failed" and job.error is not None
        assert job.error["type"] == "TimeLimitExceeded" and job.finished_at is not None
        assert sb.state == "ready" and sb.active_jobs == 0
    rt.redis.close()
    rt.db.dispose()
