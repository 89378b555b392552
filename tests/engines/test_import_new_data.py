"""Importing files the product has never seen: JSON Lines whose records do not all have
the same keys, Parquet with decimals, dates and timestamps, and unreadable lines."""

from __future__ import annotations

import datetime as dt
import decimal
from pathlib import Path

import pytest

from engines.errors import InvalidRequest

EVENTS = (
    '{"id": 1, "user": {"name": "a", "tags": ["x"]}, "amount": 10}\n'
    '{"id": 2, "user": null, "amount": 10.5, "extra": null}\n'
    '{"id": 3, "new_field": "only here"}\n'
)


def test_sqlite_import_gives_a_column_to_keys_first_seen_in_later_records(engine_for, tmp_path):
    engine = engine_for("sqlite")
    path = tmp_path / "events.jsonl"
    path.write_text(EVENTS)
    assert engine.import_file("events", path).rows == 3
    [result] = engine.execute("SELECT id, amount, extra, new_field FROM events ORDER BY id")
    assert result.error is None, result.error
    assert result.rows == [[1, 10, None, None], [2, 10.5, None, None], [3, None, None, "only here"]]


def test_sqlite_import_stores_parquet_decimals_dates_and_timestamps(engine_for, tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    engine = engine_for("sqlite")
    path = tmp_path / "ts.parquet"
    utc = dt.UTC
    pq.write_table(pa.table({
        "ts": pa.array([dt.datetime(2024, 1, 1, 12, tzinfo=utc), None], pa.timestamp("us", "UTC")),
        "d": pa.array([dt.date(2024, 2, 29), None]),
        "price": pa.array([decimal.Decimal("22.333"), None], pa.decimal128(10, 3)),
        "lst": [[1, 2], None],
    }), path)
    assert engine.import_file("ts", path).rows == 2
    [result] = engine.execute("SELECT ts, d, price, typeof(price), lst FROM ts ORDER BY rowid")
    assert result.error is None, result.error
    assert result.rows == [["2024-01-01T12:00:00+00:00", "2024-02-29", 22.333, "real", "[1, 2]"],
                           [None, None, None, "null", None]]


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mongodb"])
def test_unreadable_line_is_an_invalid_request_and_imports_nothing(engine_for, tmp_path: Path,
                                                                   kind):
    engine = engine_for(kind)
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": 3,,}\n{"a": 4}\n')
    with pytest.raises(InvalidRequest, match="row 3 is not valid JSON"):
        engine.import_file("bad", path)
    assert "bad" not in {t.name for t in engine.schema().tables}
