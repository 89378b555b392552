"""What a chart asks for, and the one chart still drawn here: a vector column's projection.

Every other chart is computed on the server, exactly, over every row of the stored result
(``Orchestrator.chart_result``: DuckDB over the result's Arrow file), and comes back as
aggregated rows plus a Vega-Lite spec. This module only names the choices
(:class:`ChartChoice`, saved with a query) and, for vector search results, projects a page
of embeddings to two dimensions (PCA) for a scatter plot. Nothing here touches Streamlit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

MAX_CHART_ROWS = 5_000
AGGREGATES = ("count", "sum", "avg", "min", "max")
BINS = ("hour", "day", "week", "month", "year")
MARKS = ("bar", "line", "point", "area")
#: the client-side chart of a vector column (not a server chart mark)
PROJECTION = "projection"
NULL_LABEL = "NULL"
_LABELS = ("id", "ids", "document", "documents")
#: how charts saved before stored results named things
_OLD_AGGREGATES = {"mean": "avg", "median": "avg"}
_OLD_MARKS = {"scatter": "point"}


@dataclass
class ChartChoice:
    """The chart asked for; the keyword arguments of ``chart_result`` (``kwargs``) and what
    is saved with a query (``to_dict``). ``mark`` None lets the server pick;
    :data:`PROJECTION` is the 2-D projection of the vector column ``x``."""

    x: str | None = None
    y: str | None = None
    agg: str = "count"
    bin: str | None = None
    color: str | None = None
    mark: str | None = None
    title: str = ""

    @property
    def projection(self) -> bool:
        return self.mark == PROJECTION

    def kwargs(self) -> dict[str, Any]:
        """The arguments of ``Orchestrator.chart_result`` (after user and result id)."""
        return {"x": self.x, "y": self.y, "agg": self.agg, "bin": self.bin,
                "color": self.color, "mark": self.mark}

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChartChoice:
        """Also reads charts saved before stored results (``aggregate``, ``scatter``...)."""
        agg = data.get("agg")
        if agg is None:
            old = str(data.get("aggregate") or "none")
            agg = _OLD_AGGREGATES.get(old, old)
            if agg not in AGGREGATES:  # "none": each x drawn as it is, so add up its values
                agg = "sum" if data.get("y") else "count"
        mark = data.get("mark")
        mark = _OLD_MARKS.get(mark, mark) if isinstance(mark, str) else None
        return cls(x=data.get("x"), y=data.get("y"), agg=str(agg), bin=data.get("bin"),
                   color=data.get("color"), mark=mark, title=str(data.get("title") or ""))


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """The first two principal components of ``vectors`` (one row per point), via SVD."""
    if vectors.ndim != 2 or len(vectors) == 0:
        raise ValueError("need a non-empty 2-D array of vectors")
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    coords = centred @ vt[:2].T
    if coords.shape[1] < 2:  # a single point or a single dimension
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return coords


def _label(value: Any) -> str:
    """A colour or tooltip label: NULL (and NaN) as ``NULL``, never ``None``/``nan``."""
    if value is None or (isinstance(value, float) and value != value):
        return NULL_LABEL
    return str(value)


@dataclass
class Projection:
    frame: pd.DataFrame  # pc1, pc2, the colour column, labels
    color: str | None
    note: str


def project(frame: pd.DataFrame, x: str, color: str | None = None) -> Projection:
    """The vector column ``x`` projected to two dimensions (at most :data:`MAX_CHART_ROWS`
    points), with the colour column and labels for tooltips."""
    if x not in frame.columns:
        raise ValueError(f"there is no column {x!r} to project")
    data = frame[frame[x].map(lambda v: isinstance(v, list) and len(v) > 0)]
    if data.empty:
        raise ValueError(f"column {x!r} holds no vectors")
    data = data.head(MAX_CHART_ROWS)
    lengths = data[x].map(len)
    data = data[lengths == lengths.mode().iloc[0]]
    coords = pca_2d(np.array(data[x].tolist(), dtype=float))
    out = pd.DataFrame({"pc1": coords[:, 0], "pc2": coords[:, 1]})
    color = color if color in frame.columns and color != x else None
    if color:
        out[color] = data[color].map(_label).to_numpy()
    for label in _LABELS:
        if label in data.columns and label != color:
            out[label] = data[label].map(_label).str.slice(0, 80).to_numpy()
    note = f"PCA projection of {len(out):,} vectors of dimension {lengths.iloc[0]}."
    return Projection(out, color, note)


def projection_chart(projection: Projection, title: str = "") -> alt.Chart:
    """A scatter plot of the projection, coloured as asked."""
    data = projection.frame
    enc: dict[str, Any] = {"x": alt.X("pc1", type="quantitative"),
                           "y": alt.Y("pc2", type="quantitative")}
    if projection.color:
        enc["color"] = alt.Color(projection.color, type="nominal")
    enc["tooltip"] = [alt.Tooltip(c, type="quantitative" if c in ("pc1", "pc2") else "nominal")
                      for c in data.columns[:8]]
    chart = alt.Chart(data, title=title or alt.Undefined).mark_circle(opacity=0.7)
    return chart.encode(**enc).interactive()
