"""What runs, as the UI banner and `dbplay status` see it; and what happens when it does not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from engines.errors import ServiceUnavailable
from orchestrator.api.service import Orchestrator
from orchestrator.config.settings import Settings
from orchestrator.stack.services import running_pid, service_commands
from orchestrator.store.models import Job
from tests.orchestrator.conftest import REPO, Stack
from tests.servers import free_port

ALL_UP = {"redis": True, "workers": {"interactive": True, "provision": True,
                                     "background": True}, "scheduler": True}


def _liveness(status: dict) -> dict:
    return {k: status[k] for k in ("redis", "workers", "scheduler")}


def _timed_status(api: Orchestrator) -> tuple[dict, float]:
    started = time.perf_counter()
    status = api.stack_status()
    return status, (time.perf_counter() - started) * 1000


def test_stack_status_reports_every_part_up_quickly(running_stack):
    api = running_stack.api()
    running_stack.wait_for(lambda: _liveness(api.stack_status()) == ALL_UP, timeout=30,
                           what="every heartbeat")
    timings = [_timed_status(api)[1] for _ in range(10)]
    assert sorted(timings)[5] < 50, timings
    # the provision worker announces its provisioner after its first beat (describing it
    # may take a moment): alive first, engines known soon after
    status = running_stack.wait_for(
        lambda: (s := api.stack_status())["provisioner"]["engines"] and s, timeout=30,
        what="the provision worker's announcement")
    assert status["provisioner"]["name"] == "local"
    assert "sqlite" in status["provisioner"]["engines"]
    assert status["provisioner"]["landlock"] > 0  # this project's kernels have Landlock

    rc, out = running_stack.cli("status")
    assert rc == 0 and _liveness(out["stack"]) == ALL_UP
    assert out["stack"]["provisioner"] == status["provisioner"]


def test_stopped_worker_reads_as_down_at_once(stack_factory):
    stack = stack_factory()
    api = stack.api()
    stack.wait_for(lambda: _liveness(api.stack_status()) == ALL_UP, timeout=30,
                   what="every heartbeat")
    stack.stop_service("worker-background")
    status = api.stack_status()
    assert status["workers"] == {"interactive": True, "provision": True, "background": False}
    assert status["redis"] and status["scheduler"]


def test_without_redis_status_answers_and_create_fails_the_sandbox(tmp_path: Path):
    settings = Settings.load({"DBPLAY_HOME": str(tmp_path),
                              "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
                              "DBPLAY_PROVISIONER": "local"})
    api = Orchestrator.from_settings(settings)
    try:
        status, elapsed_ms = _timed_status(api)
        assert status == {"redis": False, "workers": {"interactive": False, "provision": False,
                                                      "background": False},
                          "scheduler": False, "provisioner": {"name": "local", "engines": []}}
        assert elapsed_ms < 50

        with pytest.raises(ServiceUnavailable, match="dbplay up"):
            api.create_sandbox("alice", "empty-sqlite")
        [sb] = api.list_sandboxes("alice")
        assert sb.state == "failed" and "dbplay up" in (sb.error or "")
        events = api.sandbox_events("alice", sb.id)
        assert [e.to_state for e in events] == ["requested", "failed"]
        with api.db.session() as session:
            job = session.scalars(select(Job).where(Job.sandbox_id == sb.id)).one()
            assert job.state == "failed" and job.error["type"] == "ServiceUnavailable"
        assert api.list_templates("alice")  # what needs no worker still works
    finally:
        api.close()


def test_foreground_up_stops_everything_on_ctrl_c(tmp_path: Path):
    stack = Stack(tmp_path / "home")  # only for its environment; `dbplay up` starts it all
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "up", "--no-ui"],
                            env=stack.env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    api = None
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the banner comes once everything was started
            if "Ctrl-C" in line:
                break
        names = [*service_commands(stack.settings, ui=False), "redis"]
        pids = {name: running_pid(stack.settings, name) for name in names}
        assert all(pids.values()), pids
        api = Orchestrator.from_settings(stack.settings)
        stack.wait_for(lambda: _liveness(api.stack_status()) == ALL_UP, timeout=30,
                       what="every heartbeat")

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
        for name, pid in pids.items():
            assert running_pid(stack.settings, name) is None, name
            assert not _alive(pid), f"{name} (pid {pid}) still runs"
        assert api.stack_status()["redis"] is False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if api is not None:
            api.close()
        from orchestrator.stack.services import down

        down(stack.settings)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False
