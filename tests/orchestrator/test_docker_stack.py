"""The whole stack on the Docker provisioner: real Redis, worker processes and sandbox
containers. Containers are found with ``docker ps -a`` by the installation's label
(``dbplay.instance``), so other installations on the same engine are left alone."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from engines.errors import RestoreError
from orchestrator.sandboxes.provisioners import installation_id
from orchestrator.store.models import Template
from orchestrator.store.templates import CATALOG
from tests.orchestrator.conftest import Stack
from tests.servers.docker import ensure_docker_engine

pytestmark = [pytest.mark.docker, pytest.mark.timeout(300)]

PAGILA_TABLES = next(e.tables for e in CATALOG if e.name == "pagila")


@pytest.fixture(scope="module")
def docker_engine() -> None:
    ensure_docker_engine()


def containers(stack: Stack, sandbox_id: str | None = None) -> list[str]:
    """``name id`` of every container of this installation (of one sandbox if given)."""
    filters = ["--filter", f"label=dbplay.instance={installation_id(stack.home)}"]
    if sandbox_id is not None:
        filters += ["--filter", f"label=dbplay.sandbox={sandbox_id}"]
    out = subprocess.run(["docker", "ps", "-a", *filters, "--format", "{{.Names}} {{.ID}}"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    return sorted(out.split("\n")[:-1])


def _cleanup(stack: Stack, digests: list[str]) -> None:
    """Remove what a failed test may have left: containers, and images baked from the
    test's own dumps (built-in templates' baked images are kept: other runs reuse them)."""
    ids = [line.split()[1] for line in containers(stack)]
    if ids:
        subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)
    for digest in digests:
        out = subprocess.run(["docker", "images", "-q", "--filter",
                              f"label=dbplay.dump_digest={digest}"],
                             capture_output=True, text=True, check=False).stdout.split()
        if out:
            subprocess.run(["docker", "rmi", "-f", *out], capture_output=True, check=False)


def _docker_stack(home: Path, **env: str) -> Stack:
    return Stack(home, DBPLAY_PROVISIONER="docker", **env)


@pytest.fixture(scope="module")
def docker_stack(docker_engine: None, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[Stack]:
    stack = _docker_stack(tmp_path_factory.mktemp("dbplay-docker"))
    try:
        yield stack.start()
    finally:
        stack.stop()
        _cleanup(stack, _own_digests(stack))


def _own_digests(stack: Stack) -> list[str]:
    from orchestrator.store.db import Database

    db = Database(stack.settings.database_url, stack.home)
    try:
        with db.session() as session:
            return [d for d in session.scalars(select(Template.digest).where(
                Template.owner.is_not(None))) if d]
    finally:
        db.dispose()


def test_worker_killed_mid_provisioning_leaves_no_orphan_container(docker_engine, tmp_path):
    # the worker sleeps after the container started and before recording it ready
    stack = _docker_stack(tmp_path / "home", DBPLAY_FAULT_READY_DELAY="5").start()
    try:
        api = stack.api()
        sb = api.create_sandbox("alice", "pagila", wait=False)
        first = stack.wait_for(lambda: containers(stack, sb.id), timeout=120,
                               what="the sandbox container")
        assert api.get_sandbox("alice", sb.id).state == "provisioning"
        os.kill(stack.pid("worker-provision"), signal.SIGKILL)
        stack.wait_for(lambda: stack.pid("worker-provision") is None, what="the worker to die")
        stack.start_services("worker-provision")  # a fresh worker gets the message again

        final = stack.wait_for(
            lambda: (v := api.get_sandbox("alice", sb.id)).state in ("ready", "failed") and v,
            timeout=150, what="the provision job to be retried or failed")
        reasons = [e.reason for e in api.sandbox_events("alice", sb.id)]
        if final.state == "failed":
            assert final.error, reasons
            assert containers(stack) == []
        else:
            assert any("attempt 2" in r for r in reasons), reasons
            now = containers(stack)
            assert len(now) == 1 and now != first, (first, now)  # the half-made one is gone
            assert api.run_query("alice", sb.id, "SELECT count(*) FROM film")[0].rows == [[1000]]
        api.delete_sandbox("alice", sb.id)
        assert containers(stack) == []
    finally:
        stack.stop()
        _cleanup(stack, [])


def _rows(stack: Stack, sandbox_id: str, text: str) -> list[list[object]]:
    rc, out = stack.cli("query", sandbox_id, text)
    assert rc == 0, out
    rows: list[list[object]] = out["statements"][-1]["rows"]
    return rows


def test_cli_lifecycle_on_docker(docker_stack: Stack):
    stack = docker_stack
    rc, sb = stack.cli("sandbox", "create", "pagila", "--ttl", "30m")
    assert rc == 0, sb
    assert sb["state"] == "ready" and sb["provisioner"] == "docker"
    sid = sb["id"]
    assert len(containers(stack, sid)) == 1
    assert _rows(stack, sid, "SELECT count(*) FROM film") == [[1000]]
    rc, schema = stack.cli("schema", sid)
    assert rc == 0 and tuple(t["name"] for t in schema["tables"]) == PAGILA_TABLES

    changed = _rows(stack, sid, "UPDATE film SET title = 'CHANGED' WHERE film_id = 1; "
                                "INSERT INTO category (name) VALUES ('Sandbox'); "
                                "SELECT title FROM film WHERE film_id = 1")
    assert changed == [["CHANGED"]]
    rc, tpl = stack.cli("snapshot", sid, "--name", "pagila-changed")
    assert rc == 0, tpl
    assert tpl["owner"] == "alice" and "film" in tpl["tables"]

    rc, copy = stack.cli("sandbox", "create", "pagila-changed")
    assert rc == 0, copy
    assert _rows(stack, copy["id"], "SELECT title FROM film WHERE film_id = 1") == [["CHANGED"]]
    assert _rows(stack, copy["id"],
                 "SELECT count(*) FROM category WHERE name = 'Sandbox'") == [[1]]

    before = containers(stack, sid)
    rc, reset = stack.cli("sandbox", "reset", sid)
    assert rc == 0 and reset["state"] == "ready", reset
    assert _rows(stack, sid, "SELECT title FROM film WHERE film_id = 1") == [
        ["ACADEMY DINOSAUR"]]
    assert _rows(stack, sid, "SELECT count(*) FROM category WHERE name = 'Sandbox'") == [[0]]
    after = containers(stack, sid)
    assert len(after) == 1 and after != before

    for doomed in (sid, copy["id"]):
        rc, out = stack.cli("sandbox", "rm", doomed)
        assert rc == 0, out
        assert containers(stack, doomed) == []
    assert containers(stack) == []


def test_broken_dump_import_leaves_no_template_and_no_container(docker_stack: Stack,
                                                                tmp_path: Path):
    api = docker_stack.api()
    dump = tmp_path / "broken.sql"
    dump.write_text("CREATE TABLE a (x integer);\nINSERT INTO a VALUES (1);\n"
                    "INSERT INTO nope VALUES (2);\n")
    with pytest.raises(RestoreError) as info:
        api.import_template("alice", "broken", "postgres", dump)
    assert "nope" in info.value.message
    assert "broken" not in {t.name for t in api.list_templates("alice")}
    assert containers(docker_stack) == []
    digest = hashlib.sha256(dump.read_bytes()).hexdigest()
    assert not (docker_stack.settings.templates_dir / digest).exists()  # the dump is dropped
