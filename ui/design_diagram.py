"""The Design page's diagram of the working design: one box per table, one line per
foreign key, drawn with Altair so a click on a box opens that table in the form.

Tables are laid out in columns by their foreign keys: a table sits one column right of
every table it references (a cycle or a self-reference does not move it further), so
the lines run left to right from the referenced key to the referencing table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import altair as alt
import pandas as pd

from orchestrator.design.model import Design

#: the selection a click makes (its value: the clicked box's table)
PICK = "pick"
BOX_W, BOX_H, GAP_X, GAP_Y = 1.0, 0.6, 0.6, 0.3


def columns_of(design: Design) -> dict[str, int]:
    """Each table's column of the layout: 0 for a table referencing no other table, else
    one more than the furthest table it references."""
    names = {t.name for t in design.tables}
    refs = {t.name: {fk.ref_table for fk in t.foreign_keys
                     if fk.ref_table in names and fk.ref_table != t.name}
            for t in design.tables}
    place = dict.fromkeys(names, 0)
    for _ in range(len(names)):  # longest path, bounded: a cycle stops growing here
        moved = False
        for name, targets in refs.items():
            want = max((place[r] + 1 for r in targets), default=0)
            if want > place[name] and want < len(names):
                place[name], moved = want, True
        if not moved:
            break
    return place


def boxes(design: Design) -> pd.DataFrame:
    """One row per table: its box's corners, its label and what the tooltip shows."""
    place = columns_of(design)
    rows: list[dict[str, Any]] = []
    filled: dict[int, int] = {}
    for table in design.tables:
        column = place[table.name]
        row = filled.get(column, 0)
        filled[column] = row + 1
        x, y = column * (BOX_W + GAP_X), row * (BOX_H + GAP_Y)
        rows.append({"table": table.name, "x": x, "x2": x + BOX_W, "y": y, "y2": y + BOX_H,
                     "cx": x + BOX_W / 2, "cy": y + BOX_H / 2,
                     "columns": len(table.columns),
                     "key": ", ".join(table.primary_key) or "(no primary key)"})
    return pd.DataFrame(rows, columns=["table", "x", "x2", "y", "y2", "cx", "cy",
                                       "columns", "key"])


def lines(design: Design, placed: pd.DataFrame) -> pd.DataFrame:
    """One row per foreign key between two drawn tables: from the referenced box's right
    edge to the referencing box's left edge."""
    at = {r["table"]: r for r in placed.to_dict("records")}
    rows = []
    for table in design.tables:
        for fk in table.foreign_keys:
            if fk.ref_table not in at or fk.ref_table == table.name:
                continue
            ref, child = at[fk.ref_table], at[table.name]
            rows.append({"x": ref["x2"], "y": ref["cy"], "x2": child["x"], "y2": child["cy"],
                         "fk": f"{table.name}({', '.join(fk.columns)}) → "
                               f"{fk.ref_table}({', '.join(fk.ref_columns)})"})
    return pd.DataFrame(rows, columns=["x", "y", "x2", "y2", "fk"])


def chart(design: Design) -> alt.LayerChart:
    """The clickable diagram (selection :data:`PICK` on the ``table`` field)."""
    placed = boxes(design)
    span_x = float(placed["x2"].max()) if len(placed) else BOX_W
    span_y = float(placed["y2"].max()) if len(placed) else BOX_H
    x = alt.X("x:Q", axis=None, scale=alt.Scale(domain=[-0.1, span_x + 0.1]))
    y = alt.Y("y:Q", axis=None, scale=alt.Scale(domain=[-0.1, span_y + 0.1], reverse=True))
    pick = alt.selection_point(name=PICK, fields=["table"], on="click", clear="dblclick")
    edge = alt.Chart(lines(design, placed)).mark_rule(color="#5577aa").encode(
        x=x, y=y, x2="x2:Q", y2="y2:Q", tooltip=alt.Tooltip("fk:N", title="foreign key"))
    box = alt.Chart(placed).mark_rect(stroke="#5577aa", cornerRadius=4, cursor="pointer").encode(
        x=x, y=y, x2="x2:Q", y2="y2:Q",
        color=alt.condition(pick, alt.value("#b9cfea"), alt.value("#eef3f9"), empty=False),
        tooltip=["table:N", "columns:Q", alt.Tooltip("key:N", title="primary key")],
    ).add_params(pick)
    label = alt.Chart(placed).mark_text(fontWeight="bold", fontSize=11).encode(
        x="cx:Q", y="cy:Q", text="table:N")
    width = int(120 * (span_x + 0.2))
    height = int(90 * (span_y + 0.2))
    return alt.LayerChart(layer=[edge, box, label], width=width, height=height)


def picked(event: Any) -> str | None:
    """The table a click on the diagram picked (``st.altair_chart``'s answer), if any."""
    # Streamlit's answer is a dict that also reads as attributes
    selection = (event.get("selection") if isinstance(event, Mapping) else None) or {}
    points = selection.get(PICK) or []
    if not points:
        return None
    table = points[0].get("table")
    return str(table) if table is not None else None
