"""Deciding how a request is drawn: which fields, which axis type, which mark, which titles.

Every check that depends on the columns' types happens here (vector x, sum of text, bin on
something that is not a time...), so the SQL built afterwards never fails on the user.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from engines.errors import InvalidRequest
from orchestrator.results.charts.request import (
    AGG_WORDS,
    ChartRequest,
    Kind,
    display_names,
    kind_of,
    resolve,
)

#: axis types (Vega-Lite's names)
TEMPORAL = "temporal"
QUANTITATIVE = "quantitative"
NOMINAL = "nominal"
#: marks that draw a path: a missing time bin must break them
PATH_MARKS = ("line", "area")


@dataclass(frozen=True)
class Plan:
    x: pa.Field
    x_name: str                    # the column's name as the user knows it
    x_kind: Kind
    x_scale: str                   # temporal | quantitative | nominal
    y: pa.Field | None
    agg: str
    bin: str | None
    color: pa.Field | None
    mark: str
    x_title: str
    y_title: str
    color_title: str | None

    @property
    def fills_gaps(self) -> bool:
        """Missing time bins become null rows, so the line breaks instead of bridging."""
        return self.bin is not None and self.mark in PATH_MARKS

    @property
    def columns(self) -> list[str]:
        cells = [self.x_title, self.y_title]
        if self.color_title is not None:
            cells.append(self.color_title)
        return cells


def plan_chart(schema: pa.Schema, request: ChartRequest) -> Plan:
    request.check()
    names = display_names(schema)
    x = resolve(schema, request.x, "x")
    x_kind = kind_of(x.type)
    shown_x = names[x.name]
    _check_groupable(x, x_kind, shown_x, "x")
    if request.bin is not None and x_kind not in (Kind.TEMPORAL, Kind.TEXT):
        raise InvalidRequest(
            f"column {shown_x} is not a date or time ({x_kind.value}), so it cannot be "
            f"grouped by {request.bin}")

    y = resolve(schema, request.y, "y") if request.y is not None else None
    if y is not None and request.agg != "count":
        y_kind = kind_of(y.type)
        if y_kind is not Kind.NUMBER:
            raise InvalidRequest(
                f"{AGG_WORDS[request.agg]} needs a numeric y, and column {names[y.name]} is "
                f"{_a(y_kind)}; use count, or pick a numeric column")

    color = resolve(schema, request.color, "color") if request.color is not None else None
    if color is not None:
        if color.name == x.name:
            raise InvalidRequest("color must be a different column from x")
        _check_groupable(color, kind_of(color.type), names[color.name], "color")

    timed = request.bin is not None or x_kind is Kind.TEMPORAL
    mark = request.mark or ("line" if timed else "bar")
    if timed:
        scale = TEMPORAL
    elif x_kind is Kind.NUMBER and mark != "bar":
        scale = QUANTITATIVE
    else:
        scale = NOMINAL
    x_title = f"{shown_x} ({request.bin})" if request.bin else shown_x
    y_title = "count of rows" if y is None else f"{AGG_WORDS[request.agg]} of {names[y.name]}"
    return Plan(x=x, x_name=shown_x, x_kind=x_kind, x_scale=scale, y=y, agg=request.agg,
                bin=request.bin, color=color, mark=mark, x_title=x_title, y_title=y_title,
                color_title=names[color.name] if color is not None else None)


def _check_groupable(fld: pa.Field, kind: Kind, shown: str, role: str) -> None:
    if kind is Kind.VECTOR:
        raise InvalidRequest(f"column {shown} holds vectors, which cannot be the {role} of a "
                             "chart; pick a column of numbers, text or times")
    if not kind.groupable:
        raise InvalidRequest(f"column {shown} holds {kind.value} data ({fld.type}), which "
                             f"cannot be the {role} of a chart")


def _a(kind: Kind) -> str:
    return {Kind.TEXT: "text", Kind.BOOL: "true/false", Kind.TEMPORAL: "a date or time",
            Kind.TIME_OF_DAY: "a time of day", Kind.VECTOR: "a vector",
            Kind.OTHER: "nested or binary data"}.get(kind, kind.value)
