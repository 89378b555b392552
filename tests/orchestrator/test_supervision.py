"""`dbplay up --detach` leaves a supervisor behind that restarts a service that died;
`dbplay down` stops the supervisor first, then everything else, and lists it all."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from orchestrator.api.service import Orchestrator
from orchestrator.stack.services import running_pid, service_commands
from orchestrator.stack.supervisor import FIRST_DELAY_S, MAX_DELAY_S, Supervisor
from tests.orchestrator.conftest import REPO, Stack


def _dbplay(stack: Stack, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "orchestrator.cli", *args], env=stack.env,
                          cwd=REPO, capture_output=True, text=True, timeout=timeout)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_detached_stack_restarts_a_killed_worker_and_down_stops_it_all(tmp_path: Path):
    stack = Stack(tmp_path / "home")  # only for its environment; `dbplay up` starts it all
    api = None
    try:
        up = _dbplay(stack, "up", "--detach", "--no-ui")
        assert up.returncode == 0, up.stderr
        names = ["supervisor", *service_commands(stack.settings, ui=False), "redis"]
        pids = {name: running_pid(stack.settings, name) for name in names}
        assert all(pids.values()), pids
        api = Orchestrator.from_settings(stack.settings)
        sb = api.create_sandbox("alice", "empty-sqlite")
        assert api.run_query("alice", sb.id, "SELECT 1")[0].rows == [[1]]

        killed = pids["worker-interactive"]
        assert killed is not None
        os.kill(killed, signal.SIGKILL)
        started = time.monotonic()
        answer = api.run_query("alice", sb.id, "SELECT 2")  # waits for the new worker
        assert answer[0].rows == [[2]] and answer[0].error is None
        assert time.monotonic() - started < 20
        replacement = running_pid(stack.settings, "worker-interactive")
        assert replacement is not None and replacement != killed
        assert all(running_pid(stack.settings, n) == pids[n] for n in names
                   if n != "worker-interactive")  # nothing else was touched

        down = _dbplay(stack, "down")
        assert down.returncode == 0, down.stderr
        lines = down.stdout.splitlines()
        assert lines[0] == f"stopped supervisor (pid {pids['supervisor']})"
        stopped = {line.split()[1] for line in lines if line.startswith("stopped ")}
        assert set(names) <= stopped, down.stdout
        time.sleep(1.5)  # a supervisor still around would have restarted something by now
        assert all(running_pid(stack.settings, n) is None for n in names)
        assert not any(_alive(pid) for pid in [*pids.values(), replacement] if pid)
    finally:
        if api is not None:
            api.close()
        from orchestrator.stack.services import down as stop_all

        stop_all(stack.settings)


def test_a_service_that_keeps_dying_is_restarted_ever_more_slowly(tmp_path: Path):
    stack = Stack(tmp_path / "home")
    crashing = [sys.executable, "-c", "raise SystemExit(3)"]
    supervisor = Supervisor(stack.settings, {"crasher": crashing}, poll_s=0.05)
    restarted_at: list[float] = []
    deadline = time.monotonic() + 4
    while time.monotonic() < deadline:
        if supervisor.check():
            restarted_at.append(time.monotonic())
        time.sleep(0.02)
    gaps = [b - a for a, b in itertools.pairwise(restarted_at)]
    # delays 0.5, 1, 2 s (plus the short life of the process): three restarts in 4 s
    assert 2 <= len(restarted_at) <= 4, restarted_at
    assert all(later > earlier for earlier, later in itertools.pairwise(gaps)), gaps
    assert FIRST_DELAY_S <= gaps[0] < MAX_DELAY_S
