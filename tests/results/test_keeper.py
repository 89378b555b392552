"""Keeping a result in an Arrow file: types as Arrow infers them, documents as JSON text,
unique field names with the engine's names kept, and the store's caps said in words."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from pathlib import Path

import pyarrow as pa
import pytest

from engines.registry import connect
from engines.result import Column
from orchestrator.results import files, reading
from orchestrator.results.keeper import ArrowKeeper


def _keep(tmp_path: Path, rows: list[tuple], columns: list[str], **caps: int) -> tuple[dict,
                                                                                       pa.Table]:
    keeper = ArrowKeeper(tmp_path, "0123456789-0", max_rows=caps.get("max_rows", 1000),
                         max_bytes=caps.get("max_bytes", 1 << 30))
    for row in rows:
        if not keeper.add(row):
            break
    meta = keeper.finish([Column(name, "t") for name in columns])
    return meta, reading.open_table(files.arrow_path(tmp_path, "0123456789-0"))


def test_values_keep_their_types_and_documents_become_json_text(tmp_path):
    when = dt.datetime(2024, 2, 1, 12, 30, tzinfo=dt.UTC)
    rows = [(1, 1.5, decimal.Decimal("2.25"), when, dt.date(2024, 2, 1), "a", {"k": [1, 2]},
             True),
            (None, None, None, None, None, None, None, None)]
    meta, table = _keep(tmp_path, rows, ["i", "f", "d", "ts", "day", "s", "doc", "b"])
    kinds = {f.name: f.type for f in table.schema}
    assert kinds["i"] == pa.int64() and kinds["f"] == pa.float64()
    assert pa.types.is_decimal(kinds["d"]) and pa.types.is_timestamp(kinds["ts"])
    assert kinds["ts"].tz is not None and kinds["day"] == pa.date32()
    assert kinds["doc"] == pa.string() and kinds["b"] == pa.bool_()
    assert json.loads(table.column("doc")[0].as_py()) == {"k": [1, 2]}
    assert table.column("i").null_count == 1
    assert meta == {"total_rows": 2, "result_truncated": False, "result_note": None,
                    "size_bytes": files.arrow_path(tmp_path, "0123456789-0").stat().st_size}
    assert reading.page_rows(table, 0, 1, 1000)[0][3] == "2024-02-01T12:30:00+00:00"


def test_repeated_column_names_get_unique_fields_and_keep_their_names(tmp_path):
    _, table = _keep(tmp_path, [(1, "x")], ["a", "a"])
    assert table.column_names == ["a", "a_2"]
    assert [c["name"] for c in reading.described_columns(table)] == ["a", "a"]
    assert reading.field_for(table, "a") == "a" and reading.field_for(table, "a_2") == "a_2"


def test_a_column_whose_values_disagree_across_batches_becomes_text(tmp_path, monkeypatch):
    monkeypatch.setattr("orchestrator.results.keeper.BATCH_ROWS", 2)
    rows = [(1,), (2,), ("three",), (None,), (4.5,)]
    meta, table = _keep(tmp_path, rows, ["v"])
    assert meta["total_rows"] == 5
    assert table.column("v").to_pylist() == ["1", "2", "three", None, "4.5"]


def test_rows_with_more_fields_later_add_columns_as_documents_do(tmp_path, monkeypatch):
    monkeypatch.setattr("orchestrator.results.keeper.BATCH_ROWS", 1)
    _, table = _keep(tmp_path, [(1,), (2, "late")], ["_id", "note"])
    assert table.column("note").to_pylist() == [None, "late"]


def test_the_row_cap_keeps_the_first_rows_and_says_so(tmp_path):
    meta, table = _keep(tmp_path, [(i,) for i in range(10)], ["n"], max_rows=4)
    assert table.num_rows == 4 and meta["result_truncated"] is True
    assert "more than 4 rows" in meta["result_note"]


def test_the_byte_cap_stops_keeping_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr("orchestrator.results.keeper.BATCH_ROWS", 10)
    meta, table = _keep(tmp_path, [("x" * 1000,)] * 100, ["pad"], max_bytes=5000)
    assert table.num_rows == 10 and meta["result_truncated"] is True
    assert "bytes" in meta["result_note"]


def test_an_empty_result_is_kept_with_its_columns(tmp_path):
    meta, table = _keep(tmp_path, [], ["a", "b"])
    assert table.num_rows == 0 and table.column_names == ["a", "b"]
    assert meta["total_rows"] == 0


@pytest.fixture
def sqlite_engine(tmp_path):
    engine = connect("sqlite", f"sqlite:///{tmp_path / 'db.sqlite'}")
    engine.connect()
    yield engine
    engine.close()


def test_a_script_keeps_each_statement_and_defers_only_the_last_ones_rest(tmp_path,
                                                                          sqlite_engine):
    def keep(index: int) -> ArrowKeeper:
        return ArrowKeeper(tmp_path, f"abcdef0123-{index}", max_rows=10_000, max_bytes=1 << 30)

    script = ("CREATE TABLE t(n);"
              "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 50) "
              "INSERT INTO t SELECT n FROM g;"
              "SELECT n FROM t; DELETE FROM t;"
              "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 500) "
              "SELECT n FROM g")
    results, rest = sqlite_engine.execute_keeping(script, keep, max_rows=10)
    kept = {r.statement.split()[0]: r for r in results}
    select_t, last = results[2], results[-1]
    assert kept["CREATE"].result_id is None  # no rows, nothing kept
    assert select_t.result_id and select_t.total_rows == 50  # whole before DELETE ran
    assert last.result_id and last.total_rows is None and rest is not None
    rest()
    meta = files.read_meta(tmp_path, last.result_id)
    assert meta is not None and meta["total_rows"] == 500
    table = reading.open_table(files.arrow_path(tmp_path, select_t.result_id))
    assert table.column("n").to_pylist() == list(range(1, 51))


def test_documents_come_back_as_documents_and_extended_json_dates_as_time(tmp_path):
    rows = [({"$oid": "65a1"}, {"$date": "2024-02-01T10:00:00Z"}, {"a": 1}),
            ({"$oid": "65a2"}, None, "plain")]
    _, table = _keep(tmp_path, rows, ["_id", "at", "doc"])
    assert pa.types.is_timestamp(table.schema.field("at").type)
    assert reading.page_rows(table, 0, 2, 1000) == [
        [{"$oid": "65a1"}, "2024-02-01T10:00:00+00:00", {"a": 1}],
        [{"$oid": "65a2"}, None, "plain"]]
    assert next(iter(reading.iter_rows(table)))[2] == {"a": 1}
