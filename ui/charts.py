"""Charts from query results: which chart fits, shrinking big results, and Altair specs.

Nothing here touches Streamlit. The rule that matters: a chart never ships more than
:data:`MAX_CHART_ROWS` points to the browser. Bigger inputs are aggregated here, in
pandas on the server (grouped by category, bucketed by time or value, or binned on a 2-D
grid for scatter plots), before the Altair spec is built.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

import altair as alt
import numpy as np
import pandas as pd

from ui.frames import column_kinds

MAX_CHART_ROWS = 5_000
MARKS = ("bar", "line", "area", "scatter", "projection")
AGGREGATES = ("none", "count", "sum", "mean", "median", "min", "max")
COUNT = "count"
_TIME_BUCKETS = 500
_VALUE_BUCKETS = 200
_GRID = 70
_MANY_GROUPS = 50
#: measures where smaller is better: bars sorted ascending (nearest hit first)
_ASCENDING = ("distance",)


@dataclass
class ChartSpec:
    """What to draw; saved with a query (``save_query(chart=spec.to_dict())``).

    ``mark`` ``projection`` draws the 2-D PCA projection of the vector column ``x``,
    coloured by ``color``.
    """

    mark: str
    x: str | None = None
    y: str | None = None
    color: str | None = None
    aggregate: str = "none"
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ChartSpec:
        known = {k: data[k] for k in ("mark", "x", "y", "color", "aggregate", "title") if k in data}
        return cls(**known)


_AVERAGE_WORDS = frozenset({"avg", "average", "mean", "median", "ratio", "rate", "pct",
                            "percent", "percentage", "share", "per"})
_COUNT_WORDS = frozenset({"count", "cnt", "n", "num", "number", "nb", "total", "qty",
                          "quantity", "freq", "frequency"})


def _words(name: str) -> set[str]:
    """``avgLength`` and ``avg_length`` both give ``{"avg", "length"}``."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {w for w in re.split(r"[^A-Za-z0-9]+", spaced.lower()) if w}


def _is_average(name: str) -> bool:
    """Averages, ratios, rates and percentages: adding them up means nothing."""
    return bool(_words(name) & _AVERAGE_WORDS)


def _is_count(name: str) -> bool:
    return bool(_words(name) & _COUNT_WORDS) and not _is_average(name)


def _measure(measures: list[str]) -> str:
    """The y column: a count, else the first number that is not an average, else the
    first number."""
    counts = [m for m in measures if _is_count(m)]
    plain = [m for m in measures if not _is_average(m)]
    return (counts or plain or measures)[0]


def _looks_like_id(name: str) -> bool:
    lowered = name.lower()
    return lowered == "id" or lowered.endswith("id") or lowered.endswith("_id")


_LABELS = ("id", "ids", "document", "documents")


def _colour_field(frame: pd.DataFrame, categories: list[str]) -> str | None:
    """A metadata field worth colouring by: few distinct values, not an id or a text."""
    candidates = [c for c in categories if c.lower() not in _LABELS]
    candidates.sort(key=lambda c: (not c.startswith("metadata"), frame[c].nunique()))
    # one colour per row (a command name per search hit) tells nothing: colours should group
    def groups(column: str) -> bool:
        distinct = frame[column].nunique()
        return 1 < distinct <= 20 and not (distinct == len(frame) and len(frame) > 5)

    return next((c for c in candidates if groups(c)), None)


def _axis_categories(frame: pd.DataFrame, categories: list[str]) -> list[str]:
    """Categories in the order they make good x axes: ids and near-unique text (URLs,
    names, addresses) last, so a bar chart gets groups rather than one bar per row."""
    def rank(column: str) -> tuple[bool, bool]:
        distinct = frame[column].nunique()
        spread = distinct > _MANY_GROUPS or (distinct == len(frame) and len(frame) > 12)
        return _looks_like_id(column), spread

    return sorted(categories, key=rank)


def _search_hits(frame: pd.DataFrame, kinds: dict[str, str]) -> ChartSpec | None:
    """A vector search result (Chroma ``query``): each hit's distance, nearest first."""
    if kinds.get("distance") != "number":
        return None
    label = next((c for c in ("id", "document") if kinds.get(c) == "category"), None)
    if label is None:
        return None
    cats = [c for c, k in kinds.items() if k == "category"]
    color = "query" if "query" in frame.columns else _colour_field(frame, cats)
    return ChartSpec("bar", x=label, y="distance", color=color)


