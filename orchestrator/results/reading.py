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


def described_columns(table: pa.Table) -> list[dict[str, Any]]:
    """``[{"name", "type", "field", "json"?}]``: the result's columns as the engine named
    them (``json``: documents and arrays kept as JSON text)."""
    raw = (table.schema.metadata or {}).get(files.COLUMNS_KEY)
    if raw:
        described: list[dict[str, Any]] = json.loads(raw)
        return described
    return [{"name": f.name, "type": str(f.type), "field": f.name} for f in table.schema]


def _decoded(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:  # a plain string kept beside documents
        return text


def _columns(table: pa.Table) -> list[list[Any]]:
    """The table's columns as Python values; documents kept as JSON come back as such."""
    encoded = [bool(c.get("json")) for c in described_columns(table)]
    columns = []
    for i in range(table.num_columns):
        values = table.column(i).to_pylist()
        if i < len(encoded) and encoded[i]:
            values = [_decoded(v) for v in values]
        columns.append(values)
    return columns


def page_rows(table: pa.Table, offset: int, limit: int, max_cell_bytes: int) -> list[list[Any]]:
    """Rows ``offset`` .. ``offset+limit``, JSON-safe, long cells cut as in a first page."""
    columns = _columns(table.slice(offset, limit))
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
    for start in range(0, table.num_rows, 10_000):
        columns = _columns(table.slice(start, 10_000))
        for row in zip(*columns, strict=True):
            yield [jsonable(v) for v in row]
