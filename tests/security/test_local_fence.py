"""The local provisioner's fence (issue 8, items 2, 3 and 9), attacked for real by two
users through the CLI against a stack on the local provisioner (``running_stack``):

* bob's PostgreSQL sandbox is a server of its own: its catalogs list only his database
  and roles, and his credentials do not open alice's server;
* a template whose dump runs ``COPY ... FROM PROGRAM`` runs no program;
* ``SET work_mem = '4GB'`` and a huge sort fail with "out of memory" (every server
  process has an address-space limit) and the sandbox keeps answering;
* temporary files stop at ``temp_file_limit``;
* bob's MongoDB connection string reaches his own server, which holds none of alice's
  data;
* the registry and every file the local provisioner writes are 0600 (dirs 0700).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg2
import pymongo
import pytest

from orchestrator.sandboxes.local.layout import LocalLayout, Registry
from tests.orchestrator.conftest import Stack

pytestmark = [pytest.mark.timeout(600)]


def _create(stack: Stack, template: str, user: str = "alice") -> str:
    rc, sandbox = stack.cli("sandbox", "create", template, "--ttl", "30m", user=user)
    assert rc == 0, sandbox
    assert sandbox["state"] == "ready", sandbox
    sandbox_id: str = sandbox["id"]
    return sandbox_id


def _url(stack: Stack, sandbox_id: str, user: str = "alice") -> str:
    rc, out = stack.cli("sandbox", "connect", sandbox_id, user=user)
    assert rc == 0, out
    url: str = out["url"]
    return url


def _query(stack: Stack, sandbox_id: str, script: str, user: str = "alice") -> list[Any]:
    _, out = stack.cli("query", sandbox_id, script, user=user)
    assert out is not None and "statements" in out, out
    statements: list[Any] = out["statements"]
    return statements


def test_bob_lists_only_his_own_database_and_roles_and_cannot_open_alices_server(
        running_stack: Stack) -> None:
    stack = running_stack
    alice = _create(stack, "pagila")
    bob = _create(stack, "empty-postgres", user="bob")
    databases, roles = _query(stack, bob, (
        "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database;"
        "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles"
        " WHERE rolname !~ '^pg_'"), user="bob")
    assert databases["rows"] == [["sandbox,template0,template1"]]
    assert roles["rows"] == [["dbplay_admin,sandbox"]]
    # bob's role and password, pointed at alice's server (its port from alice's URL)
    alice_url, bob_url = _url(stack, alice), _url(stack, bob, user="bob")
    alice_port = alice_url.rsplit(":", 1)[1].split("/")[0]
    bob_port = bob_url.rsplit(":", 1)[1].split("/")[0]
    assert alice_port != bob_port
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(bob_url.replace(f":{bob_port}/", f":{alice_port}/")).close()
    for database in ("postgres", "template1"):  # his own server's other databases
        with pytest.raises(psycopg2.OperationalError):
            psycopg2.connect(bob_url.rsplit("/", 1)[0] + "/" + database).close()
    stack.cli("sandbox", "rm", alice)
    stack.cli("sandbox", "rm", bob, user="bob")


def test_a_dump_with_copy_from_program_runs_no_program(running_stack: Stack,
                                                        tmp_path: Path) -> None:
    stack = running_stack
    marker = Path("/tmp") / f"dbplay-pwned-{uuid.uuid4().hex}"
    dump = tmp_path / "hostile.sql"
    dump.write_text("CREATE TABLE public.pwned (line text);\n"
                    f"COPY public.pwned FROM PROGRAM 'touch {marker}; id';\n")
    rc, out = stack.cli("templates", "import", f"hostile-{uuid.uuid4().hex[:6]}",
                        "--engine", "postgres", "--file", str(dump))
    assert rc != 0, out
    assert out["error"]["type"] == "RestoreError", out
    assert "line 2" in out["error"]["message"]
    assert not marker.exists()
    layout = LocalLayout(stack.home / "local")
    digest = hashlib.sha256(dump.read_bytes()).hexdigest()[:40]
    assert list(layout.pg_root.rglob(f"*{digest}*")) == []  # nothing prepared from it


def test_a_huge_work_mem_sort_runs_out_of_memory_and_the_sandbox_keeps_working(
        running_stack: Stack) -> None:
    stack = running_stack
    sandbox = _create(stack, "empty-postgres", user="bob")
    started = time.monotonic()
    results = _query(stack, sandbox, (
        "SET work_mem = '4GB';"
        "SELECT count(*) FROM (SELECT g, md5(g::text) AS h FROM"
        " generate_series(1, 30000000) g ORDER BY h) s"), user="bob")
    print(f"out-of-memory error after {time.monotonic() - started:.1f} s")
    assert results[0]["error"] is None
    assert results[1]["error"] is not None
    assert "out of memory" in results[1]["error"]["message"]
    assert _query(stack, sandbox, "SELECT 41 + 1", user="bob")[0]["rows"] == [[42]]
    stack.cli("sandbox", "rm", sandbox, user="bob")


def test_temporary_files_stop_at_temp_file_limit(running_stack: Stack) -> None:
    stack = running_stack
    sandbox = _create(stack, "empty-postgres", user="bob")
    results = _query(stack, sandbox, (
        "SET work_mem = '64kB';"
        "SELECT count(*) FROM (SELECT repeat('x', 2000) || g AS v FROM"
        " generate_series(1, 1000000) g ORDER BY v) s"), user="bob")
    assert results[1]["error"] is not None
    assert "temp_file_limit" in results[1]["error"]["message"]
    assert _query(stack, sandbox, "SELECT 1", user="bob")[0]["rows"] == [[1]]
    stack.cli("sandbox", "rm", sandbox, user="bob")


def test_bobs_mongodb_url_reaches_his_own_server_without_alices_data(
        running_stack: Stack) -> None:
    stack = running_stack
    alice = _create(stack, "restaurants")
    bob = _create(stack, "empty-mongodb", user="bob")
    assert _query(stack, alice, "db.restaurants.countDocuments({})")[0]["rows"][0][0] > 0
    alice_url, bob_url = _url(stack, alice), _url(stack, bob, user="bob")
    assert alice_url != bob_url
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        bob_url, serverSelectionTimeoutMS=5000)
    try:  # everything bob's connection string reaches: no restaurants anywhere
        for name in client.list_database_names():
            assert "restaurants" not in client[name].list_collection_names()
        assert client["sandbox"]["restaurants"].count_documents({}) == 0
    finally:
        client.close()
    record = Registry(LocalLayout(stack.home / "local").registry_dir).read(bob)
    assert record is not None
    info = record["server"]
    assert info["port"] != Registry(LocalLayout(stack.home / "local").registry_dir).read(
        alice)["server"]["port"]  # type: ignore[index]
    assert "password" not in str(record) and bob_url.split("@")[0] not in str(record)
    if info["standin"]:  # no authentication: the owner is told so
        assert info["auth"] is False
        _, out = stack.cli("sandbox", "connect", bob, user="bob")
        assert "no authentication" in out["warning"]
    stack.cli("sandbox", "rm", alice)
    stack.cli("sandbox", "rm", bob, user="bob")


def test_local_registry_and_server_files_are_private(running_stack: Stack) -> None:
    stack = running_stack
    made = [_create(stack, template) for template in
            ("pagila", "restaurants", "chinook-sqlite", "tldr")]
    layout = LocalLayout(stack.home / "local")
    assert list(layout.registry_dir.glob("*.json"))
    roots = [layout.home] + ([layout.pg_root] if layout.pg_root.exists() else [])
    loose = [f"{path.lstat().st_mode & 0o777:o} {path}" for root in roots
             for path in [root, *root.rglob("*")]
             if not path.is_symlink() and path.lstat().st_mode & 0o077]
    assert loose == []
    for sandbox_id in made:
        stack.cli("sandbox", "rm", sandbox_id)