def suggest_chart(frame: pd.DataFrame) -> ChartSpec:
    """Time and a number: line; a category and a number: bar; two numbers: scatter;
    a vector column: its 2-D projection; vector search hits: distance per hit."""
    kinds = column_kinds(frame)
    by_kind: dict[str, list[str]] = {}
    for name, kind in kinds.items():
        by_kind.setdefault(kind, []).append(name)
    times = by_kind.get("time", [])
    cats = _axis_categories(frame, by_kind.get("category", []))
    numbers = by_kind.get("number", [])
    measures = [n for n in numbers if not _looks_like_id(n)] or numbers
    if by_kind.get("vector"):
        return ChartSpec("projection", x=by_kind["vector"][0], color=_colour_field(frame, cats))
    hits = _search_hits(frame, kinds)
    if hits is not None:
        return hits
    if times and measures:
        return ChartSpec("line", x=times[0], y=_measure(measures))
    if cats and measures:
        # one row per category: draw the values as they are; otherwise add up counts and
        # amounts, but average averages (a sum of averages means nothing)
        y = _measure(measures)
        how = "none" if not frame[cats[0]].duplicated().any() else (
            "mean" if _is_average(y) else "sum")
        return ChartSpec("bar", x=cats[0], y=y, aggregate=how)
    if len(numbers) >= 2:
        x, y = (measures + [n for n in numbers if n not in measures])[:2]
        return ChartSpec("scatter", x=x, y=y)
    if cats:
        return ChartSpec("bar", x=cats[0], aggregate="count")
    if numbers:
        return ChartSpec("bar", x=numbers[0], aggregate="count")
    if times:
        return ChartSpec("line", x=times[0], aggregate="count")
    return ChartSpec("bar")


@dataclass
class PreparedData:
    frame: pd.DataFrame
    y: str | None  # the column holding the measure after aggregation
    note: str | None = None  # what was done to the data, for the user
    binned: bool = False  # scatter points carry a ``count`` size


def _group(
    frame: pd.DataFrame, keys: list[str], y: str | None, how: str
) -> tuple[pd.DataFrame, str]:
    grouped = frame.groupby(keys, dropna=False, sort=True)
    if how == "count" or y is None:
        return grouped.size().reset_index(name=COUNT), COUNT
    values = grouped[y].agg(how).reset_index()
    return values, y


