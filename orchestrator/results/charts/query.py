"""The aggregation itself: one DuckDB query over the stored Arrow table, every row read.

The table is registered with DuckDB as is (zero copy) plus one column, the row's position,
so categorical groups can keep the order they first appear in (the result's ORDER BY).
Time is binned in UTC with ``date_trunc`` (``week`` starts on Monday, ISO). For line and
area charts the bins missing between a series' first and last are added with a null y.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from engines.errors import InvalidRequest
from orchestrator.results.charts.filters import quote, where_clause
from orchestrator.results.charts.plan import NOMINAL, Plan
from orchestrator.results.charts.request import ChartFilter, Kind

log = logging.getLogger(__name__)

_TABLE = "chart_input"
#: bin -> the interval between two bins (fixed text, never from a request)
_STEPS = {"hour": "INTERVAL 1 HOUR", "day": "INTERVAL 1 DAY", "week": "INTERVAL 7 DAY",
          "month": "INTERVAL 1 MONTH", "year": "INTERVAL 1 YEAR"}


class _Database:
    """One in-memory DuckDB per process, made on first use; a session (cursor) per chart,
    so a chart's registered table is seen by no other. A forked child makes its own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner: tuple[int, duckdb.DuckDBPyConnection] | None = None

    def session(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._owner is None or self._owner[0] != os.getpid():
                self._owner = (os.getpid(), duckdb.connect(":memory:"))
            cursor = self._owner[1].cursor()
        cursor.execute("SET TimeZone = 'UTC'")
        cursor.execute("SET enable_progress_bar = false")
        return cursor


_DATABASE = _Database()


@dataclass
class Groups:
    """The aggregated groups, in drawing order, at most ``max_points`` of them."""

    rows: list[tuple[Any, Any, Any]]   # (x, y, color); x of a time axis is ISO text
    total_groups: int                  # before the max_points cut
    rows_used: int                     # stored rows read after filters
    color_order: list[Any]             # colors by first appearance in the table


def aggregate(table: pa.Table, plan: Plan, filters: Iterable[ChartFilter],
              max_points: int) -> Groups:
    where, params = where_clause(table.schema, filters)
    row_col = _free_name(table.schema, "__dbplay_row")
    indexed = table.append_column(row_col, pa.array(np.arange(table.num_rows, dtype=np.int64)))
    params["cap"] = max_points
    con = _DATABASE.session()
    try:
        con.register(_TABLE, indexed)
        if plan.bin is not None and plan.x_kind is Kind.TEXT:
            _check_times(con, plan)
        sql = _sql(plan, where, row_col)
        fetched = con.execute(sql, params).fetchall()
    except duckdb.Error as exc:
        log.warning("chart query failed: %s", exc)
        raise InvalidRequest("this chart could not be computed from the stored result; "
                             "try another column or aggregation") from None
    finally:
        con.close()
    rows = [(_cell(x), _cell(y), _cell(c)) for x, c, y, _co, _groups, _used in fetched]
    total = int(fetched[0][4]) if fetched else 0
    used = int(fetched[0][5] or 0) if fetched else 0
    first_seen: dict[str, tuple[int, Any]] = {}
    for _x, c, _y, co, _g, _u in fetched:
        first_seen.setdefault(repr(c), (co if co is not None else table.num_rows, _cell(c)))
    order = [c for _co, c in sorted(first_seen.values(), key=lambda seen: seen[0])]
    return Groups(rows=rows, total_groups=total, rows_used=used, color_order=order)


def _x_expr(plan: Plan) -> str:
    col = quote(plan.x.name)
    if plan.x_kind is Kind.TEXT and plan.bin is not None:
        moment = f"(TRY_CAST({col} AS TIMESTAMPTZ) AT TIME ZONE 'UTC')"
    elif plan.x_kind is Kind.TEMPORAL:
        aware = pa.types.is_timestamp(plan.x.type) and plan.x.type.tz is not None
        moment = f"({col} AT TIME ZONE 'UTC')" if aware else col
    else:
        return col
    if plan.bin is not None:
        moment = f"date_trunc('{plan.bin}', {moment})"
    return f"CAST({moment} AS TIMESTAMP)"


def _agg_expr(plan: Plan) -> str:
    if plan.y is None:
        return "count(*)"
    floating = pa.types.is_floating(plan.y.type)
    return {"count": "count(v)", "sum": "fsum(v)" if floating else "sum(v)",
            "avg": "favg(v)" if floating else "avg(v)", "min": "min(v)",
            "max": "max(v)"}[plan.agg]


def _sql(plan: Plan, where: str, row_col: str) -> str:
    color = quote(plan.color.name) if plan.color is not None else "NULL"
    value = quote(plan.y.name) if plan.y is not None else "NULL"
    head = f"""
        WITH base AS (
            SELECT {_x_expr(plan)} AS x, {color} AS c, {value} AS v, {quote(row_col)} AS r
            FROM {_TABLE} WHERE {where}
        ), grouped AS (
            SELECT x, c, {_agg_expr(plan)} AS y, count(*) AS n, min(r) AS o
            FROM base GROUP BY x, c
        )"""
    if plan.fills_gaps:
        assert plan.bin is not None
        step = _STEPS[plan.bin]
        return head + f""", ranges AS (
            SELECT c, min(x) AS lo, max(x) AS hi FROM grouped WHERE x IS NOT NULL GROUP BY c
        ), series AS (
            SELECT c, unnest(generate_series(lo, least(hi, lo + $cap * {step}), {step})) AS x
            FROM ranges
        ), filled AS (
            SELECT s.x, s.c, g.y, coalesce(g.n, 0) AS n, g.o
            FROM series s LEFT JOIN grouped g ON g.x = s.x AND g.c IS NOT DISTINCT FROM s.c
            UNION ALL SELECT x, c, y, n, o FROM grouped WHERE x IS NULL
        ), total AS (
            SELECT coalesce(sum(date_diff('{plan.bin}', lo, hi) + 1), 0)
                   + (SELECT count(*) FROM grouped WHERE x IS NULL) AS groups FROM ranges
        )
        SELECT x, c, y, min(o) OVER (PARTITION BY c) AS co, (SELECT groups FROM total),
               sum(n) OVER () AS used
        FROM filled ORDER BY x NULLS LAST, co NULLS LAST LIMIT $cap"""
    order = "xo, co" if plan.x_scale == NOMINAL else "x NULLS LAST, co"
    # first appearance of each color, and of each x across colors (one group per x
    # without a color: its own first row then)
    firsts = ("min(o) OVER (PARTITION BY c) AS co, min(o) OVER (PARTITION BY x) AS xo"
              if plan.color is not None else "NULL AS co, o AS xo")
    return head + f"""
        SELECT x, c, y, co, groups, used FROM (
            SELECT x, c, y, {firsts}, count(*) OVER () AS groups, sum(n) OVER () AS used
            FROM grouped)
        ORDER BY {order} LIMIT $cap"""


def _check_times(con: duckdb.DuckDBPyConnection, plan: Plan) -> None:
    """A text x binned by time: every non-null value must read as an ISO timestamp."""
    col = quote(plan.x.name)
    bad = con.execute(
        f"SELECT {col} FROM {_TABLE} WHERE {col} IS NOT NULL "
        f"AND TRY_CAST({col} AS TIMESTAMPTZ) IS NULL LIMIT 1").fetchone()
    if bad is not None:
        sample = str(bad[0])
        sample = sample if len(sample) <= 40 else sample[:37] + "..."
        raise InvalidRequest(f"column {plan.x_name} is not a date or time "
                             f"({sample!r} is not one), so it cannot be grouped by {plan.bin}")


def iso(moment: dt.datetime) -> str:
    """UTC ISO-8601 with a ``Z``, so no browser shifts it by its own time zone."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _cell(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return iso(value)
    if isinstance(value, dt.date):
        return iso(dt.datetime.combine(value, dt.time()))
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _free_name(schema: pa.Schema, wanted: str) -> str:
    name = wanted
    while name in schema.names:
        name += "_"
    return name
