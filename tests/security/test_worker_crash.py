"""One statement must not kill a worker (issue 8, item 5), tried on the running stack.

The 40,000-term ``SELECT 1+1+...`` crashed PostgreSQL's parser (pglast, in-process)
with a segfault inside the shared interactive worker, killing every other user's
running query. Now the adapter refuses it before parsing, and even a statement process
that dies (here: really killed by SIGSEGV in the middle of a statement) fails only its
own job: the worker keeps its pid, another user's query running at the same time
completes, and the sandbox is usable with its data as before.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from tests.orchestrator.conftest import Stack

BOMB = "SELECT " + "+".join(["1"] * 40_000)


def _fenced(pid: int) -> bool:
    """A child running a job has fenced itself (Landlock sets no_new_privs); a spare
    child forked ahead of time, still waiting for a job, has not."""
    try:
        return "NoNewPrivs:\t1" in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _zygote_children(worker: int) -> list[int]:
    """The statement processes of a worker running a job: fenced children of its zygote."""
    def children(pid: int) -> list[int]:
        out: list[int] = []
        for task in Path(f"/proc/{pid}/task").iterdir():
            out += [int(c) for c in (task / "children").read_text().split()]
        return out

    zygotes = [pid for pid in children(worker)
               if b"workers.isolation.zygote" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    return [child for zygote in zygotes for child in children(zygote) if _fenced(child)]


def _wait_running(stack: Stack, api: object, user: str, job_id: str) -> None:
    stack.wait_for(lambda: api.get_job(user, job_id).state == "running",  # type: ignore[attr-defined]
                   timeout=60, what=f"{user}'s query to start")


def test_parser_bomb_fails_alone_while_another_users_query_completes(running_stack) -> None:
    api = running_stack.api()
    mine = api.create_sandbox("alice", "empty-postgres")
    theirs = api.create_sandbox("bob", "empty-postgres")
    worker = running_stack.pid("worker-interactive")
    assert worker is not None

    slow = api.submit_query("bob", theirs.id, "SELECT pg_sleep(3), 42")
    _wait_running(running_stack, api, "bob", slow.id)
    bomb = api.wait_job("alice", api.submit_query("alice", mine.id, BOMB).id, 60)
    other = api.wait_job("bob", slow.id, 60)

    assert other.state == "done", other.error
    assert other.result[0]["rows"][0][1] == 42
    if bomb.state == "failed":  # the crash fence caught it
        assert bomb.error["type"] == "StatementCrashed"
        assert "SIGSEGV" in bomb.error["message"]
    else:  # the parse limit refused it before the parser saw it
        error = bomb.result[-1]["error"]
        assert error["type"] == "ParseLimitExceeded", error
        assert "nest" in error["message"].lower() or "deep" in error["message"].lower()
    assert running_stack.pid("worker-interactive") == worker
    assert api.run_query("alice", mine.id, "SELECT 1")[0].rows == [[1]]
    assert api.run_query("bob", theirs.id, "SELECT 2")[0].rows == [[2]]


def test_statement_process_killed_by_sigsegv_fails_only_its_job(running_stack) -> None:
    api = running_stack.api()
    mine = api.create_sandbox("alice", "empty-postgres")
    theirs = api.create_sandbox("bob", "empty-postgres")
    api.run_query("alice", mine.id, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (1)")
    worker = running_stack.pid("worker-interactive")
    assert worker is not None
    running_stack.wait_for(lambda: not _zygote_children(worker), what="no statement running")

    doomed = api.submit_query("alice", mine.id,
                              "BEGIN; INSERT INTO kept VALUES (2); SELECT pg_sleep(30)")
    _wait_running(running_stack, api, "alice", doomed.id)
    child = running_stack.wait_for(lambda: _zygote_children(worker), timeout=30,
                                   what="alice's statement process")
    assert len(child) == 1
    slow = api.submit_query("bob", theirs.id, "SELECT pg_sleep(2), 42")
    _wait_running(running_stack, api, "bob", slow.id)

    os.kill(child[0], signal.SIGSEGV)  # the crash, for real, mid-statement
    crashed = api.wait_job("alice", doomed.id, 30)
    other = api.wait_job("bob", slow.id, 30)

    assert crashed.state == "failed"
    assert crashed.error["type"] == "StatementCrashed"
    assert "crashed the process running it (SIGSEGV)" in crashed.error["message"]
    assert "your sandbox and other users are unaffected" in crashed.error["message"]
    assert other.state == "done" and other.result[0]["rows"][0][1] == 42
    assert running_stack.pid("worker-interactive") == worker
    # the sandbox is usable and its data unchanged: the open transaction did not commit
    running_stack.wait_for(lambda: api.get_sandbox("alice", mine.id).state == "ready")
    assert api.run_query("alice", mine.id, "SELECT count(*) FROM kept")[0].rows == [[1]]
