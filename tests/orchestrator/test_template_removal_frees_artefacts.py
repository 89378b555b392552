"""Removing a template (``templates rm``) frees what the provisioners made of its dump
once no template uses it: the workers' ``forget_template`` job deletes the local
provisioner's prepared PostgreSQL cluster, and the Docker provisioner's baked image.
Real stacks: Redis, worker processes, real servers and containers."""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.sandboxes.local.layout import LocalLayout
from orchestrator.sandboxes.local.provisioner import dump_key
from tests.orchestrator.conftest import Stack
from tests.servers.docker import ensure_docker_engine

pytestmark = pytest.mark.timeout(300)


def _own_dump(tmp_path: Path) -> tuple[Path, str]:
    """A PostgreSQL dump no other test uses, and its digest."""
    dump = tmp_path / "marks.sql"
    dump.write_text(f"-- {uuid.uuid4()}\nCREATE TABLE marks (v text);\n"
                    "INSERT INTO marks VALUES ('a'), ('b');\n")
    return dump, hashlib.sha256(dump.read_bytes()).hexdigest()


def _baked_images(digest: str) -> list[str]:
    out = subprocess.run(["docker", "images", "-a", "-q", "--filter",
                          f"label=dbplay.dump_digest={digest}"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return out.split()


def test_removing_a_template_deletes_its_prepared_local_cluster(
        stack_factory: Callable[..., Stack], tmp_path: Path) -> None:
    stack = stack_factory()
    api = stack.api()
    if "postgres" not in api.provisioner_info()["engines"]:
        pytest.skip("no PostgreSQL binaries for the local provisioner")
    dump, digest = _own_dump(tmp_path)
    prepared = LocalLayout(stack.home / "local").pg_prepared(dump_key(digest))
    api.import_template("alice", "marks", "postgres", dump)
    twin = api.import_template("alice", "marks-twin", "postgres", dump)  # the same dump
    assert prepared.is_dir()  # made by the import's check restore

    api.delete_template("alice", "marks")
    sb = api.create_sandbox("alice", twin.name)  # the twin still uses the dump
    assert api.run_query("alice", sb.id, "SELECT count(*) FROM marks")[0].rows == [[2]]
    assert prepared.is_dir() and (stack.settings.templates_dir / digest).is_dir()

    api.delete_template("alice", "marks-twin")  # the last one: the dump goes
    assert not (stack.settings.templates_dir / digest).exists()
    stack.wait_for(lambda: not prepared.exists(), timeout=60,
                   what="the prepared cluster to be deleted")
    # the sandbox made from it is a copy and keeps answering
    assert api.run_query("alice", sb.id, "SELECT count(*) FROM marks")[0].rows == [[2]]
    api.delete_sandbox("alice", sb.id)


@pytest.mark.docker
def test_removing_a_template_deletes_its_baked_image(
        stack_factory: Callable[..., Stack], tmp_path: Path) -> None:
    ensure_docker_engine()
    dump, digest = _own_dump(tmp_path)
    try:
        stack = stack_factory(DBPLAY_PROVISIONER="docker")
        api = stack.api()
        api.import_template("alice", "marks", "postgres", dump)
        sb = api.create_sandbox("alice", "marks")
        assert api.run_query("alice", sb.id, "SELECT count(*) FROM marks")[0].rows == [[2]]
        assert len(_baked_images(digest)) == 1
        api.delete_sandbox("alice", sb.id)

        api.delete_template("alice", "marks")

        stack.wait_for(lambda: not _baked_images(digest), timeout=60,
                       what="the baked image to be deleted")
    finally:
        leftover = _baked_images(digest)
        if leftover:
            subprocess.run(["docker", "rmi", "-f", *leftover], capture_output=True, check=False)
