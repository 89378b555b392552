"""The SQLite adapter's fence: a sandbox's statements touch only its own database file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engines.base import Engine
from engines.registry import connect


@pytest.fixture
def sandbox(engine_for) -> Engine:
    engine: Engine = engine_for("sqlite")
    [result] = engine.execute("CREATE TABLE t (a TEXT)")
    assert result.error is None
    return engine


@pytest.fixture
def other_file(tmp_path: Path) -> Path:
    path = tmp_path / "other.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript("CREATE TABLE secrets (value TEXT); INSERT INTO secrets VALUES ('s3cret');")
    conn.commit()
    conn.close()
    return path


def error_of(engine: Engine, sql: str) -> dict[str, object]:
    [result] = engine.execute(sql)
    assert result.error is not None, f"{sql!r} was allowed: {result.rows}"
    return result.error


def test_attach_of_another_file_is_denied_with_a_clear_message(sandbox, other_file):
    error = error_of(sandbox, f"ATTACH '{other_file}' AS m")
    assert error["type"] == "PermissionDenied"
    assert "ATTACH" in str(error["message"]) and "only use its own database" in str(
        error["message"])
    error = error_of(sandbox, "SELECT value FROM m.secrets")
    assert "no such table" in str(error["message"])


def test_attach_is_denied_inside_a_multi_statement_script_and_a_trigger(sandbox, other_file):
    results = sandbox.execute(f"SELECT 1; ATTACH DATABASE '{other_file}' AS m; SELECT 2")
    assert [r.error is None for r in results] == [True, False]
    assert results[1].error is not None and results[1].error["type"] == "PermissionDenied"


def test_vacuum_into_writes_no_file(sandbox, tmp_path):
    target = tmp_path / "copy.sqlite"
    error = error_of(sandbox, f"VACUUM INTO '{target}'")
    assert error["type"] == "PermissionDenied"
    assert not target.exists()


def test_extension_loading_is_denied(sandbox):
    error = error_of(sandbox, "SELECT load_extension('/usr/lib/x86_64-linux-gnu/libm.so.6')")
    assert error["type"] == "PermissionDenied"
    assert "load_extension" in str(error["message"])


@pytest.mark.parametrize("pragma", [
    "PRAGMA temp_store_directory = '/tmp'",
    "PRAGMA data_store_directory = '/tmp'",
    "PRAGMA writable_schema = ON",
    "PRAGMA trusted_schema = ON",
    "PRAGMA hard_heap_limit = 1",
    "PRAGMA temp_store = FILE",
    "PRAGMA mmap_size = 1000000000",
    "PRAGMA database_list",
    "SELECT * FROM pragma_database_list",
])
def test_file_touching_and_fence_lifting_pragmas_are_denied(sandbox, pragma):
    assert error_of(sandbox, pragma)["type"] == "PermissionDenied"


def test_ordinary_statements_and_introspection_pragmas_still_work(sandbox):
    script = """
        CREATE TABLE p (k TEXT PRIMARY KEY);
        CREATE TABLE u (id INTEGER PRIMARY KEY, t_a TEXT REFERENCES p(k));
        CREATE INDEX u_t ON u (t_a);
        INSERT INTO p VALUES ('x');
        INSERT INTO u (t_a) VALUES ('x');
        CREATE TEMP TABLE scratch AS SELECT * FROM u;
        PRAGMA table_info(u);
        PRAGMA index_list(u);
        PRAGMA foreign_key_list(u);
        PRAGMA foreign_keys;
        PRAGMA integrity_check;
        SELECT name FROM pragma_table_info('u') ORDER BY cid;
        PRAGMA journal_mode = WAL;
        SELECT count(*) FROM scratch
    """
    results = sandbox.execute(script)
    assert [r.error for r in results] == [None] * len(results)
    assert results[-3].rows == [["id"], ["t_a"]]
    assert results[-1].rows == [[1]]
    assert [t.name for t in sandbox.schema().tables] == ["p", "t", "u"]


def test_dump_and_restore_still_work_behind_the_fence(sandbox, tmp_path):
    sandbox.execute("INSERT INTO t VALUES ('kept')")
    dump = tmp_path / "dump.sqlite"
    sandbox.dump(dump)
    copy = connect("sqlite", f"sqlite:///{tmp_path / 'copy.sqlite'}")
    with copy:
        copy.restore(dump)
        [result] = copy.execute("SELECT a FROM t")
    assert result.rows == [["kept"]]


def test_a_restored_sql_script_cannot_attach_either(tmp_path, other_file):
    script = tmp_path / "evil.sql"
    script.write_text(f"CREATE TABLE x (a);\nATTACH '{other_file}' AS m;\n")
    engine = connect("sqlite", f"sqlite:///{tmp_path / 'victim.sqlite'}")
    with engine, pytest.raises(Exception, match="not allowed in a sandbox"):
        engine.restore(script)


def test_temporary_data_stays_in_memory_under_a_heap_cap(sandbox):
    [store] = sandbox.execute("PRAGMA temp_store")
    [heap] = sandbox.execute("PRAGMA hard_heap_limit")
    assert store.rows == [[2]]  # MEMORY: no temp files outside the sandbox's folder
    assert 0 < heap.rows[0][0] <= 512 * 1024 * 1024
    [big] = sandbox.execute("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                            "WHERE i < 3000000) SELECT count(DISTINCT hex(randomblob(200) || i)) "
                            "FROM n", timeout_s=120)
    assert big.error is not None and "out of memory" in str(big.error["message"])
    [after] = sandbox.execute("SELECT count(*) FROM t")
    assert after.error is None
