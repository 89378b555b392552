"""What a dashboard accepts: grid sizes, filters and chart requests, checked and put in
one shape before they are stored (pure functions; :mod:`orchestrator.api.dashboards`
uses them)."""

from __future__ import annotations

from typing import Any

from engines.errors import InvalidRequest
from orchestrator.store.views import GRID_COLUMNS

DEFAULT_WIDTH = 6
DEFAULT_HEIGHT = 300
MIN_HEIGHT, MAX_HEIGHT = 120, 2000
FILTER_KINDS = ("range", "values")
AGGREGATES = ("count", "sum", "avg", "min", "max")
BINS = ("hour", "day", "week", "month", "year")
MARKS = ("bar", "line", "point", "area")
#: the Charts page's 2-D projection of vectors: drawn in the page, not from a stored result
PROJECTION = "projection"
#: the Charts page's saved specs (``ui.charts.ChartSpec``) in chart-request words
_OLD_AGGREGATES = {"mean": "avg", "median": "avg", "count": "count", "sum": "sum",
                   "min": "min", "max": "max"}
_OLD_MARKS = {"bar": "bar", "line": "line", "area": "area", "scatter": "point"}


def check_width(width: Any) -> int:
    if not isinstance(width, int) or isinstance(width, bool) \
            or not 1 <= width <= GRID_COLUMNS:
        raise InvalidRequest(f"a chart's width is 1 to {GRID_COLUMNS} grid columns, "
                             f"not {width!r}")
    return width


def check_height(height: Any) -> int:
    if not isinstance(height, int) or isinstance(height, bool) \
            or not MIN_HEIGHT <= height <= MAX_HEIGHT:
        raise InvalidRequest(f"a chart's height is {MIN_HEIGHT} to {MAX_HEIGHT} pixels, "
                             f"not {height!r}")
    return height


def _scalar(value: Any, what: str) -> Any:
    if value is not None and not isinstance(value, str | int | float | bool):
        raise InvalidRequest(f"{what} must be a number, a text or a date, not {value!r}")
    return value


def check_filters(filters: Any) -> list[dict[str, Any]]:
    """``[{"column", "kind": "range", "min", "max"} | {"column", "kind": "values",
    "values": [...]}]``, each checked; values stay values (bound as parameters later)."""
    if filters is None:
        return []
    if not isinstance(filters, list):
        raise InvalidRequest("filters are a list of {column, kind, ...}")
    checked: list[dict[str, Any]] = []
    for number, spec in enumerate(filters, 1):
        if not isinstance(spec, dict):
            raise InvalidRequest(f"filter {number} is not an object with column and kind")
        column, kind = spec.get("column"), spec.get("kind")
        if not isinstance(column, str) or not column.strip():
            raise InvalidRequest(f"filter {number} needs the column it filters")
        if kind not in FILTER_KINDS:
            raise InvalidRequest(f"filter {number} ({column}): kind is one of "
                                 f"{', '.join(FILTER_KINDS)}, not {kind!r}")
        if kind == "range":
            low = _scalar(spec.get("min"), f"the lowest {column}")
            high = _scalar(spec.get("max"), f"the highest {column}")
            if low is None and high is None:
                raise InvalidRequest(f"the range filter on {column} needs a min, a max or both")
            checked.append({"column": column, "kind": kind, "min": low, "max": high})
        else:
            values = spec.get("values")
            if not isinstance(values, list) or not values:
                raise InvalidRequest(f"the value filter on {column} needs a list of values")
            checked.append({"column": column, "kind": kind,
                            "values": [_scalar(v, f"a value of {column}") for v in values]})
    return checked


def check_chart(chart: Any) -> dict[str, Any] | None:
    """A chart request ``{"x", "y", "agg", "bin", "color", "mark"}`` (None: suggested)."""
    if chart is None:
        return None
    if not isinstance(chart, dict):
        raise InvalidRequest("a chart request is an object: {x, y, agg, bin, color, mark}")
    if not chart.get("x") or chart.get("mark") == PROJECTION:
        return None  # nothing a stored-result chart can draw as asked: suggested instead
    if not isinstance(chart["x"], str):
        raise InvalidRequest(f"x names a column, not {chart['x']!r}")
    agg = chart.get("agg") or "count"
    if agg not in AGGREGATES:
        raise InvalidRequest(f"agg is one of {', '.join(AGGREGATES)}, not {agg!r}")
    if chart.get("bin") is not None and chart["bin"] not in BINS:
        raise InvalidRequest(f"bin is one of {', '.join(BINS)}, not {chart['bin']!r}")
    if chart.get("mark") is not None and chart["mark"] not in MARKS:
        raise InvalidRequest(f"mark is one of {', '.join(MARKS)}, not {chart['mark']!r}")
    return {"x": chart["x"], "y": chart.get("y") or None, "agg": agg,
            "bin": chart.get("bin"), "color": chart.get("color") or None,
            "mark": chart.get("mark")}


def chart_request_of(saved: dict[str, Any] | None) -> dict[str, Any] | None:
    """The chart request of a saved query's chart: a request already, or a Charts page
    spec (``mark``, ``x``, ``y``, ``color``, ``aggregate``) put in request words.
    None when it says nothing a request can use (a projection, no x)."""
    if not saved or not saved.get("x"):
        return None
    if "aggregate" not in saved:
        return check_chart(saved)
    if saved.get("mark") not in _OLD_MARKS:
        return None
    y = saved.get("y") or None
    aggregate = saved.get("aggregate") or "none"
    # "none" drew each row's y: summing per x draws the same when x does not repeat
    agg = _OLD_AGGREGATES.get(aggregate, "sum") if y else "count"
    return {"x": saved["x"], "y": y, "agg": agg, "bin": None,
            "color": saved.get("color") or None, "mark": _OLD_MARKS[saved["mark"]]}
