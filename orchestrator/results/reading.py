"""Reading a stored result: the Arrow file, memory-mapped (a page touches only its rows)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from engines.result import jsonable
from engines.result_limits import cut_cell
from orchestrator.results import files


def open_table(path: Path) -> pa.Table:
    with pa.memory_map(str(path)) as source:
        return pa.ipc.open_file(source).read_all()


def described_columns(table: pa.Table) -> list[dict[str, str]]:
    """``[{"name", "type", "field"}]``: the result's columns as the engine named them."""
    raw = (table.schema.metadata or {}).get(files.COLUMNS_KEY)
    if raw:
        described: list[dict[str, str]] = json.loads(raw)
        return described
    return [{"name": f.name, "type": str(f.type), "field": f.name} for f in table.schema]


def page_rows(table: pa.Table, offset: int, limit: int, max_cell_bytes: int) -> list[list[Any]]:
    """Rows ``offset`` .. ``offset+limit``, JSON-safe, long cells cut as in a first page."""
    part = table.slice(offset, limit)
    columns = [part.column(i).to_pylist() for i in range(part.num_columns)]
    return [[cut_cell(jsonable(v), max_cell_bytes) for v in row]
            for row in zip(*columns, strict=True)] if columns else []


def field_for(table: pa.Table, name: str) -> str:
    """The Arrow field of a column given by its shown name (the first of that name) or by
    its field name; the name itself when neither (the chart then says it is unknown)."""
    described = described_columns(table)
    for column in described:
        if column["field"] == name:
            return name
    for column in described:
        if column["name"] == name:
            return column["field"]
    return name


def iter_rows(table: pa.Table) -> Iterator[list[Any]]:
    """Every row, JSON-safe and whole (for downloads), a batch at a time."""
    for batch in table.to_batches(max_chunksize=10_000):
        columns = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
        for row in zip(*columns, strict=True):
            yield [jsonable(v) for v in row]
