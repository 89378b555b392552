"""Attacks from inside a statement process: what user code could do if it ran arbitrary
Python next to a SQLite sandbox, without SQLite's authorizer to stop it.

The fenced call (``workers/isolation``) runs each operation below in a real child
forked from a real zygote, on a real SQLite sandbox of a running stack, whose real
metadata database (``$DBPLAY_HOME/dbplay.db``) holds every sandbox's credentials. The
operations are the attacker's code; the fence (scrubbed environment, Landlock, signal
scope, address-space limit) must stop each one, and the worker side must survive a
child that crashes.
"""

from __future__ import annotations

import ctypes
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pglast
import pytest

from engines.base import Engine
from engines.errors import ExecutionError, StatementCrashed
from orchestrator.sandboxes.provisioning import SandboxHandle
from orchestrator.store.models import Sandbox
from workers.isolation import landlock, operations
from workers.isolation.fence import sandbox_paths
from workers.isolation.runner import StatementProcesses

METADATA_URL_SECRET = "postgresql+psycopg2://dbplay:metadata-secret@127.0.0.1:5432/dbplay"


# -- the attacker's code: module-level, so it crosses to the child by name ---------------
def read_head(engine: Engine, p: dict[str, Any]) -> str:
    with open(p["path"], "rb") as fh:
        return fh.read(16).hex()


def write_file(engine: Engine, p: dict[str, Any]) -> str:
    Path(p["path"]).write_text("planted")
    return "written"


def open_metadata_with_sqlite(engine: Engine, p: dict[str, Any]) -> Any:
    """No authorizer here: the raw driver, as a SQLite escape would use it."""
    conn = sqlite3.connect(f"file:{p['path']}?mode=ro", uri=True)
    return conn.execute("SELECT count(*) FROM sandboxes").fetchall()


def attach_metadata(engine: Engine, p: dict[str, Any]) -> Any:
    conn = sqlite3.connect(p["own"])
    conn.execute(f"ATTACH DATABASE '{p['path']}' AS m")
    return conn.execute("SELECT count(*) FROM m.sandboxes").fetchall()


def environment(engine: Engine, p: dict[str, Any]) -> dict[str, str]:
    return dict(os.environ)


def signal_process(engine: Engine, p: dict[str, Any]) -> str:
    os.kill(p["pid"], 0)  # signal 0: only asks whether a signal would be allowed
    return "allowed"


def connect_tcp(engine: Engine, p: dict[str, Any]) -> str:
    with socket.create_connection(("127.0.0.1", p["port"]), timeout=5) as conn:
        conn.sendall(b"PING\r\n")
        return conn.recv(16).decode()


def segfault(engine: Engine, p: dict[str, Any]) -> None:
    ctypes.string_at(0)


def parse_bomb_without_limit(engine: Engine, p: dict[str, Any]) -> Any:
    """The 40,000-term bomb straight into pglast, past the adapter's nesting limit."""
    return pglast.parse_sql("SELECT " + "+".join(["1"] * 40_000))


def allocate(engine: Engine, p: dict[str, Any]) -> int:
    return len(bytearray(p["bytes"]))


