"""Reading CSV strictly and writing Parquet whatever order the value types come in."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from engines import formats
from engines.errors import ImportRowError
from engines.text_values import TextRecord, column_kinds, parse


def read_csv(tmp_path: Path, text: str) -> list[dict[str, object]]:
    path = tmp_path / "data.csv"
    path.write_text(text, encoding="utf-8")
    return list(formats.read_records(path))


@pytest.mark.parametrize("body, row", [
    ("1,a\n2\n3,c\n", 2),           # a field short
    ("1,a\n2,b\n3,c,extra\n", 3),   # a field too many
])
def test_csv_row_with_the_wrong_number_of_fields_is_a_rejected_row(tmp_path, body, row):
    with pytest.raises(ImportRowError, match=f"row {row} has") as info:
        read_csv(tmp_path, "n,name\n" + body)
    assert info.value.row == row


def test_csv_unterminated_quote_is_a_rejected_row(tmp_path):
    with pytest.raises(ImportRowError, match="row 2 is not valid CSV") as info:
        read_csv(tmp_path, 'n,name\n1,a\n2,"b\n3,c\n')
    assert info.value.row == 2


def test_csv_empty_cells_are_null_and_blank_lines_are_skipped(tmp_path):
    records = read_csv(tmp_path, 'n,name,note\n1,,x\n\n2,"",\n')
    assert records == [{"n": "1", "name": None, "note": "x"},
                       {"n": "2", "name": None, "note": None}]
    assert all(isinstance(r, TextRecord) for r in records)


def test_text_kinds_keep_leading_zero_codes_as_text():
    records = [
        {"i": "1", "f": "1", "zip": "01234", "b": "true", "d": "2024-02-29",
         "ts": "2024-02-29T12:00:00Z", "mixed": "1", "none": None, "bad_date": "2024-02-30"},
        {"i": "-20", "f": "2.5e3", "zip": "98765", "b": "FALSE", "d": None,
         "ts": "2024-03-01", "mixed": "x", "none": None, "bad_date": "2024-01-01"},
    ]
    assert column_kinds(records) == {
        "i": "integer", "f": "float", "zip": "text", "b": "boolean", "d": "date",
        "ts": "timestamp", "mixed": "text", "none": "text", "bad_date": "text"}
    assert [parse("-20", "integer"), parse("2.5e3", "float"), parse("FALSE", "boolean"),
            parse("oops", "integer"), parse(None, "integer")] == [-20, 2500.0, False, "oops", None]


def test_parquet_column_null_in_the_first_batches_takes_its_later_type(tmp_path):
    out = tmp_path / "late.parquet"
    rows = [[i, None if i < 15_000 else i * 2] for i in range(20_000)]
    sink_hold = formats._ParquetSink.HOLD_ROWS
    formats._ParquetSink.HOLD_ROWS = 10_000  # written before the values arrive: a rewrite
    try:
        assert formats.write_rows(out, "parquet", ["id", "late"], rows) == 20_000
    finally:
        formats._ParquetSink.HOLD_ROWS = sink_hold
    table = pq.read_table(out)
    assert str(table.schema.field("late").type) == "int64"
    assert table.column("late").to_pylist() == [r[1] for r in rows]


def test_parquet_column_null_until_after_the_first_batch_is_typed_without_rewrite(tmp_path):
    out = tmp_path / "late.parquet"
    rows = [[i, None if i < 15_000 else float(i)] for i in range(20_000)]
    assert formats.write_rows(out, "parquet", ["id", "late"], rows) == 20_000
    table = pq.read_table(out)
    assert str(table.schema.field("late").type) == "double"
    assert table.column("late").to_pylist()[14_999:15_001] == [None, 15_000.0]


def test_parquet_column_mixing_numbers_and_objects_is_written_as_text(tmp_path):
    out = tmp_path / "mixed.parquet"
    rows = [[i, i if i % 2 else {"$oid": f"{i:024x}"}] for i in range(20_000)]
    rows.append([20_000, True])
    assert formats.write_rows(out, "parquet", ["id", "ref"], rows) == 20_001
    table = pq.read_table(out)
    assert str(table.schema.field("ref").type) == "string"
    values = table.column("ref").to_pylist()
    assert values[:2] == ['{"$oid": "000000000000000000000000"}', "1"]
    assert values[-1] == "true" and table.num_rows == 20_001


def test_parquet_ints_then_floats_become_double(tmp_path):
    out = tmp_path / "num.parquet"
    rows = [[i] for i in range(10_000)] + [[0.5]]
    formats.write_rows(out, "parquet", ["x"], rows)
    table = pq.read_table(out)
    assert str(table.schema.field("x").type) == "double"
    assert table.column("x").to_pylist()[-2:] == [9999.0, 0.5]
