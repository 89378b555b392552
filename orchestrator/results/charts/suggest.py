"""The chart a result most likely wants, from its column types (and a few name hints).

- a date or timestamp (or text that reads as ISO 8601 dates, as SQLite and JSON keep them),
  with nothing to measure or with a count: a line of the count per
  month (per day under ~3 months of data, per hour under ~3 days); a count column is
  summed, other measures are summed (averaged when the name says it is an average);
- a category and a number: bars of the number's sum per category;
- two numbers: points;
- only a category: bars counting rows.

Identifiers (``id``, ``customer_id``...) are not measures, and vectors are never x or y.
"""

from __future__ import annotations

import datetime as dt
import re

import pyarrow as pa
import pyarrow.compute as pc

from orchestrator.results.charts.request import ChartRequest, Kind, kind_of

_DAY = dt.timedelta(days=1)
_AVERAGE_WORDS = frozenset({"avg", "average", "mean", "median", "ratio", "rate", "pct",
                            "percent", "percentage", "share", "per"})
_COUNT_WORDS = frozenset({"count", "cnt", "n", "num", "total", "qty", "quantity", "freq",
                          "frequency"})
_ID_WORDS = frozenset({"id", "uuid", "key", "pk", "fk", "code", "zip", "phone"})
_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
                  r"(Z|[+-]\d{2}(:?\d{2})?)?)?$")
#: how many values of a text column are read to tell whether it holds dates
_SAMPLE = 50


def suggest(table: pa.Table) -> ChartRequest | None:
    if table.num_rows == 0:
        return None
    times, numbers, categories = [], [], []
    for fld in table.schema:
        kind = kind_of(fld.type)
        if kind is Kind.TEMPORAL or (kind is Kind.TEXT and _iso_text(table, fld.name)):
            times.append(fld.name)
        elif kind is Kind.NUMBER and not _words(fld.name) & _ID_WORDS:
            numbers.append(fld.name)
        elif kind in (Kind.TEXT, Kind.BOOL):
            categories.append(fld.name)
    if times:
        x = times[0]
        counts = [n for n in numbers if _is_count(n)]
        measure = counts[0] if counts else (numbers[0] if numbers else None)
        return ChartRequest(x=x, y=measure, agg=_agg(measure), bin=_time_bin(table, x),
                            mark="line")
    if categories and numbers:
        return ChartRequest(x=categories[0], y=numbers[0], agg=_agg(numbers[0]), mark="bar")
    if len(numbers) >= 2:
        return ChartRequest(x=numbers[0], y=numbers[1], agg=_agg(numbers[1], "avg"),
                            mark="point")
    if categories:
        return ChartRequest(x=categories[0], agg="count", mark="bar")
    return None


def _agg(measure: str | None, otherwise: str = "sum") -> str:
    if measure is None:
        return "count"
    if _is_average(measure):
        return "avg"
    return "sum" if _is_count(measure) else otherwise


def _iso_text(table: pa.Table, name: str) -> bool:
    """Text whose first values (and its least and greatest) read as ISO 8601 dates."""
    column = table.column(name).drop_null()
    if len(column) == 0:
        return False
    bounds = pc.min_max(column)
    values = [*column.slice(0, _SAMPLE).to_pylist(), bounds["min"].as_py(),
              bounds["max"].as_py()]
    return all(isinstance(v, str) and _ISO.match(v) for v in values)


def _moment(value: object) -> object:
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
        except ValueError:
            return None
    return value


def _time_bin(table: pa.Table, name: str) -> str:
    """month; day when the data spans under ~3 months; hour under ~3 days."""
    column = table.column(name)
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        column = column.cast(pa.timestamp(column.type.unit))
    bounds = pc.min_max(column)
    low, high = _moment(bounds["min"].as_py()), _moment(bounds["max"].as_py())
    if not isinstance(low, dt.date) or not isinstance(high, dt.date):
        return "month"
    start = low if isinstance(low, dt.datetime) else dt.datetime.combine(low, dt.time())
    end = high if isinstance(high, dt.datetime) else dt.datetime.combine(high, dt.time())
    span: dt.timedelta = end - start
    if span < 3 * _DAY:
        return "hour"
    if span < 92 * _DAY:
        return "day"
    return "month"


def _words(name: str) -> set[str]:
    """``avgLength`` and ``avg_length`` both give ``{"avg", "length"}``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w}


def _is_average(name: str) -> bool:
    return bool(_words(name) & _AVERAGE_WORDS)


def _is_count(name: str) -> bool:
    return bool(_words(name) & _COUNT_WORDS) and not _is_average(name)
