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


@pytest.mark.parametrize("kind", ["sqlite", "postgres", "mongodb"])
@pytest.mark.parametrize("body, row", [("1,a\n2\n3,c\n", 2), ("1,a\n2,b,x\n", 2),
                                       ('1,a\n2,b\n3,"c\n4,d\n', 3)])
def test_malformed_csv_row_is_named_and_imports_nothing(engine_for, tmp_path: Path, kind,
                                                        body, row):
    from engines.errors import ImportRowError

    engine = engine_for(kind)
    path = tmp_path / "bad.csv"
    path.write_text("n,name\n" + body)
    with pytest.raises(ImportRowError) as info:
        engine.import_file("bad", path)
    assert info.value.row == row
    assert "bad" not in {t.name for t in engine.schema().tables}


TYPED_CSV = ("id,amount,zip,ok,day,at,note,price\n"
             "1,10,01234,true,2024-02-29,2024-02-29T12:00:00Z,,1.5\n"
             '2,-3,98765,FALSE,2024-03-01,2024-03-01 08:30:00+02:00,"",2\n'
             "3,,00000,,,,x,\n")


def test_postgres_csv_import_types_new_columns_from_their_values(engine_for, tmp_path):
    engine = engine_for("postgres")
    path = tmp_path / "typed.csv"
    path.write_text(TYPED_CSV)
    assert engine.import_file("typed", path).rows == 3
    [result] = engine.execute(
        "SELECT sum(amount)::int, sum(price), count(*) FILTER (WHERE ok), "
        "pg_typeof(min(zip))::text, max(day)::text, "
        "to_char(min(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), count(note) FROM typed")
    assert result.error is None, result.error
    assert result.rows == [[7, 3.5, 1, "text", "2024-03-01", "2024-02-29 12:00", 1]]
    columns = {c.name: c.type for c in engine.schema().table("typed").columns}
    assert columns == {"id": "bigint", "amount": "bigint", "zip": "text", "ok": "boolean",
                       "day": "date", "at": "timestamp with time zone", "note": "text",
                       "price": "double precision"}
    [zips] = engine.execute("SELECT zip FROM typed ORDER BY id")
    assert zips.rows == [["01234"], ["98765"], ["00000"]]


def test_postgres_csv_value_that_does_not_fit_its_column_is_a_rejected_row(engine_for, tmp_path):
    from engines.errors import ImportRowError

    engine = engine_for("postgres")
    path = tmp_path / "late.csv"
    path.write_text("n\n" + "".join(f"{i}\n" for i in range(1, 1200)) + "oops\n")
    with pytest.raises(ImportRowError) as info:
        engine.import_file("late", path)
    assert info.value.row == 1200
    assert "late" not in {t.name for t in engine.schema().tables}


def test_sqlite_csv_import_types_new_columns_from_their_values(engine_for, tmp_path):
    engine = engine_for("sqlite")
    path = tmp_path / "typed.csv"
    path.write_text(TYPED_CSV)
    assert engine.import_file("typed", path).rows == 3
    [result] = engine.execute(
        "SELECT id, typeof(amount), zip, ok, day, at, note, price FROM typed ORDER BY id")
    assert result.error is None, result.error
    assert result.rows == [
        [1, "integer", "01234", 1, "2024-02-29", "2024-02-29T12:00:00Z", None, 1.5],
        [2, "integer", "98765", 0, "2024-03-01", "2024-03-01 08:30:00+02:00", None, 2.0],
        [3, "null", "00000", None, None, None, "x", None]]
    [total] = engine.execute("SELECT sum(amount), sum(price) FROM typed")
    assert total.rows == [[7, 3.5]]


def test_csv_into_an_existing_table_keeps_the_text_as_read(engine_for, tmp_path):
    engine = engine_for("sqlite")
    engine.execute("CREATE TABLE codes (code TEXT, label TEXT)")
    path = tmp_path / "codes.csv"
    path.write_text("code,label\n007,1.50\n")
    engine.import_file("codes", path)
    [result] = engine.execute("SELECT code, label FROM codes")
    assert result.rows == [["007", "1.50"]]
