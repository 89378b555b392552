"""Charts over a stored result: exact aggregation over every row, and a Vega-Lite spec.

::

    chart(table, ChartRequest(x="rental_date", bin="month"))   # count of rows per month
    chart(table, ChartRequest(x="k", y="g", agg="sum"), filters=[ChartFilter(...)])
    suggest(table)                                              # a ChartRequest, or None

``table`` is the stored ``pyarrow.Table`` (field names are its unique Arrow names; a
column's original name works too). DuckDB aggregates over it in process, without copying;
at most ``max_points`` groups come back (the first ones, in the result's order for
categories, in time or value order otherwise), and ``note`` says when there were more.
Anything a user can get wrong is an :class:`engines.errors.InvalidRequest` in words.
"""

from __future__ import annotations

from collections.abc import Iterable

import pyarrow as pa

from engines.errors import InvalidRequest
from orchestrator.results.charts.plan import NOMINAL, plan_chart
from orchestrator.results.charts.query import aggregate
from orchestrator.results.charts.request import ChartData, ChartFilter, ChartRequest
from orchestrator.results.charts.spec import vega_lite
from orchestrator.results.charts.suggest import suggest

__all__ = ["MAX_POINTS", "ChartData", "ChartFilter", "ChartRequest", "chart", "suggest"]

#: no more points than this reach the browser
MAX_POINTS = 5_000


def chart(table: pa.Table, request: ChartRequest, *, filters: Iterable[ChartFilter] = (),
          max_points: int = MAX_POINTS) -> ChartData:
    if not isinstance(max_points, int) or max_points < 1:
        raise InvalidRequest("max_points must be a positive whole number")
    filters = tuple(filters)
    plan = plan_chart(table.schema, request)
    groups = aggregate(table, plan, filters, max_points)
    notes = []
    if groups.total_groups > len(groups.rows):
        notes.append(f"showing the first {len(groups.rows):,} of {groups.total_groups:,} "
                     "groups")
    rows = [[x, y, c] if plan.color is not None else [x, y] for x, y, c in groups.rows]
    if plan.x_scale != NOMINAL:
        # a time or number axis has no place for "no value": those rows are left out
        missing = [r for r in rows if r[0] is None]
        if missing:
            rows = [r for r in rows if r[0] is not None]
            notes.append(f"rows with no {plan.x_name} are not drawn")
    if groups.rows_used == 0:
        notes.append("no rows to chart" + (" after the filters" if filters else ""))
    note = "; ".join(notes) or None
    spec = vega_lite(plan, rows, groups.color_order, note)
    return ChartData(rows=rows, spec=spec, rows_used=groups.rows_used, columns=plan.columns,
                     note=note)
