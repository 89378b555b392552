"""Issue 8, item 5: one statement killed a worker.

A 40,000-term ``SELECT 1+1+...`` segfaulted pglast's parser inside the shared
interactive worker, killing every other user's running query. Here Bob sends that bomb
(and a script past the size limit) through the real stack, on each provisioner, while
Alice's query runs: Bob gets a clear error, Alice's query finishes, and the worker
processes are the same ones as before.
"""

from __future__ import annotations

from typing import Any

from tests.orchestrator.conftest import Stack

PLUS_BOMB = "SELECT " + "+".join(["1"] * 40_000)
WORKERS = ("worker-interactive", "worker-provision", "worker-background")


def statements(job: Any) -> list[dict[str, Any]]:
    assert job.state == "done", (job.state, job.error)
    result: list[dict[str, Any]] = job.result
    return result


def test_parser_bomb_gets_a_clear_error_and_kills_no_ones_query(provisioned_stack: Stack):
    stack = provisioned_stack
    api = stack.api()
    alice = api.create_sandbox("alice", "empty-postgres")
    bob = api.create_sandbox("bob", "empty-postgres")
    workers = {name: stack.pid(name) for name in WORKERS}
    running = api.submit_query("alice", alice.id, "SELECT pg_sleep(3); SELECT 'still here'",
                               timeout_s=30)
    stack.wait_for(lambda: api.get_job("alice", running.id).state == "running",
                   what="alice's query to start")
    bombs = [api.submit_query("bob", bob.id, f"SELECT 1;\n{PLUS_BOMB}") for _ in range(3)]
    for bomb in bombs:
        [result] = statements(api.wait_job("bob", bomb.id, 120))
        assert result["error"]["type"] == "ParseLimitExceeded", result["error"]
        assert "too deeply" in result["error"]["message"]
    assert statements(api.wait_job("alice", running.id, 60))[-1]["rows"] == [["still here"]]
    assert {name: stack.pid(name) for name in WORKERS} == workers
    assert api.run_query("bob", bob.id, "SELECT 1 + 1")[0].rows == [[2]]
    api.delete_sandbox("alice", alice.id)
    api.delete_sandbox("bob", bob.id)


def test_a_script_past_the_size_limit_is_refused_before_parsing(provisioned_stack: Stack):
    stack = provisioned_stack
    api = stack.api()
    sandbox = api.create_sandbox("bob", "empty-sqlite")
    script = "SELECT 1;\n" * (stack.settings.max_script_bytes // 10 + 1)
    [result] = api.run_query("bob", sandbox.id, script)
    assert result.error is not None and result.error["type"] == "ParseLimitExceeded"
    assert f"{stack.settings.max_script_bytes:,} bytes" in result.error["message"]
    assert len(result.statement) < 10_000  # the refused script is not echoed back whole
    api.delete_sandbox("bob", sandbox.id)
