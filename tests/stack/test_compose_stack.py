"""The whole product in one compose stack (``compose/stack.yml``) on the real Docker engine.

One stack per module, under its own project name, ports and ``DBPLAY_INSTANCE``: a token
from the CLI inside the ``api`` container, a PostgreSQL sandbox that the workers start on
the host's engine, a query through the HTTP API, and down again with its volumes and
whatever sandbox containers it made. ``docker compose`` or ``docker-compose`` must be
installed (``scripts/setup.sh test``); under ``CI=true`` a missing one fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REPO
from tests.servers import free_port, unavailable
from tests.servers.docker import ensure_docker_engine

pytestmark = pytest.mark.docker

STACK_FILE = REPO / "compose" / "stack.yml"
APP_IMAGE = "dbplay/app:latest"
#: the offline metadata image (compose/build-offline-images.sh); else the official one
OFFLINE_METADATA_IMAGE = "dbplay/postgres-metadata:15"
START_TIMEOUT_S = 120.0
APP_SERVICES = ("api", "ui", "worker-interactive", "worker-provision", "worker-background",
                "scheduler", "redis")


def compose_command() -> list[str]:
    """``docker compose`` (v2) where the plugin exists, else ``docker-compose`` (v1)."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True,
                               check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    unavailable("neither `docker compose` nor `docker-compose` is installed "
                "(scripts/setup.sh test installs docker-compose)")


def image_exists(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True,
                          check=False).returncode == 0


def docker_lines(*argv: str) -> list[str]:
    out = subprocess.run(["docker", *argv], capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip()]


class ComposeStack:
    """One running ``compose/stack.yml`` project, reached over real HTTP."""

    def __init__(self, project: str) -> None:
        self.project = project
        self.api_port = free_port()
        self.ui_port = free_port()
        self.env = {**os.environ,
                    "DBPLAY_API_PORT": str(self.api_port),
                    "DBPLAY_UI_PORT": str(self.ui_port),
                    "DBPLAY_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
                    "DBPLAY_INSTANCE": project,
                    # one sandbox is all this test needs: no warm pool working beside it
                    "DBPLAY_POOL_SIZE": "0"}
        if "DBPLAY_METADATA_IMAGE" not in os.environ and image_exists(OFFLINE_METADATA_IMAGE):
            self.env["DBPLAY_METADATA_IMAGE"] = OFFLINE_METADATA_IMAGE
        self.base = f"http://127.0.0.1:{self.api_port}/api/v1"

    def compose(self, *argv: str, timeout: float = 180.0,
                check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*compose_command(), "-p", self.project, "-f", str(STACK_FILE),
                               *argv], env=self.env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        if check and proc.returncode != 0:
            raise AssertionError(f"compose {' '.join(argv)} failed ({proc.returncode}):\n"
                                 f"{proc.stderr[-3000:]}\n{self.logs()}")
        return proc

    def logs(self) -> str:
        proc = subprocess.run([*compose_command(), "-p", self.project, "-f", str(STACK_FILE),
                               "logs", "--no-color", "--tail", "30"], env=self.env,
                              capture_output=True, text=True, timeout=60, check=False)
        return proc.stdout[-8000:]

    def request(self, method: str, path: str, body: dict[str, Any] | None = None,
                token: str | None = None, timeout: float = 120.0) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def wait_for(self, url: str, what: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        last = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
                    last = f"HTTP {resp.status}"
            except (OSError, urllib.error.URLError) as exc:
                last = str(exc)
            time.sleep(0.25)
        raise AssertionError(f"{what} did not answer at {url} within {START_TIMEOUT_S:.0f}s "
                             f"({last}):\n{self.logs()}")

    def sandbox_containers(self, *labels: str) -> list[str]:
        filters = [f"--filter=label=dbplay.instance={self.project}",
                   *(f"--filter=label={label}" for label in labels)]
        return docker_lines("ps", "-aq", *filters)

    def remove_sandbox_containers(self) -> None:
        ids = self.sandbox_containers()
        if ids:
            subprocess.run(["docker", "rm", "-f", "-v", *ids], capture_output=True, check=False)

    def volumes(self) -> list[str]:
        return docker_lines("volume", "ls", "-q",
                            f"--filter=label=com.docker.compose.project={self.project}")


@pytest.fixture(scope="module")
def stack() -> Iterator[ComposeStack]:
    compose_command()  # fails (CI) or skips before anything starts
    ensure_docker_engine("metadata", "app")  # waits for a build scripts/test.sh started
    if not image_exists(APP_IMAGE):
        pytest.fail(f"{APP_IMAGE} is missing: run compose/build-offline-images.sh app")
    running = ComposeStack(f"dbplaytest{uuid.uuid4().hex[:8]}")
    try:
        running.compose("up", "-d", timeout=300)
        running.wait_for(running.base + "/health", "the API")
        running.wait_for(f"http://127.0.0.1:{running.ui_port}/_stcore/health", "the UI")
        yield running
    finally:
        down = running.compose("down", "-v", "--remove-orphans", "-t", "5", timeout=180,
                               check=False)
        running.remove_sandbox_containers()
    # what `down -v` must leave behind: nothing of the project
    assert down.returncode == 0, down.stderr
    assert running.volumes() == []
    assert docker_lines("ps", "-aq",
                        f"--filter=label=com.docker.compose.project={running.project}") == []


def create_token(stack: ComposeStack, user: str) -> str:
    """``dbplay token create`` inside the api container (an admin command of the
    installation), as an operator would run it."""
    proc = stack.compose("exec", "-T", "api", "dbplay", "token", "create", "--user", user,
                         "--json", timeout=60)
    token: str = json.loads(proc.stdout)["token"]
    return token


def test_stack_serves_api_and_ui_and_runs_every_service(stack: ComposeStack) -> None:
    status, body = stack.request("GET", "/health")
    assert (status, body) == (200, {"ok": True})
    running = stack.compose("ps", "--services", "--filter", "status=running").stdout.split()
    assert set(APP_SERVICES) | {"metadata-db"} <= set(running), running


def test_requests_without_a_token_are_refused(stack: ComposeStack) -> None:
    status, body = stack.request("GET", "/sandboxes")
    assert status == 401
    assert body["error"]["type"] == "Unauthorized"


def test_token_creates_and_queries_a_docker_sandbox_through_the_api(
        stack: ComposeStack) -> None:
    token = create_token(stack, "alice")
    assert token.startswith("dbp_")

    status, sandbox = stack.request("POST", "/sandboxes",
                                    {"template": "empty-postgres", "wait": True}, token)
    assert status == 201, sandbox
    assert sandbox["state"] == "ready", sandbox
    # started by a worker on the host's engine, labelled as this stack's own
    containers = stack.sandbox_containers(f"dbplay.sandbox={sandbox['id']}")
    assert len(containers) == 1

    status, result = stack.request("POST", f"/sandboxes/{sandbox['id']}/query",
                                   {"text": "select 1 as one"}, token)
    assert status == 200, result
    statement = result["statements"][0]
    assert statement["columns"] == ["one"]
    assert statement["rows"] == [[1]]

    status, answer = stack.request("GET", "/status", token=token)
    assert status == 200, answer
    parts = answer.get("stack", answer)
    assert parts["scheduler"] is True and all(parts["workers"].values()), parts
    assert parts["provisioner"]["name"] == "docker", parts

    status, deleted = stack.request("DELETE", f"/sandboxes/{sandbox['id']}", token=token)
    assert (status, deleted) == (200, {"deleted": sandbox["id"]})
    assert stack.sandbox_containers(f"dbplay.sandbox={sandbox['id']}") == []

