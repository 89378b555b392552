"""Shared fixtures: real servers started once per session, a fresh database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engines.base import Engine
from engines.registry import connect

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
ENGINE_KINDS = ["postgres", "mongodb", "chroma", "sqlite"]
#: every way an engine is run in the suite (Chroma both as a server and embedded)
ENGINE_MODES = ["postgres", "mongodb", "chroma", "chroma-embedded", "sqlite"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    from tests.servers.postgres import PostgresServer

    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def mongo_server() -> Iterator[object]:
    from tests.servers.mongodb import MongoServer

    server = MongoServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def chroma_server() -> Iterator[object]:
    from tests.servers.chroma import ChromaServer

    server = ChromaServer()
    server.start()
    yield server
    server.stop()


def new_database_url(request: pytest.FixtureRequest, kind: str, tmp_path: Path) -> str:
    """A URL of a fresh, empty database of ``kind`` on a real server."""
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.db'}"
    if kind == "chroma-embedded":
        return f"chroma+file://{tmp_path / 'chroma'}"
    server = request.getfixturevalue(
        {"postgres": "postgres_server", "mongodb": "mongo_server", "chroma": "chroma_server"}[kind]
    )
    url: str = server.new_database()  # type: ignore[attr-defined]
    return url


@pytest.fixture
def engine_for(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[object]:
    """``engine_for(kind)`` gives a connected adapter on a fresh, empty database.

    ``kind`` is an engine kind, or ``chroma-embedded`` for Chroma's embedded mode
    (``chroma`` alone is a ``chroma run`` server).
    """
    opened: list[Engine] = []

    def make(kind: str, **options: object) -> Engine:
        workdir = tmp_path / uuid.uuid4().hex[:8]
        workdir.mkdir(parents=True)
        url = new_database_url(request, kind, workdir)
        engine = connect(kind.split("-")[0], url, **options)  # type: ignore[arg-type]
        engine.connect()
        opened.append(engine)
        return engine

    yield make
    for engine in opened:
        engine.close()


#: tests that share one thing a second test process must not touch at the same time run
#: in one pytest-xdist group (one process, one after another): the Docker engine's
#: containers of the test instance, the browser's Streamlit app, and timing-sensitive
#: fairness measurements
SERIAL_GROUPS = (
    ("docker", lambda item: item.get_closest_marker("docker") is not None
     or _under(item, "sandboxes", "stack")),
    ("browser", lambda item: item.get_closest_marker("e2e") is not None),
    ("timing", lambda item: _under(item, "security") and "fairness" in item.path.name),
)


def _under(item: pytest.Item, *folders: str) -> bool:
    return item.path.parent.name in folders


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups off the markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Each test joins its serial group, else its module's group: a module's tests stay
    in one process, so its module-scoped stack starts once (``--dist loadgroup``)."""
    for item in items:
        group = next((name for name, belongs in SERIAL_GROUPS if belongs(item)),
                     str(item.path.relative_to(REPO)))
        item.add_marker(pytest.mark.xdist_group(group))
