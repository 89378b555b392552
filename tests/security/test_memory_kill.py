"""A statement killed by a sandbox's memory limit leaves the sandbox usable, a server that
dies anyway comes back with its data, and a sandbox that is really lost is marked failed
with the reason and can be reset (issue 8), for real on the Docker provisioner.
"""

from __future__ import annotations

from typing import Any

import docker
import pytest

from orchestrator.sandboxes.docker.specs import spec_for
from orchestrator.sandboxes.provisioners import installation_id
from tests.orchestrator.conftest import Stack

pytestmark = [pytest.mark.timeout(600)]


def _query(stack: Stack, sandbox_id: str, sql: str) -> tuple[int, list[dict[str, Any]]]:
    rc, out = stack.cli("query", sandbox_id, sql)
    assert out and "statements" in out, out
    return rc, list(out["statements"])


def _rows_when_answering(stack: Stack, sandbox_id: str, sql: str,
                         timeout: float = 60) -> list[list[Any]]:
    """The rows of ``sql`` once the sandbox answers again (a server recovering from a
    crash refuses connections for a moment)."""
    def attempt() -> list[list[Any]] | None:
        rc, out = stack.cli("query", sandbox_id, sql)  # refused while it restarts
        return out["statements"][-1]["rows"] if rc == 0 else None

    rows: list[list[Any]] = stack.wait_for(attempt, timeout=timeout, what=f"{sql!r} to answer")
    return rows


def _show(stack: Stack, sandbox_id: str) -> dict[str, Any]:
    rc, out = stack.cli("sandbox", "show", sandbox_id)
    assert rc == 0, out
    return dict(out)


def _reasons(stack: Stack, sandbox_id: str) -> list[str]:
    rc, events = stack.cli("sandbox", "events", sandbox_id)
    assert rc == 0, events
    return [str(e["reason"]) for e in events]


def _container(stack: Stack, sandbox_id: str) -> Any:
    client = docker.from_env()
    found = client.containers.list(all=True, filters={"label": [
        f"dbplay.sandbox={sandbox_id}", f"dbplay.instance={installation_id(stack.home)}"]})
    assert len(found) == 1, found
    return found[0]


def _sandbox_with_a_table(stack: Stack) -> str:
    sandbox_id = stack.create("chinook")
    # sandboxes run with synchronous_commit off (disposable data, fast writes): a commit
    # reaches the WAL on disk within a few hundred ms, so a server killed sooner may lose
    # it. These writes ask for a durable commit, as a user who cares would.
    rc, statements = _query(stack, sandbox_id,
                            "SET synchronous_commit = on; CREATE TABLE kept (a integer); "
                            "INSERT INTO kept VALUES (42)")
    assert rc == 0, statements
    return sandbox_id


def test_statement_killed_at_the_memory_limit_leaves_the_sandbox_usable_with_its_data(
        docker_stack: Stack) -> None:
    sandbox_id = _sandbox_with_a_table(docker_stack)
    limit = spec_for("postgres", "offline").limits.memory_bytes
    # one text value as large as the whole memory limit (and its output copy besides)
    rc, statements = _query(docker_stack, sandbox_id,
                            f"SELECT repeat('x', {max(limit, 200_000_000)})")
    assert rc != 0
    error = statements[-1]["error"]
    print(f"\n[memory-kill] limit {limit // 2**20} MiB; the statement failed with: {error}")
    assert error is not None and "out of memory" in error["message"], error
    if error["type"] == "ExecutionError" and "stopped" in error["message"]:
        assert error["message"] == (f"the statement was stopped: the sandbox ran out of "
                                    f"memory (limit {limit // 2**20} MiB); the sandbox is "
                                    "usable")
    assert _rows_when_answering(docker_stack, sandbox_id, "SELECT a FROM kept") == [[42]]
    assert _rows_when_answering(docker_stack, sandbox_id, "SELECT 1") == [[1]]
    shown = _show(docker_stack, sandbox_id)
    assert shown["state"] == "ready" and not shown.get("error"), shown
    assert any("ran out of memory" in r for r in _reasons(docker_stack, sandbox_id))


def test_server_killed_anyway_restarts_with_its_data_and_the_sandbox_stays_ready(
        docker_stack: Stack) -> None:
    sandbox_id = _sandbox_with_a_table(docker_stack)
    box = _container(docker_stack, sandbox_id)
    killed = box.exec_run(["sh", "-c", "kill -KILL $(head -n1 /pgdata/postmaster.pid)"],
                          user="postgres")
    assert killed.exit_code == 0, killed.output
    docker_stack.wait_for(lambda: any("restarts with its data" in r
                                      for r in _reasons(docker_stack, sandbox_id)),
                          what="the restart to be recorded")
    assert _rows_when_answering(docker_stack, sandbox_id, "SELECT a FROM kept") == [[42]]
    box.reload()
    assert box.attrs["RestartCount"] >= 1
    assert _show(docker_stack, sandbox_id)["state"] == "ready"


def test_sandbox_lost_for_good_is_failed_with_the_reason_and_reset_brings_it_back(
        docker_stack: Stack) -> None:
    sandbox_id = _sandbox_with_a_table(docker_stack)
    _container(docker_stack, sandbox_id).kill()  # a stop Docker does not restart from
    failed = docker_stack.wait_for(
        lambda: (shown := _show(docker_stack, sandbox_id))["state"] == "failed" and shown,
        what="the sandbox to be marked failed")
    assert "was not restarted" in failed["error"], failed
    assert "reset" in failed["error"]

    rc, reset = docker_stack.cli("sandbox", "reset", sandbox_id)
    assert rc == 0, reset
    assert reset["state"] == "ready" and not reset.get("error"), reset
    assert _rows_when_answering(docker_stack, sandbox_id, "SELECT count(*) > 0 FROM artist") \
        == [[True]]
    rc, _ = _query(docker_stack, sandbox_id, "SELECT a FROM kept")
    assert rc != 0  # reset means the template's data: the lost table is gone
    assert any("reset done" in r for r in _reasons(docker_stack, sandbox_id))
