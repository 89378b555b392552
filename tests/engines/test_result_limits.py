"""Results are bounded in bytes as well as rows: wide cells are cut and marked, rows stop
at the result size cap, and PostgreSQL statements that used to be fetched whole
(``FOR UPDATE``, ``... RETURNING``) stream from the server like any query."""

from __future__ import annotations

import base64

import pytest

from engines.base import Engine
from engines.result import StatementResult
from engines.result_limits import cut_marker


def one(engine: Engine, sql: str, **kwargs: object) -> StatementResult:
    [result] = engine.execute(sql, **kwargs)  # type: ignore[arg-type]
    assert result.error is None, result.error
    return result


def test_a_long_text_cell_is_cut_and_says_how_long_it_was(engine_for):
    engine = engine_for("sqlite", max_cell_bytes=1000)
    result = one(engine, "SELECT 'é' || replace(hex(zeroblob(150000)), '0', 'ab') AS wide, 'short'")
    wide, short = result.rows[0]
    assert wide.endswith(cut_marker(600002)) and wide.startswith("éab")
    assert len(wide.removesuffix(cut_marker(600002)).encode()) <= 1000
    assert short == "short"
    assert not result.truncated


def test_a_long_binary_cell_is_cut_and_marked(engine_for):
    engine = engine_for("sqlite", max_cell_bytes=100)
    [[cell]] = one(engine, "SELECT zeroblob(5000)").rows
    assert cell["$cut"] == 5000
    assert base64.b64decode(cell["$binary"]) == b"\x00" * 100


def test_rows_stop_at_the_result_size_cap_and_say_why(engine_for):
    engine = engine_for("sqlite", max_result_bytes=50_000)
    result = one(engine, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                         "WHERE i < 1000) SELECT i, hex(zeroblob(5000)) FROM n")
    assert result.truncated
    assert 4 <= len(result.rows) <= 6
    assert result.truncated_reason is not None and "result size cap" in result.truncated_reason


def test_the_row_cap_says_it_was_the_row_cap(engine_for):
    result = one(engine_for("sqlite"), "SELECT 1 UNION ALL SELECT 2", max_rows=1)
    assert result.truncated and result.rows == [[1]]
    assert result.truncated_reason is not None and "row cap" in result.truncated_reason
    assert StatementResult.from_dict(result.to_dict()) == result


def test_mongodb_cells_are_cut_the_same_way(engine_for):
    engine = engine_for("mongodb", max_cell_bytes=1000)
    one(engine, 'db.docs.insertOne({_id: 1, body: "%s", n: 2})' % ("x" * 5000))
    result = one(engine, "db.docs.find()")
    body = result.rows[0][[c.name for c in result.columns].index("body")]
    assert body == "x" * 1000 + cut_marker(5000)


# -- PostgreSQL: every row-returning statement streams ----------------------------------

@pytest.fixture
def pg(engine_for) -> Engine:
    engine: Engine = engine_for("postgres")
    one(engine, "CREATE TABLE items (id int PRIMARY KEY, label text, price numeric(6,2))")
    return engine


def test_insert_returning_keeps_rows_types_and_rowcount_past_the_row_cap(pg):
    result = one(pg, "INSERT INTO items SELECT g, 'item ' || g, g * 1.5 "
                     "FROM generate_series(1, 5) g RETURNING id, label, price", max_rows=2)
    assert result.rows == [[1, "item 1", "1.50"], [2, "item 2", "3.00"]]
    assert result.truncated and result.rowcount == 5
    assert [(c.name, c.type) for c in result.columns] == [
        ("id", "integer"), ("label", "text"), ("price", "numeric")]
    assert one(pg, "SELECT count(*) FROM items").rows == [[5]]
    leftovers = one(pg, "SELECT count(*) FROM pg_class WHERE relname LIKE 'dbplay_%'")
    assert leftovers.rows == [[0]]


def test_update_delete_and_modifying_with_return_their_rows(pg):
    one(pg, "INSERT INTO items VALUES (1, 'a', 1), (2, 'b', 2)")
    assert one(pg, "UPDATE items SET price = price * 2 WHERE id = 2 RETURNING price").rows == [
        ["4.00"]]
    moved = one(pg, "WITH gone AS (DELETE FROM items WHERE id = 1 RETURNING *) "
                    "SELECT label FROM gone")
    assert moved.rows == [["a"]]
    assert one(pg, "SELECT id FROM items").rows == [[2]]


def test_returning_inside_a_users_transaction_block_rolls_back_with_it(pg):
    results = pg.execute("BEGIN; INSERT INTO items VALUES (9, 'z', 1) RETURNING id; "
                         "SELECT count(*) FROM items; ROLLBACK; SELECT count(*) FROM items")
    assert [r.error for r in results] == [None] * 5
    assert results[1].rows == [[9]] and results[2].rows == [[1]] and results[4].rows == [[0]]


def test_select_for_update_streams_and_locks_inside_a_block(pg):
    one(pg, "INSERT INTO items SELECT g, 'x', 1 FROM generate_series(1, 50) g")
    results = pg.execute("BEGIN; SELECT id FROM items ORDER BY id FOR UPDATE; "
                         "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' "
                         "AND pid = pg_backend_pid(); COMMIT", max_rows=3)
    assert [r.error for r in results] == [None] * 4
    assert results[1].rows == [[1], [2], [3]] and results[1].truncated
    assert one(pg, "SELECT id FROM items ORDER BY id FOR UPDATE", max_rows=2).rows == [[1], [2]]


def test_an_error_in_a_returning_statement_points_into_the_users_text(pg):
    [result] = pg.execute("INSERT INTO items VALUES (1, 'a', 1)\nRETURNING nosuch")
    assert result.error is not None and "nosuch" in result.error["message"]
    assert (result.error.get("line"), result.error.get("column")) == (2, 11)
