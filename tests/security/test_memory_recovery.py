"""Sandboxes recover (issue 14), for real on the local provisioner (Docker's side is in
``test_memory_kill.py``): a statement stopped for memory leaves the sandbox usable with
the data imported into it and says which statement was stopped and why; a server killed
under a running statement is detected, restarted with its data, and the user told; a
server that cannot come back marks the sandbox failed with the reason, and a reset
brings it back."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.orchestrator.conftest import Stack
from tests.servers import unavailable

pytestmark = [pytest.mark.timeout(600)]

HUGE = "select repeat('x', 200000000)"


def _query(stack: Stack, sandbox_id: str, sql: str) -> tuple[int, list[dict[str, Any]]]:
    rc, out = stack.cli("query", sandbox_id, sql)
    assert out and "statements" in out, out
    return rc, list(out["statements"])


def _show(stack: Stack, sandbox_id: str) -> dict[str, Any]:
    rc, out = stack.cli("sandbox", "show", sandbox_id)
    assert rc == 0, out
    return dict(out)


def _reasons(stack: Stack, sandbox_id: str) -> list[str]:
    rc, events = stack.cli("sandbox", "events", sandbox_id)
    assert rc == 0, events
    return [str(e["reason"]) for e in events]


def _postgres_with_imported_rows(stack: Stack, tmp_path: Path) -> str:
    if "postgres" not in stack.api().provisioner_info()["engines"]:
        unavailable("the local provisioner has no PostgreSQL binaries here")
    sandbox_id = stack.create("empty-postgres")
    csv = tmp_path / "people.csv"
    csv.write_text("id,name\n" + "".join(f"{n},person {n}\n" for n in range(1, 501)))
    rc, report = stack.cli("import", sandbox_id, "people", str(csv))
    assert rc == 0, report
    return sandbox_id


def _count(stack: Stack, sandbox_id: str) -> Any:
    rc, statements = _query(stack, sandbox_id, "SELECT count(*) FROM people")
    assert rc == 0, [s.get("error") for s in statements]
    return statements[-1]["rows"]


def _postmaster_pid(stack: Stack, sandbox_id: str) -> int:
    from orchestrator.sandboxes.local.layout import LocalLayout

    pid_file = LocalLayout(stack.home / "local").pg_sandbox(sandbox_id) / "data" / \
        "postmaster.pid"
    return int(pid_file.read_text().splitlines()[0])


def _busy_backends(postmaster: int) -> list[int]:
    """The server's client backends running a statement now, by their process titles
    (``postgres: sandbox sandbox 127.0.0.1(port) FETCH``, ``... idle`` when not)."""
    busy = []
    for proc in Path("/proc").iterdir():
        try:
            stat = (proc / "stat").read_text()
            title = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError):
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == postmaster and "127.0.0.1(" in title and " idle" not in title:
            busy.append(int(proc.name))
    return busy


def test_a_statement_stopped_for_memory_leaves_the_sandbox_usable_with_its_imported_data(
        running_stack: Stack, tmp_path: Path) -> None:
    sandbox_id = _postgres_with_imported_rows(running_stack, tmp_path)
    rc, statements = _query(running_stack, sandbox_id, f"SELECT 1; {HUGE}; SELECT 2")
    assert rc != 0
    stopped = next(s for s in statements if s["error"])
    print(f"\n[memory-recovery] {stopped['statement']!r} failed with {stopped['error']}")
    assert stopped["statement"].strip().rstrip(";") == HUGE, statements
    assert "memory" in stopped["error"]["message"], stopped
    assert _count(running_stack, sandbox_id) == [[500]]
    assert _show(running_stack, sandbox_id)["state"] == "ready"


def test_a_server_killed_under_a_statement_restarts_with_its_data_and_says_so(
        running_stack: Stack, tmp_path: Path) -> None:
    stack = running_stack
    sandbox_id = _postgres_with_imported_rows(stack, tmp_path)
    api = stack.api()
    job = api.submit_query("alice", sandbox_id, "SELECT pg_sleep(20)")
    postmaster = _postmaster_pid(stack, sandbox_id)
    stack.wait_for(lambda: _busy_backends(postmaster),
                   what="the statement to run on the server")
    os.kill(_postmaster_pid(stack, sandbox_id), signal.SIGKILL)  # as the OOM killer would
    done = api.wait_job("alice", job.id, 60)
    assert done.result, done
    stopped = done.result[-1]
    print(f"\n[memory-recovery] the killed statement ended with {stopped['error']}")
    assert stopped["statement"] == "SELECT pg_sleep(20)"
    message = stopped["error"]["message"]
    assert message.startswith("the statement was stopped"), message
    assert "restarted with its data" in message, message
    assert _count(stack, sandbox_id) == [[500]]  # at once: the server is back
    assert _show(stack, sandbox_id)["state"] == "ready"
    assert any("restarts with its data" in r for r in _reasons(stack, sandbox_id))


def test_a_server_that_cannot_come_back_fails_the_sandbox_with_the_reason_and_reset_works(
        running_stack: Stack, tmp_path: Path) -> None:
    from orchestrator.sandboxes.local.layout import LocalLayout

    stack = running_stack
    sandbox_id = _postgres_with_imported_rows(stack, tmp_path)
    data = LocalLayout(stack.home / "local").pg_sandbox(sandbox_id) / "data"
    os.kill(_postmaster_pid(stack, sandbox_id), signal.SIGKILL)
    (data / "PG_VERSION").unlink()  # the cluster is broken for good
    rc, out = stack.cli("query", sandbox_id, "SELECT count(*) FROM people")
    assert rc != 0, out
    print(f"\n[memory-recovery] on a server that cannot start: {out}")
    assert "could not be restarted" in json.dumps(out), out
    failed = stack.wait_for(lambda: (shown := _show(stack, sandbox_id))["state"] == "failed"
                            and shown, what="the sandbox to be marked failed")
    assert "could not be restarted" in failed["error"] and "reset" in failed["error"], failed
    rc, reset = stack.cli("sandbox", "reset", sandbox_id)
    assert rc == 0, reset
    assert reset["state"] == "ready" and not reset.get("error"), reset
    rc, statements = _query(stack, sandbox_id, "SELECT 1")
    assert rc == 0 and statements[-1]["rows"] == [[1]], statements


def test_an_import_survives_a_server_killed_right_after_it(running_stack: Stack,
                                                           tmp_path: Path) -> None:
    """Sandboxes commit asynchronously, imports synchronously: a kill the moment the
    import returns (before the WAL writer's next round) keeps the imported rows."""
    stack = running_stack
    sandbox_id = _postgres_with_imported_rows(stack, tmp_path)
    os.kill(_postmaster_pid(stack, sandbox_id), signal.SIGKILL)
    rc, out = stack.cli("query", sandbox_id, "SELECT count(*) FROM people")
    if "statements" not in out:  # it met the dead server, which it restarted: ask again
        assert "restarts with its data" in out["error"]["message"], out
        rc, out = stack.cli("query", sandbox_id, "SELECT count(*) FROM people")
    statements = out["statements"]
    assert rc == 0, [s.get("error") for s in statements]
    assert statements[-1]["rows"] == [[500]]
