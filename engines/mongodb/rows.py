"""BSON documents as result rows: flattening, BSON type names and JSON-safe cells.

A document becomes one row. Nested sub-documents are flattened into dotted column
names (``address.zipcode``); arrays stay one cell. Cell values keep their meaning as
relaxed extended JSON where plain JSON cannot hold them (``{"$oid": ...}``,
``{"$date": ...}``, ``{"$numberDecimal": ...}``), and each column's ``type`` is the
BSON type name seen in it (``mixed`` when several non-null types appear).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from bson import (
    Binary,
    Code,
    DatetimeMS,
    DBRef,
    Decimal128,
    Int64,
    MaxKey,
    MinKey,
    ObjectId,
    Regex,
    Timestamp,
    json_util,
)

from engines.result import Column

_INT32_MIN, _INT32_MAX = -(2**31), 2**31 - 1

_BY_CLASS: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (bool, "bool"),
    (Int64, "long"),
    (Code, "javascript"),  # before str: Code subclasses str
    (str, "string"),
    (float, "double"),
    (ObjectId, "objectId"),
    ((dt.datetime, DatetimeMS), "date"),
    (Decimal128, "decimal"),
    ((Regex, re.Pattern), "regex"),
    ((Binary, bytes, uuid.UUID), "binData"),
    (Timestamp, "timestamp"),
    (DBRef, "dbRef"),
    (MinKey, "minKey"),
    (MaxKey, "maxKey"),
    ((list, tuple), "array"),
    (Mapping, "object"),
)


def bson_type(value: Any) -> str:
    """The BSON type alias of a decoded value, as ``$type`` spells it."""
    if value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, (bool, Int64)):
        return "int" if _INT32_MIN <= value <= _INT32_MAX else "long"
    for classes, name in _BY_CLASS:
        if isinstance(value, classes):
            return name
    return type(value).__name__


def to_cell(value: Any) -> Any:
    """A JSON-safe value: plain JSON where it fits, relaxed extended JSON otherwise."""
    if value is None or (isinstance(value, (bool, str)) and not isinstance(value, Code)):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, Mapping) and not isinstance(value, DBRef):
        return {str(k): to_cell(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_cell(v) for v in value]
    try:
        return to_cell(json_util.default(value, json_options=json_util.RELAXED_JSON_OPTIONS))
    except TypeError:
        return str(value)


def flatten(document: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, value)`` pairs; non-empty sub-documents are descended into."""
    for key, value in document.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and not isinstance(value, DBRef):
            yield from flatten(value, f"{path}.")
        else:
            yield path, value


class RowBuilder:
    """Turns documents into rows over a growing, shared list of columns.

    ``columns`` is the list handed to the caller: it grows (first-seen order,
    ``_id`` first) as documents with new keys arrive, and rows already built are
    padded so every row always has one cell per column. With ``fixed=True`` the
    columns are given up front and unknown keys are ignored; with
    ``keep_rows=False`` only the columns are tracked (a pass that just learns them).
    """

    def __init__(self, *, nested: bool = True, columns: list[Column] | None = None,
                 fixed: bool = False, keep_rows: bool = True) -> None:
        self.nested = nested
        self.columns: list[Column] = columns if columns is not None else []
        self.fixed = fixed
        self.keep_rows = keep_rows and not fixed
        self._index = {c.name: i for i, c in enumerate(self.columns)}
        self._types: dict[str, set[str]] = {c.name: set() for c in self.columns}
        self._rows: list[list[Any]] = []

    def row(self, document: Mapping[str, Any]) -> list[Any]:
        pairs = flatten(document) if self.nested else iter(document.items())
        row: list[Any] = [None] * len(self.columns)
        for name, value in pairs:
            if name not in self._index:
                if self.fixed:
                    continue
                row.insert(self._add_column(name), None)
            position = self._index[name]
            row[position] = to_cell(value)
            self._note_type(name, value)
        if self.keep_rows:
            self._rows.append(row)
        return row

    def _add_column(self, name: str) -> int:
        position = 0 if name == "_id" else len(self.columns)
        self.columns.insert(position, Column(name=name))
        self._types[name] = set()
        self._index = {c.name: i for i, c in enumerate(self.columns)}
        for earlier in self._rows:
            earlier.insert(position, None)
        return position

    def _note_type(self, name: str, value: Any) -> None:
        seen = self._types[name]
        seen.add(bson_type(value))
        column = self.columns[self._index[name]]
        column.type = combined_type(seen)

    def rows(self, documents: Iterable[Mapping[str, Any]]) -> Iterator[list[Any]]:
        for document in documents:
            yield self.row(document)


def combined_type(seen: set[str]) -> str:
    """One type name for a set of observed ones: nulls only count when alone."""
    real = seen - {"null"}
    if not real:
        return "null" if seen else ""
    return next(iter(real)) if len(real) == 1 else "mixed"