def _bucket(series: pd.Series, buckets: int) -> pd.Series:
    """Each value replaced by the start of its bucket (equal-width buckets)."""
    if pd.api.types.is_datetime64_any_dtype(series):
        ns = series.astype("int64")
        low, high = ns.min(), ns.max()
        width = max((high - low) // buckets, 1)
        return pd.to_datetime(low + (ns - low) // width * width)
    low, high = float(series.min()), float(series.max())
    width = (high - low) / buckets or 1.0
    return low + np.floor((series - low) / width) * width


def _grid(frame: pd.DataFrame, x: str, y: str, color: str | None) -> pd.DataFrame:
    """Two numeric columns binned on a grid: one point per non-empty cell, with a count."""
    cells = pd.DataFrame({x: _bucket(frame[x], _GRID), y: _bucket(frame[y], _GRID)})
    keys = [x, y]
    if color:
        cells[color] = frame[color].astype(str)
        keys.append(color)
    return cells.groupby(keys, sort=False).size().reset_index(name=COUNT)


def prepare(frame: pd.DataFrame, spec: ChartSpec) -> PreparedData:
    """The data to draw: aggregated as asked, and never more than MAX_CHART_ROWS rows."""
    if spec.mark == "projection":
        raise ValueError("use project() for vector projections")
    if spec.x is None or spec.x not in frame.columns:
        raise ValueError("pick a column for the x axis")
    y = spec.y if spec.y in frame.columns else None
    color = spec.color if spec.color in frame.columns else None
    keys = [spec.x] + ([color] if color else [])
    data = frame.dropna(subset=[spec.x])
    original = len(data)
    if spec.aggregate != "none":
        data, y = _group(data, keys, y, spec.aggregate)
    if len(data) <= MAX_CHART_ROWS:
        return PreparedData(data, y)

    kinds = column_kinds(data)
    if spec.mark == "scatter" and y is not None and kinds.get(spec.x) == kinds.get(y) == "number":
        data = _grid(data.dropna(subset=[y]), spec.x, y, color)
        return PreparedData(
            data, y, f"{original:,} rows binned on a {_GRID}x{_GRID} grid on the server "
            f"({len(data):,} cells; point size = rows per cell).", binned=True
        )
    how = spec.aggregate if spec.aggregate not in ("none",) else ("mean" if y else "count")
    bucketed = data.copy()
    if kinds.get(spec.x) in ("time", "number"):
        buckets = _TIME_BUCKETS if kinds[spec.x] == "time" else _VALUE_BUCKETS
        bucketed[spec.x] = _bucket(bucketed[spec.x], buckets)
    if how == "count" and y == COUNT:
        how = "sum"  # counts already made: add them up per bucket
    data, y = _group(bucketed, keys, y, how)
    note = f"{original:,} rows aggregated on the server ({how} per {spec.x}) into {len(data):,}."
    if len(data) > MAX_CHART_ROWS:
        data = data.nlargest(MAX_CHART_ROWS, y)
        note += f" Showing the top {MAX_CHART_ROWS:,} by {y}."
    return PreparedData(data, y, note)


def pca_2d(vectors: np.ndarray) -> np.ndarray:
    """The first two principal components of ``vectors`` (one row per point), via SVD."""
    if vectors.ndim != 2 or len(vectors) == 0:
        raise ValueError("need a non-empty 2-D array of vectors")
    centred = vectors - vectors.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    components = vt[:2]
    coords = centred @ components.T
    if coords.shape[1] < 2:  # a single point or a single dimension
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return coords


def project(frame: pd.DataFrame, spec: ChartSpec) -> PreparedData:
    """The vector column ``spec.x`` projected to two dimensions, with labels for tooltips."""
    if spec.x is None or spec.x not in frame.columns:
        raise ValueError("no vector column to project")
    data = frame[frame[spec.x].map(lambda v: isinstance(v, list) and len(v) > 0)]
    if data.empty:
        raise ValueError(f"column {spec.x!r} holds no vectors")
    lengths = data[spec.x].map(len)
    data = data[lengths == lengths.mode().iloc[0]]
    coords = pca_2d(np.array(data[spec.x].tolist(), dtype=float))
    out = pd.DataFrame({"pc1": coords[:, 0], "pc2": coords[:, 1]})
    color = spec.color if spec.color in frame.columns else None
    if color:
        out[color] = data[color].astype(str).to_numpy()
    for label in _LABELS:
        if label in data.columns:
            out[label] = data[label].astype(str).str.slice(0, 80).to_numpy()
    note = f"PCA projection of {len(out):,} vectors of dimension {lengths.iloc[0]}."
    if len(out) > MAX_CHART_ROWS:
        out = _grid(out, "pc1", "pc2", color)
        note += f" Binned on the server into {len(out):,} cells."
        return PreparedData(out, "pc2", note, binned=True)
    return PreparedData(out, "pc2", note)


EncodingType = Literal["quantitative", "temporal", "nominal"]


def _encoding_type(frame: pd.DataFrame, column: str) -> EncodingType:
    kind = column_kinds(frame[[column]]).get(column, "category")
    if kind == "time":
        return "temporal"
    return "quantitative" if kind == "number" else "nominal"


def _colour_type(frame: pd.DataFrame, column: str) -> EncodingType:
    """Few distinct whole numbers (a query index, a year, a rating step) colour as
    categories; other numbers as a gradient."""
    kind = _encoding_type(frame, column)
    values = frame[column].dropna()
    if kind == "quantitative" and values.nunique() <= 12 and (values % 1 == 0).all():
        return "nominal"
    return kind


def build_chart(prepared: PreparedData, spec: ChartSpec) -> alt.Chart:
    """An Altair chart of already prepared (aggregated, capped) data."""
    data = prepared.frame
    if len(data) > MAX_CHART_ROWS:
        raise ValueError(f"refusing to ship {len(data):,} rows to the browser")
    x, y = ("pc1", "pc2") if spec.mark == "projection" else (spec.x, prepared.y)
    if x is None:
        raise ValueError("pick a column for the x axis")
    mark = {"projection": "scatter"}.get(spec.mark, spec.mark)
    chart = alt.Chart(data, title=spec.title or alt.Undefined)
    marked = {
        "bar": chart.mark_bar(),
        "line": chart.mark_line(point=len(data) <= 200),
        "area": chart.mark_area(opacity=0.7),
        "scatter": chart.mark_circle(opacity=0.7),
    }[mark]
    enc: dict[str, Any] = {"x": alt.X(x, type=_encoding_type(data, x))}
    if mark == "bar" and _encoding_type(data, x) == "nominal":
        order = ("y" if y in _ASCENDING else "-y") if y else alt.Undefined
        enc["x"] = alt.X(x, type="nominal", sort=order)
    if y is not None:
        enc["y"] = alt.Y(y, type=_encoding_type(data, y))
    color = spec.color if spec.color in data.columns else None
    if color:
        enc["color"] = alt.Color(color, type=_colour_type(data, color))
    if prepared.binned:
        enc["size"] = alt.Size(COUNT, type="quantitative")
    enc["tooltip"] = [alt.Tooltip(c, type=_encoding_type(data, c)) for c in data.columns[:8]]
    return marked.encode(**enc).interactive()
