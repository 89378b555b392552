"""What a chart asks for, what it gives back, and which columns can play which part.

:class:`ChartRequest` and :class:`ChartFilter` are checked here (unknown aggregation, bin,
mark or filter kind; unknown column) so every mistake a user can make is an
:class:`~engines.errors.InvalidRequest` in words before any SQL is built.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import pyarrow as pa

from engines.errors import InvalidRequest
from orchestrator.results.files import COLUMNS_KEY

AGGREGATIONS = ("count", "sum", "avg", "min", "max")
BINS = ("hour", "day", "week", "month", "year")
MARKS = ("bar", "line", "point", "area")
FILTER_KINDS = ("range", "values")
#: how the aggregation reads in titles: ``sum of amount``, ``count of rows``
AGG_WORDS = {"count": "count", "sum": "sum", "avg": "average", "min": "min", "max": "max"}


@dataclass
class ChartRequest:
    """One chart over a stored result: group by ``x`` (time-binned by ``bin``) and by
    ``color``, aggregate ``y`` with ``agg``. ``count`` without ``y`` counts rows; with ``y``
    it counts the rows where ``y`` is not null. ``mark`` ``None`` picks one (a line for
    time on x, bars otherwise)."""

    x: str
    y: str | None = None
    agg: str = "count"
    bin: str | None = None
    color: str | None = None
    mark: str | None = None

    def check(self) -> None:
        if not isinstance(self.x, str) or not self.x:
            raise InvalidRequest("a chart needs an x column")
        _one_of("aggregation", self.agg, AGGREGATIONS)
        if self.bin is not None:
            _one_of("time bin", self.bin, BINS)
        if self.mark is not None:
            _one_of("chart mark", self.mark, MARKS)
        if self.y is None and self.agg != "count":
            raise InvalidRequest(
                f"{AGG_WORDS[self.agg]} needs a y column; without one the chart can only "
                "count rows (aggregation count)")
        if self.color is not None and self.color == self.x:
            raise InvalidRequest("color must be a different column from x")


@dataclass
class ChartFilter:
    """Keep only some stored rows before aggregating. ``range``: ``min <= column <= max``
    (either bound may be ``None``). ``values``: the column equals one of ``values``
    (``None`` in the list matches NULL). Values are always bound as parameters."""

    column: str
    kind: str
    min: Any = None
    max: Any = None
    values: list[Any] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChartFilter:
        """A filter as the API takes it: ``{"column", "kind", "min", "max"}`` or
        ``{"column", "kind", "values"}``."""
        if not isinstance(data, dict):
            raise InvalidRequest("a filter is an object with column, kind and its values")
        unknown = sorted(set(data) - {"column", "kind", "min", "max", "values"})
        if unknown:
            raise InvalidRequest(f"unknown filter field(s): {', '.join(unknown)}")
        values = data.get("values") or []
        if not isinstance(values, list):
            raise InvalidRequest("filter values must be a list")
        made = cls(column=str(data.get("column") or ""), kind=str(data.get("kind") or ""),
                   min=data.get("min"), max=data.get("max"), values=values)
        made.check()
        return made

    def check(self) -> None:
        if not self.column:
            raise InvalidRequest("a filter needs a column")
        _one_of("filter kind", self.kind, FILTER_KINDS)
        if self.kind == "range" and self.min is None and self.max is None:
            raise InvalidRequest(f"the range filter on {self.column} has neither min nor max")


@dataclass
class ChartData:
    """The aggregated points and the Vega-Lite spec drawing them (data inline).

    ``rows`` cells follow ``columns``: ``[x, y]``, or ``[x, y, color]`` with a color.
    x of a time axis is an ISO-8601 string in UTC (``2024-02-01T00:00:00Z``); NULL is
    ``None`` (the spec labels it ``NULL``). Integer counts, sums, mins and maxes are
    exact Python ints; averages, floats and decimals are floats; NaN becomes ``None``.
    ``rows_used`` is how many stored rows the aggregation read (after filters).
    """

    rows: list[list[Any]]
    spec: dict[str, Any]
    rows_used: int
    columns: list[str]
    note: str | None = None


class Kind(Enum):
    """What a column can be on a chart."""

    TEMPORAL = "date or time"      # timestamp (naive or UTC) or date: binnable
    NUMBER = "number"
    TEXT = "text"
    BOOL = "true/false"
    TIME_OF_DAY = "time of day"
    VECTOR = "vector"              # list of numbers (embeddings): never x, y or color
    OTHER = "nested or binary"     # lists, structs, bytes: not chartable

    @property
    def groupable(self) -> bool:
        return self not in (Kind.VECTOR, Kind.OTHER)


def kind_of(typ: pa.DataType) -> Kind:
    if pa.types.is_dictionary(typ):
        return kind_of(typ.value_type)
    if pa.types.is_timestamp(typ) or pa.types.is_date(typ):
        return Kind.TEMPORAL
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ):
        return Kind.NUMBER
    if pa.types.is_boolean(typ):
        return Kind.BOOL
    if pa.types.is_string(typ) or pa.types.is_large_string(typ) or pa.types.is_null(typ) \
            or pa.types.is_string_view(typ):
        return Kind.TEXT
    if pa.types.is_time(typ):
        return Kind.TIME_OF_DAY
    if (pa.types.is_list(typ) or pa.types.is_large_list(typ)
            or pa.types.is_fixed_size_list(typ)) and kind_of(typ.value_type) is Kind.NUMBER:
        return Kind.VECTOR
    return Kind.OTHER


def display_names(schema: pa.Schema) -> dict[str, str]:
    """Arrow field name -> the column name the engine gave (duplicates were renamed
    ``name_2``...); the field name itself when the schema says nothing."""
    names = {f.name: f.name for f in schema}
    raw = (schema.metadata or {}).get(COLUMNS_KEY)
    if raw:
        try:
            for col in json.loads(raw):
                if col.get("field") in names and col.get("name"):
                    names[col["field"]] = str(col["name"])
        except (ValueError, TypeError, AttributeError):
            pass
    return names


def resolve(schema: pa.Schema, name: str, role: str) -> pa.Field:
    """The field a user means by ``name``: an Arrow field name, else a column's original
    name. Unknown: says which columns there are."""
    if name in schema.names:
        return schema.field(name)
    for fld, shown in display_names(schema).items():
        if shown == name:
            return schema.field(fld)
    listed = ", ".join(schema.names) or "(none)"
    raise InvalidRequest(f"there is no column {name!r} for {role}; the columns are: {listed}")


def _one_of(what: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise InvalidRequest(f"unknown {what} {value!r}; use one of: {', '.join(allowed)}")
