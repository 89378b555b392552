"""A chart of a stored result in Streamlit: its controls, the server's chart, the words
when it cannot be drawn.

The server aggregates every stored row (``Orchestrator.chart_result``) and returns the
rows with a Vega-Lite spec, drawn here as it is. Only a vector column's 2-D projection is
computed here, over the stored result's first :data:`ui.charts.MAX_CHART_ROWS` rows.
Shared by the Charts page and the Playground.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from engines.errors import DBPlayError
from engines.result import StatementResult
from ui import feedback, session
from ui.charts import (
    AGGREGATES,
    BINS,
    MARKS,
    MAX_CHART_ROWS,
    PROJECTION,
    ChartChoice,
    project,
    projection_chart,
)
from ui.frames import column_kinds, typed_frame, unique_names

SUGGESTED = "chart_suggested"
SVG_POINTS = 2_000  # Streamlit draws bigger charts on a canvas
_LABELS = ("id", "ids", "document", "documents")
CANNOT_DRAW = "Pick other columns, another aggregate or another chart type."
_AUTO = "(auto)"
_NONE = "(none)"


def fields_of(result: StatementResult) -> list[str]:
    """The names a chart asks for: the result's column names, a repeated name as
    ``name_2``, ``name_3``... (the stored result's Arrow field names)."""
    return unique_names([c.name for c in result.columns])


@dataclass
class FirstPage:
    """What the first page tells about a result: its vector columns (embeddings) and the
    columns a projection can be coloured by (documents flattened: ``metadata.kind``)."""

    vectors: list[str]
    colours: list[str]
    colour: str | None  # the one to start with: few distinct values, metadata first


def first_page(result: StatementResult) -> FirstPage:
    if not result.rows:
        return FirstPage([], [], None)
    frame = typed_frame(result)
    kinds = column_kinds(frame)
    vectors = [name for name, kind in kinds.items() if kind == "vector"]
    colours = [name for name, kind in kinds.items() if kind in ("category", "number")]
    ranked = sorted((c for c in colours if c.lower() not in _LABELS),
                    key=lambda c: (not c.startswith("metadata"), frame[c].nunique()))
    colour = next((c for c in ranked if 1 < frame[c].nunique() <= 20), None)
    return FirstPage(vectors, colours, colour)


def suggestion(user: str, result_id: str, page: FirstPage) -> ChartChoice:
    """The chart to start with: a vector column's projection, else the server's suggestion
    for the stored result (asked once per result)."""
    if page.vectors:
        return ChartChoice(x=page.vectors[0], color=page.colour, mark=PROJECTION)
    cache: dict[str, dict[str, Any] | None] = st.session_state.setdefault(SUGGESTED, {})
    if result_id not in cache:
        cache[result_id] = session.orchestrator().suggest_chart(user, result_id)
    return ChartChoice.from_dict(cache[result_id] or {})


def _pick(label: str, options: list[Any], current: Any, key: str, empty: str = _NONE) -> Any:
    index = options.index(current) if current in options else 0
    return st.selectbox(label, options, index=index, key=key,
                        format_func=lambda o: empty if o is None else str(o))


def controls(fields: list[str], page: FirstPage, choice: ChartChoice, key: str) -> ChartChoice:
    """x / y / aggregate / time bin / colour / chart type, starting from ``choice``;
    widget keys start with ``key`` (give each stored result its own)."""
    plain = [f for f in fields if f not in page.vectors]
    marks: list[str | None] = [None, *MARKS] + ([PROJECTION] if page.vectors else [])
    mark_c, x_c, y_c, agg_c, bin_c, color_c = st.columns(6)
    with mark_c:
        mark = _pick("Chart type", marks, choice.mark, f"{key}_mark", empty=_AUTO)
    if mark == PROJECTION:
        with x_c:
            x = _pick("Vectors", page.vectors, choice.x, f"{key}_vx")
        with color_c:
            color = _pick("Colour", [None, *page.colours], choice.color, f"{key}_pcolor")
        return ChartChoice(x=x, color=color, mark=PROJECTION, title=choice.title)
    with x_c:
        x = _pick("X", plain, choice.x, f"{key}_x")
    with y_c:
        y = _pick("Y", [None, *plain], choice.y, f"{key}_y")
    with agg_c:
        agg = _pick("Aggregate", list(AGGREGATES), choice.agg, f"{key}_agg")
    with bin_c:
        bin_ = _pick("Time bin", [None, *BINS], choice.bin, f"{key}_bin")
    with color_c:
        color = _pick("Colour", [None, *plain], choice.color, f"{key}_color")
    return ChartChoice(x=x, y=y, agg=agg, bin=bin_, color=color, mark=mark, title=choice.title)


def chart_data(user: str, result_id: str, choice: ChartChoice,
               filters: list[dict[str, Any]] | None = None) -> dict[str, Any] | None:
    """The server's chart of the stored result, or None after saying why it cannot be
    drawn (in words: the server's InvalidRequest message, never a traceback)."""
    try:
        data: dict[str, Any] = session.orchestrator().chart_result(
            user, result_id, **choice.kwargs(), filters=filters)
    except DBPlayError as exc:
        feedback.show_error(exc, hint=f"Cannot draw this chart. {CANNOT_DRAW}")
        return None
    return data


def draw(data: dict[str, Any], key: str, title: str = "") -> None:
    """Draw a ``chart_result`` output (its Vega-Lite spec, data inline) and what it covers."""
    spec = dict(data["spec"])
    if title and "title" not in spec:
        spec["title"] = title
    if len(data.get("rows") or []) <= SVG_POINTS:
        # SVG: axis labels are text a screen reader (or a browser test) can read
        meta = dict(spec.get("usermeta") or {})
        meta["embedOptions"] = {"renderer": "svg", **dict(meta.get("embedOptions") or {})}
        spec["usermeta"] = meta
    st.vega_lite_chart(spec, key=key, width="stretch")
    used = data.get("rows_used")
    words = [f"{len(data.get('rows') or []):,} points from {used:,} rows, aggregated on "
             "the server."] if used is not None else []
    if data.get("note"):
        words.append(str(data["note"]))
    if words:
        st.caption(" ".join(words))


def draw_projection(user: str, result: StatementResult, choice: ChartChoice, key: str) -> bool:
    """The 2-D projection of ``choice.x`` over the stored result's first rows (the first
    page when the result was not stored)."""
    rows = StatementResult.from_dict(result.to_dict())
    more = rows.truncated or (rows.total_rows or 0) > len(rows.rows)
    if rows.result_id and more:
        with feedback.guard():
            page = session.orchestrator().page_result(user, rows.result_id, 0, MAX_CHART_ROWS)
            rows.rows = page["rows"]
    try:
        projection = project(typed_frame(rows), str(choice.x), choice.color)
    except ValueError as exc:
        st.warning(f"Cannot draw this projection: {exc}. {CANNOT_DRAW}")
        return False
    st.altair_chart(projection_chart(projection, choice.title), width="stretch", key=key)
    st.caption(projection.note)
    return True
