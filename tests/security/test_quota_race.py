"""Issue 8, item 8: quotas race.

The attack: ten `create_sandbox` calls at the same moment against a quota of 5 made 10
live sandboxes, because each call counted the live ones and inserted its own in
separate steps. Now the count and the insert share one transaction that first takes
the user's lock (SQLite's write lock, a PostgreSQL advisory lock), so exactly 5 succeed
- on SQLite metadata (the default) and on PostgreSQL metadata.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from engines.errors import QuotaExceeded
from orchestrator.store import state
from tests.orchestrator.conftest import REPO, Stack

QUOTA = 5
ATTEMPTS = 10


@pytest.fixture(params=["sqlite", "postgres"])
def quota_stack(request: pytest.FixtureRequest, stack_factory: Callable[..., Stack]) -> Stack:
    """A stack with a sandbox quota of 5, its metadata on SQLite or on PostgreSQL."""
    env = {"DBPLAY_MAX_SANDBOXES_PER_USER": str(QUOTA)}
    if request.param == "postgres":
        server: Any = request.getfixturevalue("postgres_server")
        env["DBPLAY_DATABASE_URL"] = server.new_database().replace(
            "postgresql://", "postgresql+psycopg2://", 1)
    return stack_factory(**env)


def _live(stack: Stack, user: str) -> list[Any]:
    return [s for s in stack.api().list_sandboxes(user) if s.state in state.LIVE]


def test_ten_concurrent_api_creates_against_a_quota_of_5_make_exactly_5(
        quota_stack: Stack) -> None:
    stack = quota_stack
    apis = [stack.api() for _ in range(ATTEMPTS)]  # one client each, as ten UI sessions
    start = threading.Barrier(ATTEMPTS)
    made: list[str] = []
    refused: list[str] = []
    others: list[BaseException] = []

    def create(api: Any) -> None:
        start.wait()
        try:
            made.append(api.create_sandbox("carol", "empty-sqlite", wait=False).id)
        except QuotaExceeded as exc:
            refused.append(exc.message)
        except BaseException as exc:  # reported below, never swallowed
            others.append(exc)

    threads = [threading.Thread(target=create, args=(api,)) for api in apis]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not others, others
    live = _live(stack, "carol")
    print(f"\n[quota race:{stack.settings.database_url.split(':')[0]}] {len(made)} made, "
          f"{len(refused)} refused, {len(live)} live")
    assert len(made) == QUOTA and len(refused) == ATTEMPTS - QUOTA
    assert sorted(s.id for s in live) == sorted(made)
    assert all(f"the limit is {QUOTA}" in message for message in refused)


def test_ten_concurrent_cli_creates_against_a_quota_of_5_make_exactly_5(
        quota_stack: Stack) -> None:
    stack = quota_stack
    env = {**stack.env, **stack.remote_env("dave")}  # ten CLIs of dave's, over HTTP
    procs = [subprocess.Popen(
        [sys.executable, "-m", "orchestrator.cli", "--json", "sandbox",
         "create", "empty-sqlite", "--no-wait"], env=env, cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(ATTEMPTS)]
    outcomes = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=180)
        outcomes.append((proc.returncode, json.loads(stdout) if stdout.strip() else stderr))
    made = [out["id"] for rc, out in outcomes if rc == 0]
    refused = [out for rc, out in outcomes if rc != 0]
    assert len(made) == QUOTA, outcomes
    assert all(isinstance(out, dict) and out["error"]["type"] == "QuotaExceeded"
               for out in refused), refused
    assert sorted(s.id for s in _live(stack, "dave")) == sorted(made)
