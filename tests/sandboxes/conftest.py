"""Docker fixtures: a real engine (``scripts/start-docker.sh``), the offline images
(``compose/build-offline-images.sh``) and a provisioner that cleans up after itself."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from orchestrator.sandboxes.provisioning import SandboxHandle, SandboxRequest
from tests.conftest import REPO
from tests.servers.docker import ensure_docker_engine

#: this test run's containers only: other dbplay processes on the engine leave them alone
TEST_INSTANCE = f"test-{uuid.uuid4().hex[:8]}"
TEMPLATES = REPO / "orchestrator" / "store" / "builtin_templates"


@pytest.fixture(scope="session")
def docker_client() -> Any:
    ensure_docker_engine()
    import docker

    return docker.from_env()


class Events:
    """What the provisioner's event callback reported, by sandbox id."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def __call__(self, sandbox_id: str, event: str, reason: str) -> None:
        self.seen.append((sandbox_id, event, reason))

    def of(self, sandbox_id: str) -> list[str]:
        return [event for sid, event, _ in self.seen if sid == sandbox_id]

    def reason(self, sandbox_id: str, event: str) -> str:
        return next(r for sid, e, r in self.seen if sid == sandbox_id and e == event)


@pytest.fixture(scope="session")
def events() -> Events:
    return Events()


@pytest.fixture(scope="session")
def provisioner(docker_client: Any, events: Events,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from orchestrator.sandboxes.docker.provisioner import DockerProvisioner

    prov = DockerProvisioner(docker_client, image_source="offline", on_event=events,
                             instance=TEST_INSTANCE,
                             state_dir=tmp_path_factory.mktemp("docker-state"))
    yield prov
    prov.close()


def new_request(engine: str, *, template: str = "empty", dump: Path | None = None,
                ttl: dt.timedelta = dt.timedelta(minutes=30),
                owner: str = "alice") -> SandboxRequest:
    digest = ""
    if dump is not None:
        import hashlib

        digest = hashlib.sha256(dump.read_bytes()).hexdigest()
    return SandboxRequest(
        sandbox_id=f"t{uuid.uuid4().hex[:12]}", owner=owner, engine=engine,
        template=template, dump_path=dump, dump_digest=digest,
        expires_at=dt.datetime.now(dt.UTC) + ttl, password=f"{uuid.uuid4().hex}:@/'")


@pytest.fixture
def sandbox(provisioner: Any) -> Iterator[Callable[..., SandboxHandle]]:
    """``sandbox(engine, **request_options)`` creates a sandbox destroyed after the test."""
    made: list[SandboxHandle] = []

    def make(engine: str, **options: Any) -> SandboxHandle:
        handle: SandboxHandle = provisioner.create(new_request(engine, **options))
        made.append(handle)
        return handle

    yield make
    for handle in made:
        provisioner.destroy(handle)
