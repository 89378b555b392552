"""Keeping a statement's whole result in an Arrow file while the statement runs.

:class:`ArrowKeeper` is the :class:`engines.base.RowSink` a statement process feeds: rows
arrive as the driver gives them, are gathered into columnar batches (types inferred by
Arrow: integers, floats, decimals, timestamps, dates, text...; documents and mixed values
as JSON text), and are written as one Arrow IPC file when the statement ends, or when
the store's row or byte cap is reached (the result is then marked truncated, saying why).
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from engines.result import Column, jsonable
from engines.result_limits import raw_size
from orchestrator.results import files

#: rows gathered before they become a columnar batch, or fewer once about this many bytes
#: (every :data:`SAMPLE_EVERY` th row is measured)
BATCH_ROWS = 50_000
BATCH_BYTES = 32 * 1024 * 1024
SAMPLE_EVERY = 16
_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError,
                 OverflowError, TypeError, ValueError)


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    converted = jsonable(value)
    return converted if isinstance(converted, str) else json.dumps(converted)


def _plain(kind: pa.DataType) -> bool:
    """A type charts and pages handle as is (vectors of numbers included)."""
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        value = kind.value_type
        return pa.types.is_integer(value) or pa.types.is_floating(value)
    return not (pa.types.is_struct(kind) or pa.types.is_map(kind) or pa.types.is_union(kind))


def _extended_dates(values: list[Any]) -> list[Any] | None:
    """Datetimes for a column of MongoDB extended-JSON dates (``{"$date": ISO}``), else
    ``None``: kept as timestamps, they chart and bin as time."""
    out: list[Any] = []
    for value in values:
        if value is None:
            out.append(None)
            continue
        if not (isinstance(value, dict) and len(value) == 1 and isinstance(value.get("$date"),
                                                                           str)):
            return None
        try:
            moment = dt.datetime.fromisoformat(value["$date"].replace("Z", "+00:00"))
        except ValueError:
            return None
        out.append(moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC))
    return out


def to_array(values: list[Any]) -> tuple[pa.Array, bool]:
    """One column of a batch: Arrow's own type when the values agree on one, else text;
    and whether that text is JSON (documents and arrays: every value JSON-encoded, so a
    page gives them back as they were)."""
    dates = _extended_dates(values) if any(isinstance(v, dict) for v in values) else None
    try:
        array = pa.array(dates if dates is not None else values)
        if _plain(array.type):
            return array, False
    except _ARROW_ERRORS:
        pass
    if any(isinstance(v, (dict, list)) for v in values):
        return pa.array([None if v is None else json.dumps(jsonable(v)) for v in values],
                        pa.string()), True
    return pa.array([_as_text(v) for v in values], pa.string()), False


def unique_fields(names: Sequence[str]) -> list[str]:
    """Field names with repeats made unique: ``n``, ``n_2``, ``n_3``..."""
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        field, n = name or "column", 1
        while field in seen:
            n += 1
            field = f"{name or 'column'}_{n}"
        seen.add(field)
        out.append(field)
    return out


def _concat(tables: list[pa.Table]) -> pa.Table:
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except _ARROW_ERRORS:
        pass
    # batches disagree on a column's type (documents): that column becomes text
    kinds: dict[str, set[pa.DataType]] = {}
    for table in tables:
        for field in table.schema:
            if not pa.types.is_null(field.type):
                kinds.setdefault(field.name, set()).add(field.type)
    mixed = {name for name, seen in kinds.items() if len(seen) > 1}
    fixed = []
    for table in tables:
        for name in mixed & set(table.column_names):
            index = table.column_names.index(name)
            text = pa.array([_as_text(v) for v in table.column(name).to_pylist()], pa.string())
            table = table.set_column(index, name, text)
        fixed.append(table)
    return pa.concat_tables(fixed, promote_options="permissive")


def warm_up() -> None:
    """Load now what Arrow loads on first use (pandas and its shim, the IPC writer): a
    statement process forked after this keeps its first result without that cost."""
    table = pa.table({"c0": to_array([1, None])[0], "c1": to_array(["x", None])[0]})
    with pa.ipc.new_file(pa.BufferOutputStream(), table.schema) as out:
        out.write_table(table)


class ArrowKeeper:
    """Keeps up to ``max_rows`` rows / about ``max_bytes`` bytes of one statement's result."""

    def __init__(self, directory: Path, rid: str, *, max_rows: int, max_bytes: int) -> None:
        self.directory = directory
        self.result_id = rid
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.rows = 0
        self.size = 0
        self.note: str | None = None
        self._pending: list[Sequence[Any]] = []
        #: columns (by position) kept as JSON text
        self._json: set[int] = set()
        self._pending_bytes = 0
        self._tables: list[pa.Table] = []

    def add(self, row: Sequence[Any]) -> bool:
        if self.note is not None:
            return False
        if self.rows >= self.max_rows:
            self.note = (f"the result has more than {self.max_rows:,} rows; the first "
                         f"{self.max_rows:,} are kept (DBPLAY_RESULT_MAX_ROWS)")
            return False
        self._pending.append(row)
        self.rows += 1
        if self.rows % SAMPLE_EVERY == 0:
            self._pending_bytes += raw_size(row) * SAMPLE_EVERY
        if len(self._pending) >= BATCH_ROWS or self._pending_bytes > BATCH_BYTES:
            self._flush()
            if self.size > self.max_bytes:
                self.note = (f"the result holds more than {self.max_bytes:,} bytes; the "
                             f"first {self.rows:,} rows are kept (DBPLAY_RESULT_MAX_MB)")
                return False
        return True

    def _flush(self) -> None:
        if not self._pending:
            return
        rows, self._pending, self._pending_bytes = self._pending, [], 0
        width = max(len(r) for r in rows)
        if all(len(r) == width for r in rows):
            columns = [list(c) for c in zip(*rows, strict=True)]
        else:  # documents: later rows may have more fields
            columns = [[r[i] if i < len(r) else None for r in rows] for i in range(width)]
        arrays = {}
        for i, values in enumerate(columns):
            arrays[f"c{i}"], encoded = to_array(values)
            if encoded:
                self._json.add(i)
        table = pa.table(arrays)
        self.size += table.nbytes
        self._tables.append(table)

    def finish(self, columns: list[Column], *, stopped: str | None = None) -> dict[str, Any]:
        self._flush()
        if stopped is not None and self.note is None:
            self.note = f"rows stopped coming after {self.rows:,}: {stopped}"
        names = [c.name for c in columns]
        width = max([len(names), *(t.num_columns for t in self._tables)])
        names += [f"column_{i + 1}" for i in range(len(names), width)]
        fields = unique_fields(names)
        tables = [t.rename_columns(fields[:t.num_columns]) for t in self._tables]
        if tables:
            table = _concat(tables)
            for name in fields:  # columns no row had a value for
                if name not in table.column_names:
                    table = table.append_column(name, pa.nulls(table.num_rows))
            table = table.select(fields)
        else:
            table = pa.table({name: pa.array([], pa.string()) for name in fields})
        types = [c.type for c in columns] + [""] * (width - len(columns))
        described: list[dict[str, Any]] = [
            {"name": n, "type": t, "field": f}
            for n, t, f in zip(names, types, fields, strict=True)]
        for index in self._json:
            if index < len(described):
                described[index]["json"] = True
        table = table.replace_schema_metadata({files.COLUMNS_KEY: json.dumps(described)})
        self._tables = []
        final = files.arrow_path(self.directory, self.result_id)
        aside = final.with_suffix(".arrow.part")
        with pa.OSFile(str(aside), "wb") as sink, pa.ipc.new_file(sink, table.schema) as out:
            out.write_table(table, max_chunksize=BATCH_ROWS)
        os.replace(aside, final)
        meta = {"total_rows": table.num_rows, "result_truncated": self.note is not None,
                "result_note": self.note, "size_bytes": final.stat().st_size}
        files.write_meta(self.directory, self.result_id, meta)
        return meta
