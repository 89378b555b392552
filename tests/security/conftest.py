"""The attacks of the trust issue, run for real against the running stack.

``provisioned_stack`` runs one stack per provisioner (``local`` and ``docker``), once per
test module, so every attack that can differ between them is tried on both. Tests that
attack something only one provisioner has use ``running_stack`` (local) or
``docker_stack`` directly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.orchestrator.conftest import Stack, running_stack, stack_factory  # noqa: F401
from tests.servers.docker import ensure_docker_engine

PROVISIONERS = ["local", "docker"]


def _start(tmp_path_factory: pytest.TempPathFactory, provisioner: str) -> Stack:
    if provisioner == "docker":
        ensure_docker_engine()
    return Stack(tmp_path_factory.mktemp(f"dbplay-{provisioner}"),
                 DBPLAY_PROVISIONER=provisioner).start()


@pytest.fixture(scope="module")
def docker_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = _start(tmp_path_factory, "docker")
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module", params=PROVISIONERS)
def provisioned_stack(request: pytest.FixtureRequest,
                      tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A started stack on each provisioner in turn (local, then Docker)."""
    stack = _start(tmp_path_factory, request.param)
    try:
        yield stack
    finally:
        stack.stop()
