"""Reading and writing rows as CSV, JSON (array), JSON Lines and Parquet.

Used by every adapter's import and export, so the file formats behave the same
whatever the engine.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from engines.errors import ImportRowError, InvalidRequest
from engines.text_values import TextRecord

FORMATS = ("csv", "json", "jsonl", "parquet")


def guess_format(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "ndjson":
        return "jsonl"
    if suffix in FORMATS:
        return suffix
    raise InvalidRequest(
        f"cannot tell the format of {path.name!r}; use one of {', '.join(FORMATS)}"
    )


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value


def write_rows(out: Path, fmt: str, columns: list[str], rows: Iterable[list[Any]]) -> int:
    """Write rows (JSON-safe values) to ``out``; returns the number of rows written."""
    if fmt not in FORMATS:
        raise InvalidRequest(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    count = 0
    if fmt == "csv":
        with out.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if v is None else _cell(v) for v in row])
                count += 1
    elif fmt == "jsonl":
        with out.open("w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(dict(zip(columns, row)), ensure_ascii=False) + "\n")
                count += 1
    elif fmt == "json":
        with out.open("w", encoding="utf-8") as fh:
            fh.write("[")
            for row in rows:
                fh.write(("," if count else "") + "\n" + json.dumps(dict(zip(columns, row)),
                                                                   ensure_ascii=False))
                count += 1
            fh.write("\n]\n")
    else:
        count = _write_parquet(out, columns, rows)
    return count


def _write_parquet(out: Path, columns: list[str], rows: Iterable[list[Any]],
                   batch_size: int = 10_000) -> int:
    """Write ``rows`` as Parquet, batch by batch (see :class:`_ParquetSink`)."""
    sink = _ParquetSink(out, columns)
    count = 0
    batch: list[list[Any]] = []
    try:
        for row in rows:
            batch.append(row)
            count += 1
            if len(batch) >= batch_size:
                sink.write(batch)
                batch = []
        sink.write(batch)
        sink.flush()
    finally:
        sink.close()
    return count


class _ParquetSink:
    """Parquet output whose column types follow the data, whatever order it comes in.

    Each batch's columns are typed by pyarrow from their values (dicts and lists as
    JSON text). Types only widen: an all-null column takes the first type seen later,
    integers mixed with floats become ``double``, and any other mix (numbers and
    ``{"$oid": ...}`` objects, say) becomes text, with non-strings JSON-encoded. Batches
    are held in memory until every column has a type (up to :attr:`HOLD_ROWS` rows);
    when a type widens after rows were written, the rows written so far are rewritten
    once with the wider schema.
    """

    HOLD_ROWS = 100_000

    def __init__(self, out: Path, columns: list[str]) -> None:
        self.out = out
        self.columns = columns
        self.types: list[Any] = []
        self.held: list[Any] = []
        self.held_rows = 0
        self.writer: Any = None

    def write(self, rows: list[list[Any]]) -> None:
        import pyarrow as pa

        if not rows and (self.held or self.writer is not None):
            return
        arrays = [_arrow_column([_cell(r[i]) for r in rows]) for i in range(len(self.columns))]
        table = pa.Table.from_arrays(arrays, names=self.columns)
        types = [a.type for a in arrays]
        widened = [_wider(old, new) for old, new in zip(self.types, types)] or types
        if self.writer is not None and widened != self.types:
            self._rewrite(widened)
        self.types = widened
        if self.writer is None:
            self.held.append(table)
            self.held_rows += len(rows)
            if self.held_rows < self.HOLD_ROWS and any(pa.types.is_null(t) for t in widened):
                return
            writer = self._open(self.out)
            for held in self.held:
                writer.write_table(_conform(held, self.types))
            self.held = []
            return
        self.writer.write_table(_conform(table, self.types))

    def _open(self, path: Path) -> Any:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = pa.schema([pa.field(n, t) for n, t in zip(self.columns, self.types)])
        self.writer = pq.ParquetWriter(str(path), schema)
        return self.writer

    def _rewrite(self, types: list[Any]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.writer.close()
        previous = self.out.with_name(self.out.name + ".partial")
        self.out.replace(previous)
        self.types = types
        writer = self._open(self.out)
        try:
            for batch in pq.ParquetFile(str(previous)).iter_batches():
                writer.write_table(_conform(pa.Table.from_batches([batch]), types))
        finally:
            previous.unlink()

    def flush(self) -> None:
        """Write out batches still held (columns that never got a value stay null)."""
        if self.writer is None and self.held:
            writer = self._open(self.out)
            for held in self.held:
                writer.write_table(_conform(held, self.types))
            self.held = []

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _arrow_column(values: list[Any]) -> Any:
    """An Arrow array of ``values``, typed by pyarrow, or text when they do not agree.

    (No type hint from earlier batches: pyarrow would silently truncate ``0.5`` to an
    ``int64`` 0. The widening is done by :func:`_wider` and :func:`_conform`.)
    """
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array([None if v is None else _text(v) for v in values], pa.string())


def _wider(old: Any, new: Any) -> Any:
    import pyarrow as pa

    if old == new or pa.types.is_null(new):
        return old
    if pa.types.is_null(old):
        return new
    if {str(old), str(new)} == {"int64", "double"}:
        return pa.float64()
    return pa.string()


def _conform(table: Any, types: list[Any]) -> Any:
    """``table`` with each column converted to ``types`` (only ever a widening)."""
    import pyarrow as pa

    arrays = []
    for column, wanted in zip(table.columns, types):
        if column.type == wanted:
            arrays.append(column)
        elif pa.types.is_string(wanted):
            arrays.append(pa.array([None if v is None else _text(v)
                                    for v in column.to_pylist()], pa.string()))
        else:
            arrays.append(column.cast(wanted))
    return pa.Table.from_arrays(arrays, names=table.column_names)


def read_records(path: Path, fmt: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield the records of a CSV, JSON (array or one object per line), JSONL or Parquet file.

    Malformed input raises :class:`InvalidRequest` naming the 1-based record, or, for a
    CSV row with the wrong number of fields or an unterminated quote,
    :class:`ImportRowError` with its 1-based data row. CSV records are
    :class:`TextRecord` objects (see :mod:`engines.text_values` for their types).
    """
    fmt = fmt or guess_format(path)
    if fmt == "csv":
        yield from _read_csv(path)
    elif fmt in ("json", "jsonl"):
        with path.open(encoding="utf-8") as fh:
            head = fh.read(1)
            while head and head.isspace():
                head = fh.read(1)
            fh.seek(0)
            if head == "[":
                try:
                    data = json.load(fh)
                except json.JSONDecodeError as exc:
                    raise InvalidRequest(f"{path.name}: not valid JSON: {exc}") from exc
                for i, record in enumerate(data, 1):
                    yield _as_record(record, i)
            else:
                for i, line in enumerate(fh, 1):
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise InvalidRequest(
                            f"{path.name}: row {i} is not valid JSON: {exc}"
                        ) from exc
                    yield _as_record(record, i)
    elif fmt == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(str(path)).iter_batches():
            yield from batch.to_pylist()
    else:
        raise InvalidRequest(f"unknown import format {fmt!r}; use one of {', '.join(FORMATS)}")


def _as_record(record: Any, index: int) -> dict[str, Any]:
    if not isinstance(record, dict):
        raise InvalidRequest(f"row {index} is not a JSON object")
    return record


def _read_csv(path: Path) -> Iterator[TextRecord]:
    """The data rows of a CSV file under its header row; blank lines are skipped.

    An empty cell is ``None`` (SQL ``NULL``), quoted or not: Python's csv module (before
    3.12) cannot tell ``,"",`` from ``,,``, and a missing value is the common meaning.
    """
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh, strict=True)
        row = 0
        header: list[str] | None = None
        try:
            header = next(reader, None)
            if header is None:
                return
            for fields in reader:
                if not fields:
                    continue
                row += 1
                if len(fields) != len(header):
                    raise ImportRowError(
                        f"{path.name}: row {row} has {len(fields)} fields but the header has "
                        f"{len(header)}", row=row)
                yield TextRecord(zip(header, (v if v != "" else None for v in fields)))
        except csv.Error as exc:
            if header is None:
                raise InvalidRequest(f"{path.name}: the header is not valid CSV: {exc}") from exc
            raise ImportRowError(f"{path.name}: row {row + 1} is not valid CSV: {exc} "
                                 "(an unterminated quote?)", row=row + 1, original=exc) from exc