# -- fixtures -----------------------------------------------------------------------
@pytest.fixture(scope="module")
def statements(running_stack: Any) -> Iterator[StatementProcesses]:
    """The worker's statement processes, started from a process whose environment holds
    a metadata URL with a password (as a worker's may)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBPLAY_DATABASE_URL", METADATA_URL_SECRET)
        runner = StatementProcesses(running_stack.settings)
        runner.start()
    yield runner
    runner.stop()


@pytest.fixture(scope="module")
def sandboxes(running_stack: Any) -> dict[str, SandboxHandle]:
    """A SQLite sandbox for alice (the attacker) and one for bob (the victim)."""
    api = running_stack.api()
    out = {}
    for user in ("alice", "bob"):
        sb = api.create_sandbox(user, "chinook-sqlite")
        with api.db.session() as session:
            row = session.get(Sandbox, sb.id)
            assert row is not None and row.handle is not None
            out[user] = SandboxHandle.from_dict(row.handle)
    return out


def attack(statements: StatementProcesses, handle: SandboxHandle, operation: Any,
           **params: Any) -> Any:
    return statements.run(
        f"attack-{operation.__name__}", engine="sqlite", url=handle.user_url,
        operation=operation, params=params, label=f"attack {operation.__name__}",
        sandbox_files=sandbox_paths(handle.sandbox_id, "sqlite", handle.user_url))


def sqlite_file(handle: SandboxHandle) -> Path:
    return Path(handle.user_url.split("sqlite://", 1)[1])


# -- the attacks ----------------------------------------------------------------------
def test_kernel_offers_landlock_so_statement_processes_are_fenced() -> None:
    assert landlock.abi_version() >= 1


def test_child_reads_and_writes_its_own_sandbox_file(statements, sandboxes) -> None:
    own = sqlite_file(sandboxes["alice"])
    assert attack(statements, sandboxes["alice"], read_head, path=str(own)) \
        == b"SQLite format 3\x00".hex()
    results = attack(statements, sandboxes["alice"], operations.execute,
                     text="CREATE TABLE mine (x); INSERT INTO mine VALUES (1); "
                          "SELECT count(*) FROM mine", max_rows=10, timeout_s=10)
    assert results[-1]["error"] is None and results[-1]["rows"] == [[1]]


def test_child_cannot_open_the_metadata_database(statements, sandboxes, running_stack) -> None:
    metadata = running_stack.home / "dbplay.db"
    assert metadata.is_file()  # the target exists and the worker itself can read it
    with pytest.raises(RuntimeError, match="Permission denied"):
        attack(statements, sandboxes["alice"], read_head, path=str(metadata))
    with pytest.raises(RuntimeError, match="unable to open database"):
        attack(statements, sandboxes["alice"], open_metadata_with_sqlite, path=str(metadata))


def test_raw_attach_of_the_metadata_database_fails_without_the_authorizer(
        statements, sandboxes, running_stack) -> None:
    with pytest.raises(RuntimeError, match="unable to open database"):
        attack(statements, sandboxes["alice"], attach_metadata,
               own=str(sqlite_file(sandboxes["alice"])),
               path=str(running_stack.home / "dbplay.db"))


def test_child_environment_holds_no_metadata_url_or_setting(statements, sandboxes) -> None:
    env = attack(statements, sandboxes["alice"], environment)
    assert not [k for k in env if k.startswith("DBPLAY_")]
    assert not [k for k, v in env.items() if "metadata-secret" in v]


def test_child_cannot_read_or_write_another_users_sandbox(statements, sandboxes) -> None:
    victim = sqlite_file(sandboxes["bob"])
    with pytest.raises(RuntimeError, match="Permission denied"):
        attack(statements, sandboxes["alice"], read_head, path=str(victim))
    with pytest.raises(RuntimeError, match="unable to open database"):
        attack(statements, sandboxes["alice"], attach_metadata,
               own=str(sqlite_file(sandboxes["alice"])), path=str(victim))


def test_child_cannot_write_outside_its_sandbox(statements, sandboxes, running_stack,
                                                tmp_path) -> None:
    for target in (running_stack.home / "planted", tmp_path / "planted",
                   Path("/root/planted-by-a-statement")):
        with pytest.raises(RuntimeError, match="Permission denied"):
            attack(statements, sandboxes["alice"], write_file, path=str(target))
        assert not target.exists()


def test_child_cannot_read_the_workers_environment_or_signal_it(statements, sandboxes) -> None:
    worker = os.getpid()  # the process that runs the statement processes
    with pytest.raises(RuntimeError, match="Permission denied"):
        attack(statements, sandboxes["alice"], read_head, path=f"/proc/{worker}/environ")
    with pytest.raises(RuntimeError, match="Operation not permitted"):
        attack(statements, sandboxes["alice"], signal_process, pid=worker)


def test_child_cannot_reach_redis_or_any_other_local_service(statements, sandboxes,
                                                            running_stack) -> None:
    # outside the fence the port answers (it then asks for the installation's password)
    assert connect_tcp(None, {"port": running_stack.redis_port}).startswith(("+PONG", "-NOAUTH"))
    with pytest.raises(RuntimeError, match="Permission denied"):
        attack(statements, sandboxes["alice"], connect_tcp, port=running_stack.redis_port)


def test_segfault_fails_only_its_own_call(statements, sandboxes) -> None:
    with pytest.raises(StatementCrashed, match=r"crashed the process running it \(SIGSEGV\)"):
        attack(statements, sandboxes["alice"], segfault)
    assert attack(statements, sandboxes["alice"], operations.execute, text="SELECT 42",
                  max_rows=1, timeout_s=5)[0]["rows"] == [[42]]


def test_parser_bomb_past_the_nesting_limit_kills_only_its_child(statements, sandboxes) -> None:
    with pytest.raises(StatementCrashed) as crash:
        attack(statements, sandboxes["alice"], parse_bomb_without_limit)
    assert "SIGSEGV" in crash.value.message and "other users are unaffected" in crash.value.message
    assert attack(statements, sandboxes["alice"], operations.execute, text="SELECT 7",
                  max_rows=1, timeout_s=5)[0]["rows"] == [[7]]


def test_allocation_past_the_memory_limit_fails_with_a_clear_error(statements, sandboxes,
                                                                   running_stack) -> None:
    limit_mb = running_stack.settings.statement_memory_mb
    with pytest.raises(ExecutionError, match="ran out of memory"):
        attack(statements, sandboxes["alice"], allocate, bytes=(limit_mb + 256) * 1024 * 1024)
    assert attack(statements, sandboxes["alice"], allocate, bytes=64 * 1024 * 1024) > 0


def test_cancel_reaches_the_statement_in_its_process(statements, sandboxes) -> None:
    endless = ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
               "SELECT count(*) FROM c")
    out: dict[str, Any] = {}

    def run() -> None:
        out["results"] = statements.run(
            "cancel-me", engine="sqlite", url=sandboxes["alice"].user_url,
            operation=operations.execute, params={"text": endless, "max_rows": 1,
                                                  "timeout_s": 60},
            label=endless, sandbox_files=sandbox_paths(
                sandboxes["alice"].sandbox_id, "sqlite", sandboxes["alice"].user_url))

    thread = threading.Thread(target=run)
    thread.start()
    for _ in range(150):  # announced again until it stops, as the API does
        statements.cancel("cancel-me")
        thread.join(0.2)
        if not thread.is_alive():
            break
    assert not thread.is_alive()
    assert out["results"][0]["error"]["type"] == "QueryCancelled"
