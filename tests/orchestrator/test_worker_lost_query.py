"""A query whose worker is killed mid-statement ends failed (WorkerLost) once another
worker picks its message up, and its sandbox goes back to ready instead of staying busy."""

from __future__ import annotations

import os
import signal

LONG_QUERY = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
              "WHERE x < 2000000000) SELECT count(*) FROM c")


def test_query_on_a_killed_worker_fails_and_releases_its_sandbox(stack_factory):
    stack = stack_factory()
    api = stack.api()
    sb = api.create_sandbox("alice", "empty-sqlite")
    job = api.submit_query("alice", sb.id, LONG_QUERY)
    stack.wait_for(lambda: api.get_sandbox("alice", sb.id).state == "busy",
                   what="the query to start")
    os.kill(stack.pid("worker-interactive"), signal.SIGKILL)
    stack.wait_for(lambda: stack.pid("worker-interactive") is None, what="the worker to die")
    stack.start_services("worker-interactive")  # takes the dead worker's message back

    done = stack.wait_for(lambda: (j := api.get_job("alice", job.id)).state == "failed" and j,
                          timeout=60, what="the lost query to be failed")
    assert done.error["type"] == "WorkerLost", done.error
    assert api.get_sandbox("alice", sb.id).state == "ready"
    assert api.run_query("alice", sb.id, "SELECT 7")[0].rows == [[7]]
    assert api.get_sandbox("alice", sb.id).state == "ready"
