"""The Vega-Lite (v6) spec of an aggregated chart, with its points inline.

Time axes are ``temporal`` on a UTC scale with UTC time units and formats, and their
values are ISO strings ending in ``Z``: a browser never shifts them by its own time zone.
Categorical axes keep the order of the rows (``sort: null``), and NULL is labelled NULL.
Line and area marks break at null points, so a missing time bin shows as a gap.
"""

from __future__ import annotations

from typing import Any

from orchestrator.results.charts.plan import NOMINAL, PATH_MARKS, TEMPORAL, Plan

SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json"
#: bin -> (Vega-Lite time unit, d3 axis format)
_TIME_AXES = {
    "hour": ("utcyearmonthdatehours", "%d %b %H:%M"),
    "day": ("utcyearmonthdate", "%d %b %Y"),
    "week": ("utcyearmonthdate", "%d %b %Y"),   # ISO weeks: the Monday they start on
    "month": ("utcyearmonth", "%b %Y"),
    "year": ("utcyear", "%Y"),
}
NULL_LABEL = "NULL"
#: a line marks each point while there are few enough to see them apart
_POINTS_ON_LINES = 400


def caption(plan: Plan) -> str:
    text = f"{plan.y_title} by {plan.x_title}"
    if plan.color_title is not None:
        text += f" and {plan.color_title}"
    return text


def vega_lite(plan: Plan, rows: list[list[Any]], color_order: list[Any],
              note: str | None) -> dict[str, Any]:
    nominal_x = plan.x_scale == NOMINAL
    x_null = _null_label([r[0] for r in rows]) if nominal_x else None
    c_null = _null_label([r[2] for r in rows]) if plan.color is not None else None
    records = []
    for row in rows:
        record = {"x": x_null if row[0] is None and nominal_x else row[0], "y": row[1]}
        if plan.color is not None:
            record["color"] = c_null if row[2] is None else row[2]
        records.append(record)

    x_enc = _x_encoding(plan)
    y_enc: dict[str, Any] = {"field": "y", "type": "quantitative", "title": plan.y_title}
    tooltip = [_tooltip(x_enc), {"field": "y", "type": "quantitative", "title": plan.y_title}]
    encoding: dict[str, Any] = {"x": x_enc, "y": y_enc}
    if plan.color is not None:
        legend = [c_null if c is None else c for c in color_order]
        encoding["color"] = {"field": "color", "type": "nominal", "title": plan.color_title,
                             "sort": legend}
        tooltip.append({"field": "color", "type": "nominal", "title": plan.color_title})
    encoding["tooltip"] = tooltip

    mark: dict[str, Any] = {"type": plan.mark}
    if plan.mark in PATH_MARKS:
        mark["invalid"] = "break-paths-show-domains"
        if plan.mark == "line" and len(rows) <= _POINTS_ON_LINES:
            mark["point"] = True
    title: dict[str, Any] = {"text": caption(plan)}
    if note:
        title["subtitle"] = note
    return {
        "$schema": SCHEMA,
        "description": caption(plan),
        "title": title,
        "width": "container",
        "data": {"values": records},
        "mark": mark,
        "encoding": encoding,
    }


def _x_encoding(plan: Plan) -> dict[str, Any]:
    enc: dict[str, Any] = {"field": "x", "type": plan.x_scale, "title": plan.x_title}
    if plan.x_scale == TEMPORAL:
        enc["scale"] = {"type": "utc"}
        if plan.bin is not None:
            unit, fmt = _TIME_AXES[plan.bin]
            enc["timeUnit"] = unit
            enc["axis"] = {"format": fmt, "formatType": "utc"}
        else:
            enc["axis"] = {"formatType": "utc"}
    elif plan.x_scale == NOMINAL:
        enc["sort"] = None        # the rows' order: first appearance in the result
        enc["axis"] = {"labelLimit": 200}
    else:
        enc["scale"] = {"zero": False}
    return enc


def _tooltip(x_enc: dict[str, Any]) -> dict[str, Any]:
    kept = ("field", "type", "title", "timeUnit")
    tip: dict[str, Any] = {k: x_enc[k] for k in kept if k in x_enc}
    if "axis" in x_enc and "format" in x_enc["axis"]:
        tip["format"] = x_enc["axis"]["format"]
        tip["formatType"] = "utc"
    return tip


def _null_label(values: list[Any]) -> str:
    """``NULL``, unless a real value is already the text NULL."""
    return "NULL (no value)" if NULL_LABEL in values else NULL_LABEL
