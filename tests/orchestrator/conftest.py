"""Fixtures that run the real stack: a ``redis-server`` on a free port, the worker
processes, the scheduler and the HTTP API (on a free port), on a temporary
``DBPLAY_HOME``, with the local provisioner.

:meth:`Stack.cli` runs ``dbplay`` as a remote client of that API (``DBPLAY_URL`` and a
``DBPLAY_TOKEN`` of the acting user), so every CLI test also tests the API over HTTP;
``DBPLAY_TEST_CLI_MODE=local`` runs it in local mode instead (the installation token and
``--user``).

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
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.servers import free_port, unavailable

REPO = Path(__file__).resolve().parents[2]
#: how Stack.cli reaches the stack: "remote" (DBPLAY_URL + DBPLAY_TOKEN) or "local"
CLI_MODE = os.environ.get("DBPLAY_TEST_CLI_MODE", "remote")


class Stack:
    """Redis + workers + scheduler + API for one temporary home."""

    def __init__(self, home: Path, **env: str) -> None:
        from orchestrator.config.settings import Settings

        self.home = home
        self.redis_port = free_port()
        self.api_port = free_port()
        if CLI_MODE not in ("remote", "local"):
            raise ValueError(f"DBPLAY_TEST_CLI_MODE={CLI_MODE!r}: use remote or local")
        self.cli_mode = CLI_MODE
        self.env: dict[str, str] = {
            **os.environ,
            "DBPLAY_HOME": str(home),
            "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "DBPLAY_API_PORT": str(self.api_port),
            "DBPLAY_PROVISIONER": "local",
            "DBPLAY_HEARTBEAT_TIMEOUT_MS": "3000",
            "DBPLAY_SCHEDULER_TICK": "0.3",
            "DBPLAY_REAP_INTERVAL": "3600",
            "DBPLAY_WORKER_THREADS": "4",
            # the warm pool (on by default) is tested on its own: elsewhere it would add
            # sandboxes and jobs that tests do not expect
            "DBPLAY_POOL_SIZE": "0",
            "DBPLAY_USER": "alice",
            **env,
        }
        self.settings = Settings.load(self.env)
        for name in ("DBPLAY_URL", "DBPLAY_TOKEN"):  # a developer's own remote settings
            self.env.pop(name, None)
        self.redis: subprocess.Popen[bytes] | None = None
        self._apis: list[Any] = []
        self._tokens: dict[str, str] = {}

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
        if self.cli_mode == "remote":  # `stack.env` makes remote calls as alice
            self.env.update(self.remote_env("alice"))
        return self

    def wait_until_up(self, timeout_s: float = 60) -> None:
        """Until every started worker (and the scheduler) has sent its first heartbeat
        and the API answers its health check, so pages, jobs and CLI calls never see a
        stack that is still starting."""
        from orchestrator.stack.services import stack_status

        deadline = time.monotonic() + timeout_s
        while True:
            status = stack_status(self.settings)
            if status["redis"] and all(status["workers"].values()) and status["scheduler"] \
                    and self.api_healthy():
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
        self.remove_containers()

    def remove_containers(self) -> None:
        """Remove the sandbox containers of this stack's installation and stop their
        loopback forwarders (a stopped stack leaves its sandboxes to the next start's
        reaper; a test stack has no next start)."""
        if self.settings.provisioner == "local":
            return
        from orchestrator.sandboxes.docker.port_forward import ForwarderProcesses
        from orchestrator.sandboxes.provisioners import docker_answers, installation_id

        forwarders = self.settings.home / "docker" / "forwarders"
        for record in forwarders.glob("*.json"):
            ForwarderProcesses(forwarders).close(record.stem)

        if not docker_answers():
            return
        import docker

        instance = self.settings.instance or installation_id(self.settings.home)
        client = docker.from_env()
        try:
            for container in client.containers.list(
                    all=True, filters={"label": f"dbplay.instance={instance}"}):
                container.remove(force=True, v=True)
        finally:
            client.close()

    # -- the HTTP API -----------------------------------------------------------
    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def api_healthy(self) -> bool:
        """Whether the API service answers ``GET /api/v1/health``."""
        try:
            with urllib.request.urlopen(f"{self.api_url}/api/v1/health", timeout=2) as resp:
                return bool(json.loads(resp.read()).get("ok"))
        except (OSError, ValueError):
            return False

    def token(self, user: str) -> str:
        """An API token of ``user`` (made once per stack with ``dbplay token create``)."""
        if user not in self._tokens:
            proc = subprocess.run(
                [sys.executable, "-m", "orchestrator.cli", "--json", "token", "create",
                 "--user", user, "--name", "tests"],
                env=self.env, cwd=REPO, capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, (proc.stdout, proc.stderr)
            self._tokens[user] = json.loads(proc.stdout)["token"]
        return self._tokens[user]

    def remote_env(self, user: str) -> dict[str, str]:
        """The environment of a remote CLI acting as ``user``."""
        return {"DBPLAY_URL": self.api_url, "DBPLAY_TOKEN": self.token(user)}

    # -- clients --------------------------------------------------------------
    def api(self) -> Any:
        from orchestrator.api.service import Orchestrator

        api = Orchestrator.from_settings(self.settings)
        self._apis.append(api)
        return api

    def cli(self, *args: str, user: str = "alice", stdin: str | None = None,
            timeout: float = 180) -> tuple[int, Any]:
        """Run ``dbplay --json ARGS`` as ``user``; returns (exit status, parsed JSON).

        Remote mode (the default): with ``DBPLAY_URL`` and ``user``'s ``DBPLAY_TOKEN``.
        Local mode (``DBPLAY_TEST_CLI_MODE=local``): with ``--user USER``."""
        if self.cli_mode == "remote":
            env, argv = {**self.env, **self.remote_env(user)}, ["--json", *args]
        else:
            env, argv = self.env, ["--json", "--user", user, *args]
        proc = subprocess.run(
            [sys.executable, "-m", "orchestrator.cli", *argv],
            env=env, cwd=REPO, capture_output=True, text=True, input=stdin,
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
