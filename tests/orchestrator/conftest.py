"""Fixtures that run the real stack: a ``redis-server`` on a free port, the worker
processes and the scheduler, on a temporary ``DBPLAY_HOME``, with the local provisioner.

Reusable by other suites (the UI tests)::

    from tests.orchestrator.conftest import running_stack, stack_factory  # noqa: F401

``running_stack`` (one per test module) yields a :class:`Stack`; use ``stack.env`` for
subprocesses, ``stack.settings`` / ``stack.api()`` in-process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import free_port, unavailable

REPO = Path(__file__).resolve().parents[2]


class Stack:
    """Redis + workers + scheduler for one temporary home."""

    def __init__(self, home: Path, **env: str) -> None:
        from orchestrator.config.settings import Settings

        self.home = home
        self.redis_port = free_port()
        self.env: dict[str, str] = {
            **os.environ,
            "DBPLAY_HOME": str(home),
            "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DBPLAY_PROVISIONER": "local",
            "DBPLAY_HEARTBEAT_TIMEOUT_MS": "3000",
            "DBPLAY_SCHEDULER_TICK": "0.3",
            "DBPLAY_REAP_INTERVAL": "3600",
            "DBPLAY_WORKER_THREADS": "4",
            "DBPLAY_USER": "alice",
            **env,
        }
        self.settings = Settings.load(self.env)
        self.redis: subprocess.Popen[bytes] | None = None
        self._apis: list[Any] = []

    # -- redis ------------------------------------------------------------
    def start_redis(self) -> None:
        from orchestrator.stack.services import redis_answers, redis_command

        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server is not installed (apt-get install -y redis-server)")
        self.settings.logs_dir.mkdir(parents=True, exist_ok=True)
        log = (self.settings.logs_dir / "redis.log").open("ab")
        self.redis = subprocess.Popen(redis_command(self.settings, persist=False),
                                      stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while not redis_answers(self.settings.redis_url):
            if time.monotonic() > deadline or self.redis.poll() is not None:
                unavailable("redis-server did not start")
            time.sleep(0.05)

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(10)
            self.redis = None

    # -- workers and scheduler ---------------------------------------------
    def start_services(self, *names: str) -> None:
        from orchestrator.stack.services import service_commands, start

        commands = service_commands(self.settings, ui=False)
        for name in names or tuple(commands):
            start(self.settings, name, commands[name])

    def pid(self, name: str) -> int | None:
        from orchestrator.stack.services import running_pid

        return running_pid(self.settings, name)

    def stop_service(self, name: str) -> None:
        from orchestrator.stack.services import stop

        stop(self.settings, name)

    def start(self) -> Stack:
        from orchestrator.store.db import Database

        Database(self.settings.database_url, self.home).dispose()
        self.start_redis()
        self.start_services()
        self.wait_until_up()
        return self

    def wait_until_up(self, timeout_s: float = 60) -> None:
        """Until every started worker (and the scheduler) has sent its first heartbeat,
        so pages and jobs never see a stack that is still starting."""
        import time

        from orchestrator.stack.services import stack_status

        deadline = time.monotonic() + timeout_s
        while True:
            status = stack_status(self.settings)
            if status["redis"] and all(status["workers"].values()) and status["scheduler"]:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"stack did not come up: {status}")
            time.sleep(0.1)

    def stop(self) -> None:
        from orchestrator.stack.services import down

        for api in self._apis:
            api.close()
        down(self.settings)
        self.stop_redis()
        from orchestrator.sandboxes.local.provisioner import purge_servers

        # local PostgreSQL clusters may live outside home (root: /var/lib/postgresql/...)
        purge_servers(self.settings.home / "local")

    # -- clients --------------------------------------------------------------
    def api(self) -> Any:
        from orchestrator.api.service import Orchestrator

        api = Orchestrator.from_settings(self.settings)
        self._apis.append(api)
        return api

    def cli(self, *args: str, user: str = "alice", stdin: str | None = None,
            timeout: float = 180) -> tuple[int, Any]:
        """Run ``dbplay --json --user USER ARGS``; returns (exit status, parsed JSON)."""
        proc = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", "--json", "--user", user, *args],
            env=self.env, cwd=REPO, capture_output=True, text=True, input=stdin,
            timeout=timeout)
        try:
            data = json.loads(proc.stdout) if proc.stdout.strip() else None
        except json.JSONDecodeError:
            raise AssertionError(f"not JSON: {proc.stdout!r} (stderr {proc.stderr!r})") from None
        return proc.returncode, data

    def create(self, template: str, *, user: str = "alice", ttl: str = "30m") -> str:
        """A ready sandbox of ``template`` made through the CLI; returns its id."""
        rc, sandbox = self.cli("sandbox", "create", template, "--ttl", ttl, user=user)
        assert rc == 0, sandbox
        assert sandbox["state"] == "ready", sandbox
        sandbox_id: str = sandbox["id"]
        return sandbox_id

    def wait_for(self, predicate: Callable[[], Any], timeout: float = 30,
                 what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.1)


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    """``stack_factory(**env)`` -> a started :class:`Stack` of its own (stopped after)."""
    stacks: list[Stack] = []

    def make(**env: str) -> Stack:
        stack = Stack(tmp_path / f"home{len(stacks)}", **env)
        stacks.append(stack)
        return stack.start()

    yield make
    for stack in stacks:
        stack.stop()


@pytest.fixture(scope="module")
def running_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = Stack(tmp_path_factory.mktemp("dbplay-home"))
    try:
        yield stack.start()
    finally:
        stack.stop()
