"""Issue 8, item 1: a SQLite sandbox reaches nothing but its own file.

Bob attacks through the real CLI and worker: he tries to attach the metadata database
(every sandbox's password and admin URL) and Alice's sandbox file, to copy his database
anywhere with ``VACUUM INTO``, to load native code, and to redirect SQLite's files.
Every attempt fails with a clear error; Alice's data is unchanged; ordinary SQL works.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.orchestrator.conftest import Stack


def run(stack: Stack, user: str, sid: str, sql: str) -> list[dict[str, Any]]:
    _rc, out = stack.cli("query", sid, sql, user=user)
    assert out is not None and "statements" in out, out
    statements: list[dict[str, Any]] = out["statements"]
    return statements


def refused(stack: Stack, user: str, sid: str, sql: str) -> dict[str, Any]:
    statements = run(stack, user, sid, sql)
    error = statements[-1]["error"]
    assert error is not None, f"{sql!r} ran: {statements[-1]['rows']}"
    assert error["type"] == "PermissionDenied", error
    return dict(error)


@pytest.fixture(scope="module")
def sandboxes(running_stack: Stack) -> dict[str, str]:
    made = {}
    for user in ("alice", "bob"):
        rc, sb = running_stack.cli("sandbox", "create", "chinook-sqlite", user=user)
        assert rc == 0, sb
        made[user] = sb["id"]
    return made


def sandbox_file(stack: Stack, sid: str) -> Path:
    [path] = list(stack.home.glob(f"**/{sid}.sqlite"))
    return path


def test_attaching_the_metadata_database_fails(running_stack, sandboxes):
    metadata = running_stack.home / "dbplay.db"
    assert metadata.exists()
    error = refused(running_stack, "bob", sandboxes["bob"], f"ATTACH '{metadata}' AS m")
    assert "only use its own database" in error["message"]
    [result] = run(running_stack, "bob", sandboxes["bob"], "SELECT * FROM m.sandboxes")
    assert result["error"] is not None and "no such table" in result["error"]["message"]
    [result] = run(running_stack, "bob", sandboxes["bob"],
                   "UPDATE m.sandboxes SET owner = 'bob'")
    assert result["error"] is not None


def test_attaching_another_users_sandbox_fails_and_leaves_it_unchanged(running_stack, sandboxes):
    victim = sandbox_file(running_stack, sandboxes["alice"])
    before = run(running_stack, "alice", sandboxes["alice"],
                 "SELECT count(*), max(Name) FROM Artist")[0]["rows"]
    for sql in (f"ATTACH '{victim}' AS v",
                f"ATTACH 'file:{victim}?mode=rw' AS v",
                f"SELECT 1; ATTACH DATABASE '{victim}' AS v; DELETE FROM v.Artist"):
        refused(running_stack, "bob", sandboxes["bob"], sql)
    after = run(running_stack, "alice", sandboxes["alice"],
                "SELECT count(*), max(Name) FROM Artist")[0]["rows"]
    assert after == before and before[0][0] > 0


def test_vacuum_into_writes_nothing(running_stack, sandboxes, tmp_path):
    for target in (Path("/tmp") / f"dbplay-escape-{uuid.uuid4().hex}.db",
                   running_stack.home / "stolen.db"):
        refused(running_stack, "bob", sandboxes["bob"], f"VACUUM INTO '{target}'")
        assert not target.exists()


def test_loading_an_extension_fails(running_stack, sandboxes):
    error = refused(running_stack, "bob", sandboxes["bob"],
                    "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libm.so.6')")
    assert "load_extension" in error["message"]


@pytest.mark.parametrize("pragma", [
    "PRAGMA temp_store_directory = '/tmp'",
    "PRAGMA writable_schema = ON",
    "PRAGMA trusted_schema = ON",
    "PRAGMA hard_heap_limit = 1",
    "PRAGMA database_list",
])
def test_dangerous_pragmas_fail(running_stack, sandboxes, pragma):
    refused(running_stack, "bob", sandboxes["bob"], pragma)


def test_ordinary_sql_still_works(running_stack, sandboxes):
    statements = run(running_stack, "bob", sandboxes["bob"], """
        CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
        INSERT INTO notes (body) VALUES ('hello');
        PRAGMA table_info(notes);
        SELECT body FROM notes;
        SELECT count(*) FROM Track
    """)
    assert [s["error"] for s in statements] == [None] * 5
    assert [row[1] for row in statements[2]["rows"]] == ["id", "body"]
    assert statements[3]["rows"] == [["hello"]]
    assert statements[4]["rows"][0][0] > 0
