"""SQLite adapter specifics: its tokenizer-based splitting, cancel, and the Chinook data."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import pytest

from engines.errors import RestoreError
from engines.registry import connect
from tests.conftest import REPO, SHARED

CHINOOK_DB = REPO / "orchestrator/store/builtin_templates/chinook-sqlite/Chinook_Sqlite.sqlite"
CHINOOK_SQL = SHARED / "datasets" / "sqlite" / "chinook" / "Chinook_Sqlite.sql"


def fingerprint(engine) -> dict[str, tuple[int, str]]:
    """Row count and a checksum of the ordered content of every table."""
    out = {}
    for table in engine.schema().tables:
        if table.kind != "table":
            continue
        [result] = engine.execute(f'SELECT * FROM "{table.name}" ORDER BY 1', max_rows=10**7)
        digest = hashlib.sha256(json.dumps(result.rows, sort_keys=True).encode()).hexdigest()
        out[table.name] = (len(result.rows), digest)
    return out


def test_semicolons_in_strings_comments_and_trigger_bodies_do_not_split(engine_for):
    engine = engine_for("sqlite")
    script = """
        CREATE TABLE t (a TEXT);  -- a comment; with a semicolon
        CREATE TABLE log (msg TEXT);
        /* block; comment */
        CREATE TRIGGER t_ins AFTER INSERT ON t BEGIN
            INSERT INTO log VALUES ('inserted; ' || new.a);
            INSERT INTO log VALUES ('second');
        END;
        INSERT INTO t VALUES ('x;y');
        SELECT msg FROM log ORDER BY rowid
    """
    results = engine.execute(script)
    assert [r.error for r in results] == [None] * 5
    assert results[-1].rows == [["inserted; x;y"], ["second"]]
    assert results[2].statement.startswith("CREATE TRIGGER")
    assert results[2].line == 5


def test_cancel_from_another_thread_stops_the_statement(engine_for):
    engine = engine_for("sqlite")
    threading.Timer(0.5, engine.cancel).start()
    started = time.perf_counter()
    [result] = engine.execute("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                              "SELECT count(*) FROM c", timeout_s=30)
    assert result.error is not None and result.error["type"] == "QueryCancelled"
    assert time.perf_counter() - started < 5
    assert engine.execute("SELECT 1")[0].rows == [[1]]


@pytest.mark.parametrize("source", [CHINOOK_DB, CHINOOK_SQL], ids=["database-file", "sql-script"])
def test_chinook_round_trips_through_dump_and_restore(engine_for, source: Path, tmp_path: Path):
    first = engine_for("sqlite")
    first.restore(source)
    before = fingerprint(first)
    assert before["Track"][0] == 3503
    dump = tmp_path / "chinook.dump"
    first.dump(dump)
    second = engine_for("sqlite")
    second.restore(dump)
    assert fingerprint(second) == before


def test_broken_script_restore_names_the_line_and_leaves_nothing(engine_for, tmp_path: Path):
    dump = tmp_path / "broken.sql"
    dump.write_text("CREATE TABLE a (x INTEGER);\nINSERT INTO a VALUES (1);\n"
                    "INSERT INTO nowhere VALUES (2);\nCREATE TABLE b (y INTEGER);\n")
    engine = engine_for("sqlite")
    with pytest.raises(RestoreError) as info:
        engine.restore(dump)
    assert info.value.line == 3
    assert engine.schema().tables == []


def test_unknown_url_scheme_is_a_clear_error():
    from engines.errors import InvalidRequest

    with pytest.raises(InvalidRequest, match="sqlite:///"):
        connect("sqlite", "postgresql://x/y")
