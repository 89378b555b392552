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

from engines.errors import InvalidRequest

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
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer: Any = None
    count = 0
    schema: Any = None
    batch: list[list[Any]] = []

    def flush() -> None:
        nonlocal writer, schema
        data = {name: [_cell(r[i]) for r in batch] for i, name in enumerate(columns)}
        table = pa.table(data) if schema is None else pa.table(data, schema=schema)
        if writer is None:
            schema = table.schema
            writer = pq.ParquetWriter(str(out), schema)
        writer.write_table(table)
        batch.clear()

    try:
        for row in rows:
            batch.append(row)
            count += 1
            if len(batch) >= batch_size:
                flush()
        if batch or writer is None:
            flush()
    finally:
        if writer is not None:
            writer.close()
    return count


def read_records(path: Path, fmt: str | None = None) -> Iterator[dict[str, Any]]:
    """Yield the records of a CSV, JSON (array or one object per line), JSONL or Parquet file.

    Malformed input raises :class:`InvalidRequest` naming the 1-based record.
    """
    fmt = fmt or guess_format(path)
    if fmt == "csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            yield from csv.DictReader(fh)
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
